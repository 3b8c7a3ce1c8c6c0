"""The outbox dispatcher: claims due notices, renders each in its recipient's language,
hands it to the sender of the chat the person last wrote from (or, when that chat cannot
take it, to their next one), and reports the outcome, as soon as it is known, to the
store (models/outbox.py), which alone sets a notice's status: the dispatcher keeps only
the order of things and each platform's limits. Sending happens outside any transaction;
a dispatcher that dies mid-way leaves claims whose lease runs out, and the notices it had
not recorded are sent by the next pass.

Exactly once, as far as a platform lets us know: each notice is marked "in flight" just
before it is handed to a channel, and the mark goes with the outcome. A dispatcher asked
to stop (SIGTERM) finishes the sends it started, records them and hands back what it had
claimed but not sent. A mark found by a later claim (the process was killed mid-send)
means the outcome is unknown: a channel that can look its messages up (WhatsApp: the
status callback names the notice, and Twilio's message list) is asked first; one that
cannot (Telegram) gets the notice again at most once."""

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import logs, metrics
from handlers.dialogue import show_notice
from handlers.notices import render_notice, still_stands
from handlers.sending import Sender, SendResult
from handlers.types import Reply
from models import outbox
from models.base import utcnow
from models.db import GroupCommit, transaction
from models.outbox import MAX_ATTEMPTS, MAX_UNKNOWN_RESENDS
from models.people import identities_of, mark_unreachable, usable
from models.people_admin import INACTIVE
from models.tables import ChatIdentity, Notice, Person
from scheduler.ratelimit import SlidingWindowLimiter
from scheduler.replies import ReplyCourier

log = logging.getLogger(__name__)
NO_CHAT_RETRY = timedelta(seconds=30)
LEASE_SPARE = 0.25  # the part of a claim's lease kept for the last send and its record
# an unknown send's own news may take this long (half the lease, when that is shorter)
CONFIRM_GRACE = timedelta(seconds=60)
LOOKUP_RETRY = 30.0  # seconds, when the platform could not be asked
STOP_GRACE = 20.0  # seconds a stopping dispatcher gives the sends it started
NOT_SENT_AGAIN = "the last send's outcome is unknown: not sent again"
OPTED_OUT = "opted_out"  # held: the person opted out of every chat


@dataclass(frozen=True)
class Unknown:
    """The notice's last attempt, on `chat` at `since`, was left without an outcome; this
    is the `count`-th such attempt."""

    chat: ChatIdentity | None
    since: datetime
    count: int


@dataclass(frozen=True)
class Outcome:
    delivery: "Delivery"
    identity: ChatIdentity  # the chat last tried
    result: SendResult  # what that chat said: it decides the notice's status
    blocked: list[int]  # chats found blocked on the way
    errors: str | None  # why the chats tried failed, for last_error
    still_unknown: bool = False  # nothing sent, the last send's outcome still to be found


@dataclass(frozen=True)
class Delivery:
    notice_id: int
    kind: str  # what the notice is (a WhatsApp template is chosen by it)
    person_id: int
    chats: list[ChatIdentity]  # the person's usable chats, the one last written from first
    reply: Reply
    last_try: bool = False  # the notice's last attempt: any failure passes to the next chat
    unknown: Unknown | None = None


def passes_on(result: SendResult, last_try: bool) -> bool:
    """Whether the person's next chat should have a go after `result`: not after a
    success or a "later", always when this chat cannot take the notice, and after a
    transient failure too when the notice has no attempts left."""
    if result.ok or result.retry_after:
        return False
    return result.hold or result.unreachable or result.permanent or last_try


def failure_reasons(tried: list[tuple[str, SendResult]]) -> str | None:
    """The errors of the chats that failed (holds are not failures), naming the channel
    when more than one chat was tried."""
    reasons = [(f"{channel}: " if len(tried) > 1 else "") + (result.error or "unknown error")
               for channel, result in tried if not (result.ok or result.hold)]
    return "; ".join(reasons)[:500] or None


class Dispatcher:
    """Drains the outbox. Notices to different people go out concurrently (up to
    `concurrency` at once), each person's in order; every channel's limits are kept by a
    sliding-window limiter on `timer`/`sleep` (injectable for simulated time)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 senders: Mapping[str, Sender], clock: Callable[[], datetime] = utcnow,
                 batch: int = 100, lease: timedelta = timedelta(minutes=2),
                 concurrency: int = 64, timer: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.sessions, self.senders, self.clock = sessions, dict(senders), clock
        self.batch, self.lease, self.concurrency = batch, lease, concurrency
        self.timer = timer
        self.limiters = {
            channel: SlidingWindowLimiter(sender.limits, clock=timer, sleep=sleep)
            for channel, sender in self.senders.items()
            if getattr(sender, "limits", None) is not None}
        self.stopping = asyncio.Event()
        self.marks = GroupCommit(self._mark)
        self.confirm_grace = min(CONFIRM_GRACE, lease / 2)
        # platforms that cannot be asked what was sent (Telegram): one notice at a time is
        # in flight there, from its mark until its outcome is stored, so that a process
        # killed mid-send leaves at most one send whose outcome is unknown — re-sent once,
        # at most one message twice per kill
        self.unverifiable = {channel for channel, sender in self.senders.items()
                             if getattr(sender, "limits", None) is not None
                             and not hasattr(sender, "find_sent")}
        self.one_unverified_send = asyncio.Lock()
        self.replies = ReplyCourier(sessions, self.senders, clock)

    def stop(self) -> None:
        """Start no new send: the ones under way finish and are recorded, the rest of
        what was claimed is handed back (see `run_until_cancelled`)."""
        self.stopping.set()

    async def run_once(self) -> int:
        """One pass over what is due; returns how many notices it handled. Each outcome is
        recorded as soon as it is known: a dispatcher that dies mid-pass leaves claims
        whose lease runs out, and only the notices it had not recorded go again: at least
        once, never lost. A notice whose channel cannot take it before the lease is
        nearly over is rescheduled rather than waited for."""
        deadline = self.timer() + self.lease.total_seconds() * (1 - LEASE_SPARE)
        deliveries = await self._claim()
        by_person: dict[int, list[Delivery]] = defaultdict(list)
        for delivery in deliveries:
            by_person[delivery.person_id].append(delivery)
        slots = asyncio.Semaphore(self.concurrency)
        recorder = GroupCommit(self._record)
        unsent: list[int] = []

        async def in_order(chain: list[Delivery]) -> None:
            async with slots:
                for delivery in chain:
                    async with self._in_flight_turn(delivery):
                        outcome = None if self.stopping.is_set() \
                            else await self._deliver(delivery, deadline)
                        if outcome is None:  # stopping: not started, handed back below
                            unsent.append(delivery.notice_id)
                        else:
                            await recorder.add(outcome)

        try:
            async with asyncio.TaskGroup() as group:  # one failing chain stops the others
                for chain in by_person.values():
                    group.create_task(in_order(chain))
        finally:
            if unsent:
                async with transaction(self.sessions) as session:
                    await outbox.hand_back(session, unsent)
                log.info("stopping: %d claimed notices handed back", len(unsent))
        if self.stopping.is_set():
            return len(deliveries)
        return len(deliveries) + await self.replies.run_once()

    async def run_forever(self, interval: float) -> None:
        while not self.stopping.is_set():
            try:
                handled = await self.run_once()
            except Exception:  # keep the loop alive; the claim's lease protects the rows
                log.exception("dispatch pass failed")
                handled = 0
            if not handled:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), interval)

    async def run_until_cancelled(self, interval: float, grace: float = STOP_GRACE) -> None:
        """`run_forever`, stopping gracefully when cancelled (a process told to stop): the
        sends under way are not cut off but finish and are recorded, within `grace`."""
        running = asyncio.create_task(self.run_forever(interval))
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            self.stop()
            await self._finish(running, grace)
            raise

    async def _finish(self, running: asyncio.Task, grace: float) -> None:
        """Wait for the stopping pass; a second request to stop within `grace` (a process
        cancelling its jobs twice) does not cut the sends short."""
        loop = asyncio.get_running_loop()
        until = loop.time() + grace
        while not running.done():
            try:
                await asyncio.wait_for(asyncio.shield(running), max(until - loop.time(), 0))
            except asyncio.CancelledError:
                if loop.time() >= until:
                    break
            except TimeoutError:
                break
        if not running.done():
            log.error("dispatcher did not stop within %.0f s: its claims will lapse", grace)
            running.cancel()

    async def _claim(self) -> list[Delivery]:
        now = self.clock()
        async with transaction(self.sessions) as session:
            deliveries = []
            for notice in await outbox.claim_due(session, now, self.batch, self.lease):
                person = await session.get(Person, notice.person_id)
                if person is not None and not person.active and person.erased_at is None:
                    outbox.hold(session, notice, INACTIVE)  # released when switched on again
                    continue
                chats = await self._usable_chats(session, person)
                if not chats and await self._opted_out_everywhere(session, person):
                    outbox.hold(session, notice, OPTED_OUT)  # released if they write again
                    continue
                if not chats:
                    outbox.postpone(session, notice, now + NO_CHAT_RETRY,
                                    "no reachable chat for this person yet")
                    continue
                if not await still_stands(session, notice):  # e.g. the job was cancelled
                    outbox.withdraw(session, notice,
                                    "withdrawn: what it offered no longer stands")
                    continue
                try:
                    reply = await render_notice(session, notice, person)
                except (KeyError, ValueError, IndexError) as error:  # a bug, not a blip
                    log.exception("notice %s cannot be rendered", notice.id)
                    outbox.give_up(session, notice, f"cannot render: {error!r}")
                    continue
                unknown = None
                if outbox.outcome_unknown(notice):
                    chat = await session.get(ChatIdentity, notice.in_flight_chat_id) \
                        if notice.in_flight_chat_id is not None else None
                    unknown = Unknown(chat, notice.in_flight_at, notice.unknown_outcomes)
                deliveries.append(Delivery(notice.id, notice.kind, person.id, chats, reply,
                                           last_try=notice.attempts + 1 >= MAX_ATTEMPTS,
                                           unknown=unknown))
            return deliveries

    async def _usable_chats(self, session: AsyncSession,
                            person: Person | None) -> list[ChatIdentity]:
        if person is None or not person.active:
            return []
        return [identity for identity in await identities_of(session, person.id)
                if identity.channel in self.senders and usable(identity)]

    async def _opted_out_everywhere(self, session: AsyncSession, person: Person | None) -> bool:
        chats = await identities_of(session, person.id) if person is not None else []
        return bool(chats) and all(chat.opted_out_at is not None for chat in chats)

    def _in_flight_turn(self, delivery: Delivery):
        """The turn a notice that may go to a platform that cannot be asked what was sent
        waits for (held until its outcome is stored); none for the others."""
        if any(chat.channel in self.unverifiable for chat in delivery.chats):
            return self.one_unverified_send
        return contextlib.nullcontext()

    async def _deliver(self, delivery: Delivery, deadline: float) -> Outcome | None:
        """Try the person's chats in order until one takes the notice, asks for "later",
        or fails transiently with attempts left (see `passes_on`). None: the dispatcher
        is stopping and nothing was sent."""
        logs.bind(notice_id=delivery.notice_id)  # in this person's task
        if delivery.unknown is not None:
            settled = await self._settle_unknown(delivery)
            if settled is not None:
                return settled
        blocked, tried, last = [], [], None
        for identity in delivery.chats:
            result = await self._send(identity, delivery, deadline)
            if result is None:  # stopping: a chat tried before keeps its outcome
                break
            tried.append((identity.channel, result))
            last = (identity, result)
            if result.unreachable:
                blocked.append(identity.id)
            if not passes_on(result, delivery.last_try):
                break
        if last is None:
            return None
        return Outcome(delivery, *last, blocked, failure_reasons(tried))

    async def _settle_unknown(self, delivery: Delivery) -> Outcome | None:
        """The last attempt was left without an outcome (the process stopped mid-send).
        An Outcome when that settles the notice without sending it; None to send."""
        unknown = delivery.unknown
        chat = unknown.chat
        sender = self.senders.get(chat.channel) if chat is not None else None
        finder = getattr(sender, "find_sent", None)
        if chat is not None and finder is not None:
            try:
                found = await self._not_taken(
                    await finder(chat, delivery.reply, unknown.since))
            except Exception as error:  # cannot tell now: ask again a little later
                log.warning("notice %s: could not look up its last send: %r",
                            delivery.notice_id, error)
                return Outcome(delivery, chat, SendResult(
                    ok=False, retry_after=LOOKUP_RETRY, error="looking up the last send"),
                    [], None, still_unknown=True)
            if found is not None:
                log.info("notice %s was sent before the stop: not sent again",
                         delivery.notice_id)
                return Outcome(delivery, chat, found, [], None)
            wait = (unknown.since + self.confirm_grace - self.clock()).total_seconds()
            if wait > 0:  # the platform's news of it may still come
                return Outcome(delivery, chat, SendResult(
                    ok=False, retry_after=wait, error="waiting for news of the last send"),
                    [], None, still_unknown=True)
            return None  # the platform says it never went: send it
        if unknown.count > MAX_UNKNOWN_RESENDS and chat is not None:
            log.warning("notice %s: outcome unknown again, not re-sent", delivery.notice_id)
            return Outcome(delivery, chat, SendResult(ok=True), [], NOT_SENT_AGAIN)
        return None  # re-sent, once

    async def _not_taken(self, candidates: list[SendResult]) -> SendResult | None:
        """The oldest of the messages found that no notice has yet (two notices with the
        same text to the same person must not both claim one message). A person's
        notices are settled one after the other, each recorded before the next."""
        if not candidates:
            return None
        async with transaction(self.sessions) as session:
            taken = await outbox.message_ids_taken(
                session, [c.provider_message_id for c in candidates if c.provider_message_id])
        free = [c for c in candidates if c.provider_message_id not in taken]
        return free[0] if free else None

    async def _mark(self, marks: list[tuple[int, int]]) -> None:
        async with transaction(self.sessions) as session:
            await outbox.mark_in_flight(session, marks, self.clock())

    async def _send(self, identity: ChatIdentity, delivery: Delivery,
                    deadline: float) -> SendResult | None:
        """Hand the notice to the chat's sender once the channel's limits allow; when
        they allow it only after `deadline`, a "later" without sending; None when the
        dispatcher is stopping before the send starts."""
        if self.stopping.is_set():
            return None
        # marked before the limiter's slot, so that no write comes between the slot and
        # the send (the platform sees the sends spaced as the limiter spaced them)
        await self.marks.add((delivery.notice_id, identity.id))
        limiter = self.limiters.get(identity.channel)
        if limiter is not None:
            wait = await self._acquire(limiter, identity, deadline)
            if wait is None:
                return None  # handed back, the mark cleared: it was not sent
            if wait:
                return SendResult(ok=False, retry_after=wait,
                                  error=f"{identity.channel} paused for {wait:.0f} s")
        sender = self.senders[identity.channel]
        try:
            result = await sender.send(identity, delivery.reply, notice=Notice(
                id=delivery.notice_id, kind=delivery.kind))
        except Exception as error:  # a sender bug must not lose the notice
            log.exception("sender %s failed", sender.channel)
            result = SendResult(ok=False, error=f"{type(error).__name__}: {error}")
        metrics.send_result(identity.channel, delivery.kind, result)
        if result.retry_after and limiter is not None:
            limiter.pause(result.retry_after)  # the whole bot
        return result

    async def _acquire(self, limiter: SlidingWindowLimiter, identity: ChatIdentity,
                       deadline: float) -> float | None:
        """The limiter's wait, cut short (None) when the dispatcher is told to stop."""
        acquiring = asyncio.ensure_future(limiter.acquire(identity.external_id, deadline))
        stopping = asyncio.ensure_future(self.stopping.wait())
        await asyncio.wait({acquiring, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if acquiring.done():
            return acquiring.result()
        acquiring.cancel()
        return None

    async def _record(self, outcomes: list[Outcome]) -> None:
        """Report each outcome to the store (models.outbox sets the notice's status)."""
        if not outcomes:
            return
        now = self.clock()
        async with transaction(self.sessions) as session:
            for outcome in outcomes:
                await mark_unreachable(session, outcome.blocked, now)
                reply = outcome.delivery.reply
                await outbox.record_attempt(
                    session, outcome.delivery.notice_id, stored(outcome.result),
                    channel=outcome.identity.channel,
                    text=reply.text + (f"\n({reply.hint})" if reply.hint else ""),
                    errors=outcome.errors, now=now, outcome_known=not outcome.still_unknown)
                sender = self.senders.get(outcome.identity.channel)
                if outcome.result.ok and getattr(sender, "numbered_choices", False):
                    # the person reads its choices as numbers: they answer it next
                    await show_notice(session, outcome.identity.id,
                                      outcome.delivery.notice_id, now)


def stored(result: SendResult) -> outbox.Outcome:
    """What a channel's answer means for the notice, in the store's terms: held when the
    chat cannot take it now, sent, "later" (not a failed attempt), or failed."""
    if result.hold or result.unreachable:
        return outbox.Held(result.error or "no usable chat")
    if result.ok:
        return outbox.Sent(str(result.status), result.provider_message_id)
    if result.retry_after:
        return outbox.Later(result.retry_after)
    return outbox.Failed(permanent=result.permanent)
