"""The satisfaction survey in the chat: a score from 1 to 5 (buttons or a number), then an
optional comment."""

from handlers.flow import Go, Home, Next, Option, Prompt, Stay, Step, Turn, step
from models import surveys
from models.tables import Survey


async def current_survey(turn: Turn) -> Survey | None:
    survey = await turn.session.get(Survey, turn.data.get("survey_id") or 0)
    if survey is None or survey.worker_id != turn.person.id:
        return None
    return survey


async def record_score(turn: Turn, survey: Survey, score: int) -> Next:
    if not await surveys.answer(turn.session, survey, score, turn.now):
        turn.say("survey.closed")
        return Home()
    turn.remember(survey_id=survey.id)
    turn.say("survey.thanks_low" if score <= surveys.LOW_SCORE else "survey.thanks")
    return Go("survey.comment", remember=False)


@step
class SurveyScore(Step):
    name = "survey.score"
    help_key = "help.survey"

    async def prompt(self, turn: Turn) -> Prompt:
        survey = await current_survey(turn)
        if survey is None or survey.answered_at or survey.closed_at:
            return Prompt(turn.t("survey.closed"))
        return Prompt(turn.t("survey.question", number=survey.request_id), tuple(
            Option(turn.t(f"survey.score_{n}"), str(n)) for n in surveys.SCORES))

    async def choose(self, turn: Turn, value: str) -> Next:
        survey = await current_survey(turn)
        if survey is None:
            turn.say("survey.closed")
            return Home()
        return await record_score(turn, survey, int(value))

    async def before_options(self, turn: Turn, text: str) -> Next | None:
        score = star_score(text)
        return None if score is None else await self.choose(turn, str(score))

    async def typed(self, turn: Turn, text: str) -> Next:
        turn.say("survey.pick_score")  # 👍, a word, 6, -1: the 1-5 hint
        return Stay()


def star_score(text: str) -> int | None:
    """'⭐⭐⭐⭐' (or ★★★★) is a score of 4; None for anything else."""
    stars = "".join(text.split()).replace("\ufe0f", "")
    if stars and set(stars) <= {"⭐", "★", "🌟"} and len(stars) in surveys.SCORES:
        return len(stars)
    return None


@step
class SurveyComment(Step):
    name = "survey.comment"
    help_key = "help.survey"

    async def prompt(self, turn: Turn) -> Prompt:
        return Prompt(turn.t("survey.comment"), (Option(turn.t("survey.no_comment"), "none"),))

    async def choose(self, turn: Turn, value: str) -> Next:
        turn.say("survey.done")
        return Home()

    async def typed(self, turn: Turn, text: str) -> Next:
        survey = await current_survey(turn)
        if survey is None:
            return Home()
        if len(text) > 1000:
            turn.say("input.too_long", limit=1000)
            return Stay()
        await surveys.add_comment(turn.session, survey, text)
        return Go("survey.share", remember=False)


@step
class ShareComment(Step):
    """May the comment be quoted, without the worker's name, in the programme's reports?"""

    name = "survey.share"
    help_key = "help.survey"

    async def prompt(self, turn: Turn) -> Prompt:
        return Prompt(turn.t("survey.share"), (Option(turn.t("survey.share_yes"), "yes"),
                                               Option(turn.t("survey.share_no"), "no")))

    async def choose(self, turn: Turn, value: str) -> Next:
        survey = await current_survey(turn)
        if survey is not None:
            await surveys.share_comment(turn.session, survey, value == "yes")
        turn.say("survey.done")
        return Home()
