"""Enrolment: a code, the language, the privacy notice, a first name (and, for workers,
an optional gender for the programme's indicators)."""

import re
from datetime import datetime, timedelta

from handlers.flow import Go, Home, Next, Option, Prompt, Stay, Step, Turn, step
from models.base import Role
from models.people import (
    enrol,
    find_valid_code,
    looks_like_link_code,
    normalise_code,
    use_link_code,
)
from models.tables import Organisation

NAME = re.compile(r"^[^\W\d_]+(?:[ '’-][^\W\d_]+)*$")
LANGUAGE_NAMES = {"it": "Italiano", "en": "English"}


MAX_WRONG_CODES = 5  # per chat and window: six-digit link codes must not be guessable
WRONG_CODES_WINDOW_MINUTES = 60


def _recent_wrong_codes(turn: Turn) -> list[str]:
    since = turn.now - timedelta(minutes=WRONG_CODES_WINDOW_MINUTES)
    return [at for at in turn.data.get("wrong_codes", [])
            if datetime.fromisoformat(at) > since]


def too_many_wrong_codes(turn: Turn) -> bool:
    return len(_recent_wrong_codes(turn)) >= MAX_WRONG_CODES


def note_wrong_code(turn: Turn) -> None:
    turn.remember(wrong_codes=[*_recent_wrong_codes(turn), turn.now.isoformat()])


@step
class Welcome(Step):
    name = "welcome"
    help_key = "help.welcome"

    async def prompt(self, turn: Turn) -> Prompt:
        other = "en" if turn.language == "it" else "it"
        return Prompt(turn.t("onboarding.welcome"),
                      (Option(turn.t("onboarding.no_code"), "no_code"),
                       Option(LANGUAGE_NAMES[other], f"lang:{other}")))

    async def choose(self, turn: Turn, value: str) -> Next:
        if value.startswith("lang:"):
            turn.remember(language=value.removeprefix("lang:"))
        else:
            turn.say("onboarding.how_to_get_code")
        return Stay()

    async def typed(self, turn: Turn, text: str) -> Next:
        if too_many_wrong_codes(turn):
            turn.say("onboarding.too_many_attempts", minutes=WRONG_CODES_WINDOW_MINUTES)
            return Stay()
        if looks_like_link_code(text):
            person = await use_link_code(turn.session, turn.identity, text, turn.now)
            if person is None:
                note_wrong_code(turn)
                turn.say("link.invalid")
                return Stay()
            turn.person = person
            turn.say("link.done", name=person.first_name or "")
            return Home()
        code = await find_valid_code(turn.session, text, turn.now)
        if code is None:
            note_wrong_code(turn)
            turn.say("onboarding.code_invalid")
            return Stay()
        turn.remember(code=normalise_code(text), role=code.role)
        return Go("onboarding.language")


@step
class Language(Step):
    name = "onboarding.language"

    async def prompt(self, turn: Turn) -> Prompt:
        return Prompt(turn.t("onboarding.language"),
                      tuple(Option(label, code) for code, label in LANGUAGE_NAMES.items()))

    async def choose(self, turn: Turn, value: str) -> Next:
        turn.remember(language=value)
        return Go("onboarding.privacy")


@step
class Privacy(Step):
    name = "onboarding.privacy"
    help_key = "help.privacy"

    async def prompt(self, turn: Turn) -> Prompt:
        return Prompt(turn.t("privacy.notice"),
                      (Option(turn.t("privacy.accept"), "yes"),
                       Option(turn.t("privacy.decline"), "no")))

    async def choose(self, turn: Turn, value: str) -> Next:
        if value != "yes":
            turn.say("privacy.declined")
            return Stay()
        return Go("onboarding.name")


@step
class FirstName(Step):
    name = "onboarding.name"

    async def prompt(self, turn: Turn) -> Prompt:
        role = turn.data.get("role", "worker")  # who will see the name depends on the role
        key = "onboarding.name" if role == "worker" else f"onboarding.name_{role}"
        return Prompt(turn.t(key), hint=False)

    async def typed(self, turn: Turn, text: str) -> Next:
        name = " ".join(text.split())
        if len(name) > 40 or not NAME.match(name):
            turn.say("onboarding.name_invalid")
            return Stay()
        turn.remember(first_name=name[:1].upper() + name[1:])
        if turn.data.get("role") == Role.WORKER:
            return Go("onboarding.gender")
        return await finish(turn)


@step
class Gender(Step):
    name = "onboarding.gender"
    help_key = "help.gender"

    async def prompt(self, turn: Turn) -> Prompt:
        return Prompt(turn.t("onboarding.gender"), tuple(
            Option(turn.t(f"gender.{code}"), code) for code in ("f", "m", "other", "none")))

    async def choose(self, turn: Turn, value: str) -> Next:
        turn.remember(gender=None if value == "none" else value)
        return await finish(turn)


async def finish(turn: Turn) -> Next:
    person = await enrol(turn.session, turn.identity, turn.data.get("code", ""),
                         first_name=turn.data["first_name"], gender=turn.data.get("gender"),
                         language=turn.language, now=turn.now)
    if person is None:
        turn.say("onboarding.code_gone")
        return Home()
    turn.person = person
    organisation = await turn.session.get(Organisation, person.organisation_id)
    # a worker is greeted as they described themselves; otherwise a neutral wording
    gender = {"f": "_f", "m": "_m"}.get(person.gender or "", "") \
        if person.role == Role.WORKER else ""
    turn.say(f"onboarding.done.{person.role}{gender}", name=person.first_name,
             cooperative=organisation.name if organisation else "—")
    return Home()
