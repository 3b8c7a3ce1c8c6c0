"""«📣 Novità e iniziative»: a worker says yes or no to the announcements of the
territory's initiatives (no until they say yes) and reads the latest ones."""

from handlers.flow import Home, Next, Option, Prompt, Step, Turn, step
from models import announcements
from models.base import Role


def announcement_text(turn: Turn, row) -> str:
    return turn.t("news.item", day=f"{row.sent_at:%d/%m/%Y}", title=row.title, body=row.body,
                  extra="".join([f"\n📅 {row.day:%d/%m/%Y}" if row.day else "",
                                 f"\n🔗 {row.link}" if row.link else ""]))


def answer(turn: Turn, yes: bool) -> None:
    turn.say("news.now_yes" if yes else "news.now_no")


@step
class News(Step):
    name = "news.menu"
    help_key = "help.news"

    async def prompt(self, turn: Turn) -> Prompt:
        past = await announcements.past_for(turn.session, turn.person)
        lines = [turn.t("news.status_yes" if turn.person.news_opt_in else "news.status_no")]
        lines.append(turn.t("news.past") if past else turn.t("news.none"))
        lines += [announcement_text(turn, row) for row in past]
        choice = Option(turn.t("news.no"), "no") if turn.person.news_opt_in \
            else Option(turn.t("news.yes"), "yes")
        return Prompt("\n\n".join(lines), (choice,))

    async def choose(self, turn: Turn, value: str) -> Next:
        if turn.person.role != Role.WORKER or value not in ("yes", "no"):
            turn.say("input.not_understood")
            return Home()
        await announcements.set_opt_in(turn.session, turn.person, value == "yes", turn.now)
        answer(turn, value == "yes")
        return Home()
