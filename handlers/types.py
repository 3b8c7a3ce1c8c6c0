"""What flows in and out of the dialogue, with no channel in sight."""

from dataclasses import dataclass, field

from handlers.untrusted import clean_id, without_controls


class Kind:
    """What an incoming message is, as its channel tells (the dialogue decides what to do)."""

    MESSAGE = "message"  # typed text or a pressed choice
    OPT_OUT = "opt_out"  # "no more messages" (WhatsApp's STOP)
    OPT_IN = "opt_in"  # "messages again" (START): answered only if the chat had opted out
    NOT_TEXT = "not_text"  # a photo, a voice note, a location, a sticker…
    ELSEWHERE = "elsewhere"  # written in a group or a channel, not in the private chat


@dataclass(frozen=True)
class Incoming:
    """A message from a chat: typed text, or the payload of a pressed choice. Whatever a
    channel puts in arrives without control characters (see handlers.untrusted).
    `external_id` is None only for a message from no known person (a channel's post)."""

    channel: str
    external_id: str | None
    text: str | None = None
    payload: str | None = None
    display_name: str | None = None
    language_hint: str | None = None
    resume: bool = False  # no message: show the current step again (a console restarted)
    kind: str = Kind.MESSAGE

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


def reply_as_json(reply: Reply) -> dict:
    """A reply as stored with its turn (a file by its Attachment row: turn files are
    stored before they are sent)."""
    return {"text": reply.text, "choices": [[c.label, c.payload] for c in reply.choices],
            "hint": reply.hint, "notice": reply.notice,
            "file": reply.file.id if reply.file is not None else None,
            "withdraws": list(reply.withdraws) if reply.withdraws else None}


def reply_from_json(data: dict, file: File | None = None) -> Reply:
    """The reply `reply_as_json` stored; `file` is its attachment, loaded by the caller."""
    withdraws = data.get("withdraws")
    return Reply(data["text"], tuple(Choice(label, payload)
                                     for label, payload in data.get("choices") or []),
                 data.get("hint"), notice=bool(data.get("notice")), file=file,
                 withdraws=tuple(withdraws) if withdraws else None)
