"""A notice with choices (a job offer, a reminder, a survey, a message with «Rispondi"),
once it appears in a chat that shows choices as numbers (WhatsApp, the console), is that
chat's current step: "notice:<id>". The numbers the person types then answer what they
last saw, the notice, and nothing else; «indietro» goes back to where they were (the
previous step, or an earlier notice still waiting for an answer), with their draft.

On Telegram a notice's buttons carry their own tokens, so a notice there never changes
the current step."""

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.actions import run_action
from handlers.flow import Go, Home, Next, Option, Prompt, Stay, Step, Turn, step
from handlers.notices import notice_text, still_stands
from models.tables import Notice

PREFIX = "notice:"


def step_name(notice_id: int) -> str:
    return f"{PREFIX}{notice_id}"


def notice_id_of(step_name_: str) -> int | None:
    rest = step_name_.removeprefix(PREFIX)
    return int(rest) if step_name_.startswith(PREFIX) and rest.isdigit() else None


async def current_notice(session: AsyncSession, turn: Turn) -> Notice | None:
    notice = await session.get(Notice, notice_id_of(turn.conversation.step) or 0)
    if notice is None or notice.person_id != turn.person.id or not notice.choices:
        return None
    return notice


@step
class NoticeAnswer(Step):
    name = "notice"
    help_key = "help.notice"

    async def prompt(self, turn: Turn) -> Prompt:
        notice = await current_notice(turn.session, turn)
        if notice is None or not await still_stands(turn.session, notice):
            return Prompt(turn.t("notice.gone"))
        text = await notice_text(turn.session, notice, turn.language)
        return Prompt("\n\n".join([text, turn.t("notice.step_hint")]), tuple(
            Option(turn.t(choice["key"]), choice["value"]) for choice in notice.choices),
            hint=False)

    async def choose(self, turn: Turn, value: str) -> Next:
        waiting = [name for name in turn.conversation.back if notice_id_of(name) is not None]
        next_step = await run_action(turn, value)
        if isinstance(next_step, Stay):  # done, nothing new opened: back to where they were
            return turn.go_back() or Home()
        # an earlier notice still waiting for its answer stays on the way back
        if isinstance(next_step, Home) and waiting:
            turn.conversation.back = waiting[:-1]
            return Go(waiting[-1], remember=False)
        if isinstance(next_step, Go):
            turn.conversation.back = waiting
        return next_step
