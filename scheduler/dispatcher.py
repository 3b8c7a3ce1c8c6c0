"""The outbox dispatcher: claims due notices, renders each in its recipient's language,
hands it to the sender of the chat the person last wrote from, and records the outcome.
Sending happens outside any transaction; a dispatcher that dies mid-way leaves a claim
whose lease runs out, and the notice is sent by the next pass."""

import asyncio
import logging
from collections.abc import Callable, Mapping
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
    channel: str

    async def send(self, identity: ChatIdentity, reply: Reply) -> SendResult: ...


@dataclass(frozen=True)
class Delivery:
    notice_id: int
    chats: list[ChatIdentity]  # the person's usable chats, the one last written from first
    reply: Reply


class Dispatcher:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 senders: Mapping[str, Sender], clock: Callable[[], datetime] = utcnow,
                 batch: int = 50, lease: timedelta = timedelta(minutes=2)):
        self.sessions, self.senders, self.clock = sessions, dict(senders), clock
        self.batch, self.lease = batch, lease

    async def run_once(self) -> int:
        """One pass over what is due; returns how many notices it handled."""
        deliveries = await self._claim()
        for delivery in deliveries:
            await self._deliver(delivery)
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
                deliveries.append(Delivery(notice.id, chats, reply))
            return deliveries

    async def _usable_chats(self, session: AsyncSession,
                            person: Person | None) -> list[ChatIdentity]:
        if person is None or not person.active:
            return []
        return [identity for identity in await identities_of(session, person.id)
                if identity.channel in self.senders and identity.unreachable_at is None
                and identity.opted_out_at is None]

    async def _deliver(self, delivery: Delivery) -> None:
        """Try the person's chats in order until one takes the notice or fails for real."""
        for identity in delivery.chats:
            sender = self.senders[identity.channel]
            try:
                result = await sender.send(identity, delivery.reply)
            except Exception as error:  # a sender bug must not lose the notice
                log.exception("sender %s failed", sender.channel)
                result = SendResult(ok=False, error=f"{type(error).__name__}: {error}")
            if result.unreachable:
                await self._mark_unreachable(identity.id)
            if not (result.hold or result.unreachable):
                break
        await self._record(delivery, identity, result)

    async def _mark_unreachable(self, identity_id: int) -> None:
        async with transaction(self.sessions) as session:
            identity = await session.get(ChatIdentity, identity_id)
            identity.unreachable_at = self.clock()
            session.add(identity)

    async def _record(self, delivery: Delivery, identity: ChatIdentity,
                      result: SendResult) -> None:
        now = self.clock()
        async with transaction(self.sessions) as session:
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
                notice.last_error = None
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
