"""The contract between the outbox dispatcher (scheduler/) and each channel's sender
(bot/): what a sender is asked to do, the limits it declares, and what it answers. Both
sides import it from here, so neither depends on the other. A sender only says what
happened (a SendResult); the dispatcher reports it to the store (models.outbox), which
alone sets a notice's status."""

from dataclasses import dataclass
from typing import Protocol

from handlers.types import Reply
from models.base import NoticeStatus
from models.tables import ChatIdentity, Notice


@dataclass(frozen=True)
class Limits:
    """A platform's sending limits: at most `per_second` messages in any one-second
    window overall, and at most one message per `per_chat_seconds` to any one chat (kept
    by scheduler/ratelimit.py)."""

    per_second: float
    per_chat_seconds: float = 0.0


@dataclass(frozen=True)
class SendResult:
    """What a channel sender made of one notice. A `permanent` failure is not retried on
    this chat: the person's next chat is tried, and with none left the notice fails.
    `hold` means "not on this chat now" (e.g. outside WhatsApp's 24-hour window with no
    template): the next chat of the person is tried, else the notice waits until they
    write again."""

    ok: bool
    status: str = NoticeStatus.SENT
    provider_message_id: str | None = None
    error: str | None = None
    permanent: bool = False
    retry_after: float | None = None
    hold: bool = False
    unreachable: bool = False  # the person blocked us on this chat: mark it, try another


class Sender(Protocol):
    """A channel's way out. `limits` (optional) are the platform's sending limits, which
    the dispatcher keeps for every notice it hands over. A sender that can look up what it
    sent also has `find_sent(identity, reply, since) -> list[SendResult]`: the messages
    that may have gone out for this notice since then, oldest first (raises when it
    cannot tell)."""

    channel: str

    async def send(self, identity: ChatIdentity, reply: Reply,
                   notice: Notice | None = None) -> SendResult: ...
