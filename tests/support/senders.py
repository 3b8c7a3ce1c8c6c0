"""A channel sender for tests that records what it was given (also with a platform's
limits, noting when each message went), and one dispatcher pass to it."""

from handlers.sending import Limits, SendResult
from handlers.types import Reply
from models.base import NoticeStatus
from models.tables import ChatIdentity
from scheduler.dispatcher import Dispatcher
from tests.support.chat import Chatter, plain

SENT = SendResult(ok=True)
SHOWN = SendResult(ok=True, status=NoticeStatus.DELIVERED)  # what the console answers


class RecordingSender:
    """A channel that records what each chat was given and answers with the scripted
    results, then with `answer` (sent, by default)."""

    def __init__(self, channel: str = "console", *results: SendResult,
                 answer: SendResult = SENT):
        self.channel, self.results, self.answer = channel, list(results), answer
        self.sent: list[tuple[str, str]] = []  # (chat, text), in order
        self.received: dict[str, list[Reply]] = {}  # chat → its replies

    async def send(self, identity: ChatIdentity, reply: Reply, notice=None) -> SendResult:
        self.sent.append((identity.external_id, reply.text))
        self.received.setdefault(identity.external_id, []).append(reply)
        return self.results.pop(0) if self.results else self.answer

    def texts(self, chat: Chatter) -> str:
        """Everything `chat` received, one reply a line, with plain spaces."""
        return plain("\n".join(r.text for r in self.received.get(chat.external_id, [])))


class LimitedSender(RecordingSender):
    """A recording sender with Telegram's limits (30 messages a second, one a second to a
    chat), which the dispatcher keeps; it notes when (on `timer`) each message went."""

    limits = Limits(per_second=30, per_chat_seconds=1.0)

    def __init__(self, channel: str, timer, *results: SendResult):
        super().__init__(channel, *results)
        self.timer, self.times = timer, []  # times[n] is when sent[n] went

    async def send(self, identity: ChatIdentity, reply: Reply, notice=None) -> SendResult:
        self.times.append(self.timer())
        return await super().send(identity, reply, notice)


def console_inbox() -> RecordingSender:
    """The console as bot/console.py is: each message shown at once (delivered)."""
    return RecordingSender("console", answer=SHOWN)


async def deliver(runtime, inbox: RecordingSender) -> None:
    """One dispatcher pass with `inbox` as the console."""
    await Dispatcher(runtime.sessions, {"console": inbox}, clock=runtime.clock).run_once()
