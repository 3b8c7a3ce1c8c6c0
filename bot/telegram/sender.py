"""Sending to Telegram: the outbox's sender, and the replies to people who just wrote.

Both go through one retry loop that turns every Bot API outcome into a `SendResult`:
- flood control (429, `RetryAfter`): wait as told when the wait is short, else hand the
  wait back (the dispatcher reschedules the notice); every send pauses meanwhile;
- network trouble (`NetworkError`, `TimedOut`): a few tries with growing pauses, then a
  failure the dispatcher retries later;
- `Forbidden` (the person blocked the bot, or deleted their account) and "chat not
  found": the chat is unreachable, the dispatcher marks it and tries the person's next chat;
- any other `BadRequest`: permanent, retrying would fail the same way.
Notices are paced by the dispatcher, which keeps the `limits` this sender declares
(Telegram's 30 messages a second overall, about one a second per chat); replies to an
incoming message are not delayed (the person is waiting for them)."""

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot import metrics
from bot.logs import hashed
from bot.telegram.adapter import CHANNEL
from bot.telegram.flood import FloodGate
from bot.telegram.rendering import render_reply
from handlers.sending import Limits, SendResult
from handlers.types import File, Reply
from models.tables import ChatIdentity, Notice

log = logging.getLogger(__name__)
UNREACHABLE_BAD_REQUESTS = ("chat not found", "user not found", "peer_id_invalid")
TELEGRAM_LIMITS = Limits(per_second=30, per_chat_seconds=1.0)


@dataclass(frozen=True)
class RetryPolicy:
    network_attempts: int = 3
    first_backoff: float = 0.5  # seconds; doubles after each network failure
    flood_attempts: int = 3
    max_notice_wait: float = 5.0  # longer waits are handed back to the dispatcher
    max_reply_wait: float = 30.0  # a reply is waited for longer: it is not queued anywhere


class TelegramSender:
    channel = CHANNEL
    limits = TELEGRAM_LIMITS  # kept by the dispatcher for every notice it hands over

    def __init__(self, bot: Bot, *, ready: Callable[[], Awaitable[None]],
                 flood: FloodGate | None = None, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        """`ready` makes sure the bot is initialised (the worker process only sends)."""
        self.bot, self.ready = bot, ready
        self.flood = flood or FloodGate()
        self.policy = policy or RetryPolicy()
        self.sleep = sleep

    async def send(self, identity: ChatIdentity, reply: Reply,
                   notice: Notice | None = None) -> SendResult:
        """The outbox's entry point (the dispatcher has already waited for the slot)."""
        chat_id = int(identity.external_id)
        if reply.withdraws is not None and reply.withdraws[0] == CHANNEL:
            await self.remove_keyboard(chat_id, int(reply.withdraws[1]))
        return await self.send_reply(chat_id, reply, notice=True)

    async def remove_keyboard(self, chat_id: int, message_id: int) -> None:
        """Take the buttons off an earlier message; best effort (it may be gone, or too
        old to edit), since the notice that follows says the same in words."""
        await self.call(chat_id, partial(self.bot.edit_message_reply_markup, chat_id,
                                         message_id, reply_markup=None), notice=True)

    async def send_reply(self, chat_id: int, reply: Reply, *, notice: bool) -> SendResult:
        """Send `reply` as one message, or several when it is longer than Telegram allows
        (the keyboard goes with the last); the result of the last, or the first failure."""
        try:
            await self.ready()
        except TelegramError as error:  # e.g. the worker started while Telegram was away
            return SendResult(ok=False, error=f"bot not ready: {type(error).__name__}: "
                                              f"{error.message}")
        result = SendResult(ok=False, error="nothing to send")
        for part, message in enumerate(render_reply(reply)):
            if notice and part:  # the dispatcher paced the first part only
                await self.sleep(self.limits.per_chat_seconds)
            send = partial(self.bot.send_message, chat_id, message.text,
                           reply_markup=message.keyboard)
            result = await self.call(chat_id, send, notice=notice)
            if not result.ok:
                break
        if result.ok and reply.file is not None:
            result = await self.call(chat_id, self.file_request(chat_id, reply.file),
                                     notice=notice)
        return result

    def file_request(self, chat_id: int, file: File) -> Callable[[], Awaitable[Any]]:
        """A chart goes as a photo, anything else (a CSV, one's data) as a document."""
        if file.content_type.startswith("image/"):
            return partial(self.bot.send_photo, chat_id, photo=file.data,
                           filename=file.filename)
        return partial(self.bot.send_document, chat_id, document=file.data,
                       filename=file.filename)

    async def call(self, chat_id: int, request: Callable[[], Awaitable[Any]], *,
                   notice: bool) -> SendResult:
        """Run one Bot API request for `chat_id` with the retries above."""
        network_failures = flood_answers = 0
        max_wait = self.policy.max_notice_wait if notice else self.policy.max_reply_wait
        while True:
            closed = self.flood.remaining()
            if closed > max_wait:
                return SendResult(ok=False, retry_after=closed,
                                  error=f"flood control: retry after {closed:.0f} s")
            if closed > 0:
                await self.sleep(closed)
            try:
                outcome = await request()
            except RetryAfter as error:
                seconds = retry_after_seconds(error)
                self.flood.close_for(seconds)
                metrics.refused(CHANNEL, "429")
                flood_answers += 1
                log.warning("Telegram flood control: retry after %s s (chat %s)", seconds,
                            hashed(chat_id))
                if seconds > max_wait or flood_answers >= self.policy.flood_attempts:
                    return SendResult(ok=False, retry_after=seconds,
                                      error=f"flood control: retry after {seconds:g} s")
            except Forbidden as error:
                return SendResult(ok=False, unreachable=True, error=f"Forbidden: {error.message}")
            except BadRequest as error:
                if any(words in error.message.lower() for words in UNREACHABLE_BAD_REQUESTS):
                    return SendResult(ok=False, unreachable=True,
                                      error=f"BadRequest: {error.message}")
                return SendResult(ok=False, permanent=True, error=f"BadRequest: {error.message}")
            except NetworkError as error:  # includes TimedOut
                network_failures += 1
                if network_failures >= self.policy.network_attempts:
                    return SendResult(ok=False, error=f"{type(error).__name__}: {error.message}")
                await self.sleep(self.policy.first_backoff * 2 ** (network_failures - 1))
            except TelegramError as error:  # InvalidToken, Conflict, ChatMigrated, …
                return SendResult(ok=False, error=f"{type(error).__name__}: {error.message}")
            else:
                message_id = outcome.message_id if isinstance(outcome, Message) else None
                return SendResult(ok=True, provider_message_id=(
                    str(message_id) if message_id is not None else None))


def retry_after_seconds(error: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds (PTB 22 gives an int and warns that it will
    become a timedelta; this reads either)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
