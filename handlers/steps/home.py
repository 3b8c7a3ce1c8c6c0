"""The main menu of each role, and the language setting."""

from handlers.flow import Go, Home, Next, Option, Prompt, Step, Turn, step
from handlers.steps.onboarding import LANGUAGE_NAMES
from handlers.steps.panel import say_panel_link
from models import surveys
from models.base import Role
from models.people import LINK_CODE_MINUTES, create_link_code
from models.person_settings import set_language

MENUS = {
    Role.WORKER: ("new", "mine", "news", "language", "link", "privacy", "help"),
    Role.OPERATOR: ("available", "my_jobs", "language", "link", "privacy", "help"),
    Role.COORDINATOR: ("panel", "digest", "stats", "export", "unserved", "complaints", "fund",
                       "language", "link", "privacy", "help"),
    Role.CONTACT: ("panel", "language", "link", "privacy", "help"),
}
TARGETS = {"new": "req.category", "mine": "mine.list", "language": "settings.language",
           "available": "op.available", "my_jobs": "op.mine", "unserved": "coord.unserved",
           "complaints": "coord.complaints", "fund": "coord.fund", "link": "settings.link",
           "privacy": "privacy.menu", "rate": "survey.score", "digest": "coord.digest",
           "stats": "coord.stats", "export": "coord.export", "news": "news.menu"}


@step
class MainMenu(Step):
    name = "home"

    async def prompt(self, turn: Turn) -> Prompt:
        options = [Option(turn.t(f"menu.{item}"), item) for item in MENUS[Role(turn.person.role)]]
        survey = await surveys.open_survey_of(turn.session, turn.person.id)
        if survey is not None:  # a survey waiting for an answer comes first
            options.insert(0, Option(turn.t("menu.rate", number=survey.request_id), "rate"))
        return Prompt(turn.t(f"home.{turn.person.role}", name=turn.person.first_name or ""),
                      tuple(options))

    async def choose(self, turn: Turn, value: str) -> Next:
        if value == "help":
            turn.say(f"help.{turn.person.role}")
            return Home()
        if value == "panel":
            await say_panel_link(turn)
            return Home()
        if value == "rate":
            survey = await surveys.open_survey_of(turn.session, turn.person.id)
            if survey is None:
                turn.say("survey.closed")
                return Home()
            turn.remember(survey_id=survey.id)
            return Go("survey.score")
        if value not in MENUS[Role(turn.person.role)]:
            turn.say("input.not_understood")
            return Home()
        return Go(TARGETS[value])


@step
class ChangeLanguage(Step):
    name = "settings.language"

    async def prompt(self, turn: Turn) -> Prompt:
        return Prompt(turn.t("settings.language"),
                      tuple(Option(label, code) for code, label in LANGUAGE_NAMES.items()))

    async def choose(self, turn: Turn, value: str) -> Next:
        set_language(turn.session, turn.person, value)
        turn.say("settings.language_set")
        return Home()


@step
class LinkChannel(Step):
    """Shows a one-time code to type in another chat (Telegram ↔ WhatsApp)."""

    name = "settings.link"
    help_key = "help.link"

    async def prompt(self, turn: Turn) -> Prompt:
        code = turn.data.get("link_code")
        if code is None:
            code = await create_link_code(turn.session, turn.person, turn.now)
            turn.remember(link_code=code)
        return Prompt(turn.t("link.code", code=code, minutes=LINK_CODE_MINUTES))
