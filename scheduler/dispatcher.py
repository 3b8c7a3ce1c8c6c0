"""The outbox dispatcher: claims due notices, renders each in its recipient's language,
hands it to the sender of the chat the person last wrote from, and records the outcome.
Sending happens outside any transaction; a dispatcher that dies mid-way leaves a claim
whose lease runs out, and the notice is sent by the next pass."""

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.notices import render_notice
from handlers.types import Reply
from models.base import NoticeStatus, utcnow
from models.db import transaction
from models.outbox import MAX_ATTEMPTS, backoff, claim_due
from models.people import identities_of
from models.tables import ChatIdentity, Notice, Person
from scheduler.ratelimit import SlidingWindowLimiter

log = logging.getLogger(__name__)
NO_CHAT_RETRY = timedelta(seconds=30)


@dataclass(frozen=True)
class SendResult:
    """What a channel sender made of one notice. `permanent` failures are not retried;
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
    the dispatcher keeps for every notice it hands over."""

    channel: str

    async def send(self, identity: ChatIdentity, reply: Reply,
                   notice: Notice | None = None) -> SendResult: ...


@dataclass(frozen=True)
class Outcome:
    delivery: "Delivery"
    identity: ChatIdentity  # the chat last tried
    result: SendResult
    blocked: list[int]  # chats found blocked on the way


@dataclass(frozen=True)
class Delivery:
    notice_id: int
    kind: str  # what the notice is (a WhatsApp template is chosen by it)
    person_id: int
    chats: list[ChatIdentity]  # the person's usable chats, the one last written from first
    reply: Reply


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
        self.limiters = {
            channel: SlidingWindowLimiter(sender.limits, clock=timer, sleep=sleep)
            for channel, sender in self.senders.items()
            if getattr(sender, "limits", None) is not None}

    async def run_once(self) -> int:
        """One pass over what is due; returns how many notices it handled. The outcomes
        are recorded together at the end of the pass (one transaction, not one per
        notice): a dispatcher that dies mid-pass leaves claims whose lease runs out, and
        those notices go again: at least once, never lost."""
        deliveries = await self._claim()
        by_person: dict[int, list[Delivery]] = defaultdict(list)
        for delivery in deliveries:
            by_person[delivery.person_id].append(delivery)
        slots = asyncio.Semaphore(self.concurrency)
        outcomes: list[Outcome] = []

        async def in_order(chain: list[Delivery]) -> None:
            async with slots:
                for delivery in chain:
                    outcomes.append(await self._deliver(delivery))

        await asyncio.gather(*(in_order(chain) for chain in by_person.values()))
        await self._record(outcomes)
        return len(deliveries)

    async def run_forever(self, interval: float) -> None:
        while True:
            try:
                handled = await self.run_once()
            except Exception:  # keep the loop alive; the claim's lease protects the rows
                log.exception("dispatch pass failed")
                handled = 0
            if not handled:
                await asyncio.sleep(interval)

    async def _claim(self) -> list[Delivery]:
        now = self.clock()
        async with transaction(self.sessions) as session:
            deliveries = []
            for notice in await claim_due(session, now, self.batch, self.lease):
                person = await session.get(Person, notice.person_id)
                chats = await self._usable_chats(session, person)
                if not chats and await self._opted_out_everywhere(session, person):
                    notice.status, notice.claimed_until = NoticeStatus.HELD, None
                    notice.held_reason = "opted_out"  # released if they write again
                    session.add(notice)
                    continue
                if not chats:
                    notice.next_attempt_at = now + NO_CHAT_RETRY
                    notice.claimed_until = None
                    notice.last_error = "no reachable chat for this person yet"
                    session.add(notice)
                    continue
                try:
                    reply = await render_notice(session, notice, person)
                except (KeyError, ValueError, IndexError) as error:  # a bug, not a blip
                    log.exception("notice %s cannot be rendered", notice.id)
                    notice.status, notice.claimed_until = NoticeStatus.FAILED, None
                    notice.last_error = f"cannot render: {error!r}"[:500]
                    session.add(notice)
                    continue
                deliveries.append(Delivery(notice.id, notice.kind, person.id, chats, reply))
            return deliveries

    async def _usable_chats(self, session: AsyncSession,
                            person: Person | None) -> list[ChatIdentity]:
        if person is None or not person.active:
            return []
        return [identity for identity in await identities_of(session, person.id)
                if identity.channel in self.senders and identity.unreachable_at is None
                and identity.opted_out_at is None]

    async def _opted_out_everywhere(self, session: AsyncSession, person: Person | None) -> bool:
        chats = await identities_of(session, person.id) if person is not None else []
        return bool(chats) and all(chat.opted_out_at is not None for chat in chats)

    async def _deliver(self, delivery: Delivery) -> "Outcome":
        """Try the person's chats in order until one takes the notice or fails for real."""
        blocked = []
        for identity in delivery.chats:
            sender = self.senders[identity.channel]
            limiter = self.limiters.get(identity.channel)
            if limiter is not None:
                await limiter.acquire(identity.external_id)
            try:
                result = await sender.send(identity, delivery.reply,
                                           notice=Notice(id=delivery.notice_id,
                                                         kind=delivery.kind))
            except Exception as error:  # a sender bug must not lose the notice
                log.exception("sender %s failed", sender.channel)
                result = SendResult(ok=False, error=f"{type(error).__name__}: {error}")
            if result.retry_after and identity.channel in self.limiters:
                self.limiters[identity.channel].pause(result.retry_after)  # the whole bot
            if result.unreachable:
                blocked.append(identity.id)
            if not (result.hold or result.unreachable):
                break
        return Outcome(delivery, identity, result, blocked)

    async def _record(self, outcomes: list["Outcome"]) -> None:
        if not outcomes:
            return
        now = self.clock()
        async with transaction(self.sessions) as session:
            for outcome in outcomes:
                for identity_id in outcome.blocked:
                    identity = await session.get(ChatIdentity, identity_id)
                    identity.unreachable_at = now
                    session.add(identity)
                await self._record_one(session, outcome, now)

    @staticmethod
    async def _record_one(session: AsyncSession, outcome: "Outcome", now: datetime) -> None:
        delivery, identity, result = outcome.delivery, outcome.identity, outcome.result
        notice = await session.get(Notice, delivery.notice_id)
        notice.claimed_until = None
        notice.channel = identity.channel
        reply = delivery.reply
        notice.rendered_text = reply.text + (f"\n({reply.hint})" if reply.hint else "")
        if result.hold or result.unreachable:
            notice.status = NoticeStatus.HELD
            notice.held_reason = (result.error or "no usable chat")[:40]
        elif result.ok:
            notice.status, notice.sent_at = str(result.status), now
            notice.provider_message_id = result.provider_message_id
            notice.delivery_status = None  # a resend after a hold is a new message
            notice.last_error = None
        elif result.retry_after:  # the platform said "later": not a failed attempt
            notice.last_error = (result.error or "retry later")[:500]
            notice.next_attempt_at = now + timedelta(seconds=result.retry_after)
        else:
            notice.attempts += 1
            notice.last_error = (result.error or "unknown error")[:500]
            if result.permanent or notice.attempts >= MAX_ATTEMPTS:
                notice.status = NoticeStatus.FAILED
            else:
                wait = (timedelta(seconds=result.retry_after) if result.retry_after
                        else backoff(notice.attempts))
                notice.next_attempt_at = now + wait
        session.add(notice)
