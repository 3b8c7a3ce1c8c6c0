"""What flows in and out of the dialogue, with no channel in sight."""

from dataclasses import dataclass, field

from handlers.untrusted import clean_id, without_controls


@dataclass(frozen=True)
class Incoming:
    """A message from a chat: typed text, or the payload of a pressed choice. Whatever a
    channel puts in arrives without control characters (see handlers.untrusted)."""

    channel: str
    external_id: str
    text: str | None = None
    payload: str | None = None
    display_name: str | None = None
    language_hint: str | None = None
    resume: bool = False  # no message: show the current step again (a console restarted)

    def __post_init__(self) -> None:
        cleaned = {"external_id": clean_id(self.external_id),
                   "payload": clean_id(self.payload),
                   "display_name": clean_id(self.display_name),
                   "language_hint": clean_id(self.language_hint),
                   "text": None if self.text is None else without_controls(self.text, "\n\t")}
        for name, value in cleaned.items():
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class Choice:
    label: str
    payload: str


@dataclass(frozen=True)
class File:
    """A file sent with a reply: a photo or document on Telegram, a signed link on
    WhatsApp, a saved file on the console. `id` is its Attachment row, if stored."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)
    id: int | None = None


@dataclass(frozen=True)
class Reply:
    """One message to show: text and, optionally, the choices offered with it."""

    text: str
    choices: tuple[Choice, ...] = field(default_factory=tuple)
    hint: str | None = None  # "answer with the number…", for channels without buttons
    # A notice (sent through the outbox, not an answer to the person's message): its
    # choices are pressed, or named by the next message typed (dialogue._answer_to_notice)
    notice: bool = False
    file: File | None = None
    # (channel, message id) of an earlier message whose buttons no longer stand, e.g. an
    # offer a colleague took: channels that can edit a sent message remove them
    withdraws: tuple[str, str] | None = None
