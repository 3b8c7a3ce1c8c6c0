"""The building blocks of the dialogue: a Turn (one incoming message being handled),
the Step a conversation can be at, and what a step answers (go on, stay, go home)."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import messages
from handlers.matching import is_number
from handlers.types import File
from models.surveys import SurveyRules
from models.tables import ChatIdentity, Conversation, Person


@dataclass(frozen=True)
class Option:
    """A choice as a step offers it: its label and the value the step gets back."""

    label: str
    value: str


@dataclass(frozen=True)
class Prompt:
    text: str
    options: tuple[Option, ...] = ()
    hint: bool = True  # add the "answer with the number or the words" line on text channels


@dataclass(frozen=True)
class Go:
    """Move to `step`; `remember=False` leaves no way 'back' to the current step."""

    step: str
    remember: bool = True


@dataclass(frozen=True)
class Stay:
    """Keep the step (after saying why, through turn.say)."""


@dataclass(frozen=True)
class Home:
    """Forget the draft and show the person's main menu."""


Next = Go | Stay | Home


@dataclass
class DialogueSettings:
    horizon_days: int = 14
    survey_rules: SurveyRules = field(default_factory=SurveyRules)
    panel_url: str = "http://127.0.0.1:8000/pannello"  # the web console, for its sign-in links
    panel_link_minutes: int = 10


@dataclass
class Turn:
    """Everything a step needs while handling one incoming message."""

    session: AsyncSession
    identity: ChatIdentity
    conversation: Conversation
    person: Person | None
    now: datetime
    settings: DialogueSettings
    said: list[str] = field(default_factory=list)
    files: list[File] = field(default_factory=list)  # sent with the turn's reply

    @property
    def language(self) -> str:
        if self.person is not None:
            return self.person.language
        return self.data.get("language", messages.DEFAULT_LANGUAGE)

    @property
    def data(self) -> dict[str, Any]:
        return self.conversation.data

    def t(self, key: str, **params) -> str:
        return messages.text(self.language, key, **params)

    def say(self, key: str, **params) -> None:
        self.said.append(self.t(key, **params))

    def go_back(self) -> "Go | None":
        """The step before this one, taken off the way back; None at the start."""
        if not self.conversation.back:
            return None
        previous = self.conversation.back[-1]
        self.conversation.back = self.conversation.back[:-1]
        return Go(previous, remember=False)

    def remember(self, **values) -> None:
        """Change the draft (assigning a new dict so the JSON column sees the change)."""
        self.conversation.data = {**self.conversation.data, **values}


class Step:
    """One point of the conversation. Subclasses set `name`, write `prompt`, and handle a
    chosen option (`choose`) and/or typed text (`typed`)."""

    name: ClassVar[str]
    help_key: ClassVar[str] = "help.general"

    async def prompt(self, turn: Turn) -> Prompt:
        raise NotImplementedError

    async def choose(self, turn: Turn, value: str) -> Next:
        turn.say("input.not_understood")
        return Stay()

    async def typed(self, turn: Turn, text: str) -> Next:
        """Text that matched no option. By default: ask to pick one of the options (a
        number outside them, or with a sign, is told which numbers there are)."""
        offered = len(turn.conversation.choices)
        if offered and is_number(text):
            turn.say("input.number_range", last=offered)
        else:
            turn.say("input.pick_option")
        return Stay()

    async def before_options(self, turn: Turn, text: str) -> Next | None:
        """A chance to read text before it is matched to options (e.g. '9' as 09:00)."""
        return None


STEPS: dict[str, Step] = {}


def step(cls: type[Step]) -> type[Step]:
    """Register a step class under its name."""
    STEPS[cls.name] = cls()
    return cls
