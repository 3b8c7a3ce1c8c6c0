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
    """What a channel sender made of one notice. `permanent` failures are not retried."""

    ok: bool
    status: str = NoticeStatus.SENT
    provider_message_id: str | None = None
    error: str | None = None
    permanent: bool = False
    retry_after: float | None = None


class Sender(Protocol):
    channel: str

    async def send(self, identity: ChatIdentity, reply: Reply) -> SendResult: ...


@dataclass(frozen=True)
class Delivery:
    notice_id: int
    identity: ChatIdentity | None
    reply: Reply | None


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
                identity = await self._pick_chat(session, person)
                if identity is None:
                    notice.next_attempt_at = now + NO_CHAT_RETRY
                    notice.claimed_until = None
                    notice.last_error = "no reachable chat for this person yet"
                    session.add(notice)
                    continue
                reply = await render_notice(session, notice, person)
                deliveries.append(Delivery(notice.id, identity, reply))
            return deliveries

    async def _pick_chat(self, session: AsyncSession, person: Person | None):
        if person is None or not person.active:
            return None
        for identity in await identities_of(session, person.id):
            if identity.channel in self.senders and identity.unreachable_at is None \
                    and identity.opted_out_at is None:
                return identity
        return None

    async def _deliver(self, delivery: Delivery) -> None:
        sender = self.senders[delivery.identity.channel]
        try:
            result = await sender.send(delivery.identity, delivery.reply)
        except Exception as error:  # a sender bug must not lose the notice
            log.exception("sender %s failed", sender.channel)
            result = SendResult(ok=False, error=f"{type(error).__name__}: {error}")
        await self._record(delivery, result)

    async def _record(self, delivery: Delivery, result: SendResult) -> None:
        now = self.clock()
        async with transaction(self.sessions) as session:
            notice = await session.get(Notice, delivery.notice_id)
            notice.claimed_until = None
            notice.channel = delivery.identity.channel
            notice.rendered_text = delivery.reply.text
            if result.ok:
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
