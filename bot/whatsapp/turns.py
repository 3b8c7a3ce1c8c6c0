"""The webhook that answers at once (WHATSAPP_REPLY_MODE=rest, the default).

The webhook checks the signature, stores the message (its MessageSid unique, so Twilio's
retries add nothing) and answers an empty TwiML response: that one short transaction is
all Twilio waits for. Right after, this process's runner takes the chat's messages in
the order they came (models/whatsapp_inbox.py), runs each turn through the one way in —
which records the MessageSid with the turn's effect — stores the turn's replies in that
same transaction, and sends them through the REST API, as buttons or lists where they fit
(sender.answer). A message whose turn or replies a dead process left half way is taken
again once its claim's lease has run out: at start-up and every RECOVER_SECONDS, each web
process looks for such chats, and exactly one claims each message.

Webhooks come first: a turn waits while this process is answering webhooks (until none
came for QUIET_IDLE seconds, at most QUIET_MAX), and only a few turns run at once (one on
SQLite, whose single write lock they would queue on anyway; TURNS_AT_ONCE on PostgreSQL),
so a burst of messages is acknowledged without waiting behind the turns it starts for the
event loop, a database connection or SQLite's write lock. Sending the replies (HTTP) is
not limited."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from starlette.responses import Response
from twilio.twiml.messaging_response import MessagingResponse

from bot.files import with_file_link
from bot.whatsapp.gate import WriteGate
from bot.whatsapp.inbound import CHANNEL, InboundMessage, handle
from handlers.types import Reply, reply_as_json, reply_from_json
from models.db import transaction
from models.inbound import chat_language
from models.whatsapp_inbox import (
    chats_waiting,
    claim_next,
    mark_handled,
    mark_sent,
    retry_later,
    store_inbound,
)

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)  # a turn and its replies take well under a second
RECOVER_SECONDS = 15.0
QUIET_IDLE = 0.01  # a turn starts once no webhook came for this long …
QUIET_MAX = 1.0  # … or after this long anyway
RETRY = timedelta(seconds=30)
TURNS_AT_ONCE = 4  # PostgreSQL; SQLite runs one at a time


def acknowledgement() -> Response:
    return Response(str(MessagingResponse()), media_type="application/xml")


def stored(replies: list[Reply], language: str) -> list[dict[str, Any]]:
    """Replies as JSON for the inbox row (files already turned into links), with the
    chat's language (a list's button label)."""
    return [reply_as_json(reply) | {"language": language} for reply in replies]


class TurnRunner:
    """Runs the stored messages' turns and sends their replies, one task per chat."""

    def __init__(self, runtime, sender, lease: timedelta = LEASE):
        self.runtime, self.sender, self.lease = runtime, sender, lease
        self.tasks: dict[str, asyncio.Task] = {}
        self.again: set[str] = set()  # chats with news since their task last looked
        self.arriving_now, self.last_arrival = 0, 0.0
        self.quiet = asyncio.Event()
        self.quiet.set()
        self.recovery: asyncio.Task | None = None
        sqlite = runtime.settings.database_url.startswith("sqlite")
        self.slots = asyncio.Semaphore(1 if sqlite else TURNS_AT_ONCE)
        self.gate = WriteGate(enabled=sqlite)

    @contextlib.contextmanager
    def arriving(self) -> Iterator[None]:
        """Around a webhook request: the turns wait while any is being answered."""
        self.arriving_now += 1
        self.quiet.clear()
        try:
            yield
        finally:
            self.arriving_now -= 1
            self.last_arrival = time.monotonic()
            if not self.arriving_now:
                self.quiet.set()

    async def receive(self, message: InboundMessage) -> bool:
        """Store the message (False: stored before) and start its chat's turns."""
        async with self.gate.writing(urgent=True):
            new = await store_inbound(self.runtime.engine, message.sid, message.phone,
                                      asdict(message), self.runtime.clock())
        self.kick(message.phone)
        return new

    async def _after_the_webhooks(self) -> None:
        """Wait until no webhook has come for QUIET_IDLE seconds (at most QUIET_MAX)."""
        deadline = time.monotonic() + QUIET_MAX
        while (left := deadline - time.monotonic()) > 0:
            if self.arriving_now:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.quiet.wait(), left)
                continue
            idle = time.monotonic() - self.last_arrival
            if idle >= QUIET_IDLE:
                return
            await asyncio.sleep(min(QUIET_IDLE - idle, left))

    def kick(self, phone: str) -> None:
        """Make sure a task is taking this chat's messages."""
        task = self.tasks.get(phone)
        if task is not None and not task.done():
            self.again.add(phone)
            return
        self.tasks[phone] = asyncio.create_task(self._drain(phone))

    async def _drain(self, phone: str) -> None:
        try:
            while True:
                self.again.discard(phone)
                if not await self._one(phone) and phone not in self.again:
                    return
        except Exception:  # the claim's lease brings the message back later
            log.exception("WhatsApp turn for %s failed; retried after the lease", phone)
        finally:
            if self.tasks.get(phone) is asyncio.current_task():
                del self.tasks[phone]

    async def _one(self, phone: str) -> bool:
        """Claim the chat's next message, run its turn if not run yet, send its replies;
        False when there is nothing to take (none waiting, or another process has it)."""
        async with self.slots:
            await self._after_the_webhooks()
            clock = self.runtime.clock
            async with self.gate.writing(urgent=False):
                async with transaction(self.runtime.sessions) as session:
                    row = await claim_next(session, phone, clock(), self.lease)
                    if row is None:
                        return False
                    row_id, handled, replies = row.id, row.handled_at, row.replies
                    sent, message = row.sent, dict(row.message)
                if handled is None:
                    replies, sent = await self._turn(row_id, InboundMessage(**message)), 0
        await self._send(row_id, phone, replies, sent)
        return True

    async def _turn(self, row_id: int, message: InboundMessage) -> list[dict[str, Any]]:
        """Run the turn once; its replies are stored with its effect."""
        runtime = self.runtime
        committed: dict[str, Any] = {}

        async def keep(session, replies: list[Reply]) -> None:
            now = runtime.clock()
            language = await chat_language(session, CHANNEL, message.phone) or "it"
            rendered = stored([with_file_link(r, runtime.file_links, now) for r in replies],
                              language)
            committed["replies"], committed["rendered"] = replies, rendered
            await mark_handled(session, row_id, rendered, now)

        handled = await handle(runtime.sessions, runtime.dialogue, message, runtime.clock,
                               after=keep)
        replies = handled.replies if handled else []
        if replies and replies is committed.get("replies"):
            return committed["rendered"]
        # handled before (its replies again), or the turn failed and the answer is an apology
        now = runtime.clock()
        rendered = stored([with_file_link(r, runtime.file_links, now) for r in replies], "it")
        async with transaction(runtime.sessions) as session:
            await mark_handled(session, row_id, rendered, runtime.clock())
        return rendered

    async def _send(self, row_id: int, phone: str, replies: list[dict[str, Any]],
                    sent: int) -> None:
        for index in range(sent, len(replies)):
            result = await self.sender.answer(phone, reply_from_json(replies[index]),
                                              replies[index].get("language"))
            if result.ok or result.permanent or result.hold or result.unreachable:
                if not result.ok:
                    log.warning("reply to %s not sent: %s", phone, result.error)
                continue
            async with self.gate.writing(urgent=False), \
                    transaction(self.runtime.sessions) as session:
                await retry_later(session, row_id, index, result.error or "unknown",
                                  self.runtime.clock(), RETRY)
            return
        async with self.gate.writing(urgent=False), \
                transaction(self.runtime.sessions) as session:
            await mark_sent(session, row_id, len(replies), self.runtime.clock(), done=True)

    async def recover(self) -> int:
        """Start the chats whose messages nobody holds; returns how many."""
        async with transaction(self.runtime.sessions) as session:
            phones = await chats_waiting(session, self.runtime.clock())
        for phone in phones:
            self.kick(phone)
        return len(phones)

    async def recover_forever(self, interval: float = RECOVER_SECONDS) -> None:
        while True:
            try:
                await self.recover()
            except Exception:  # the database may be away for a moment: try again later
                log.exception("looking for WhatsApp messages left waiting failed")
            await asyncio.sleep(interval)

    async def start(self, _runtime=None) -> None:
        """Web start-up: take what a previous run left, then keep looking."""
        self.recovery = asyncio.create_task(self.recover_forever())

    async def settle(self) -> None:
        """Wait until every chat task of this process has finished (tests, shutdown)."""
        while pending := [task for task in self.tasks.values() if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)
        self.tasks = {phone: t for phone, t in self.tasks.items() if not t.done()}

    async def close(self, _runtime=None) -> None:
        if self.recovery is not None:
            self.recovery.cancel()
            await asyncio.gather(self.recovery, return_exceptions=True)
        await self.settle()
