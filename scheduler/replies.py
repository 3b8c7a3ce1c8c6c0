"""Replies whose fast path never completed: a turn's replies are queued with its effect
(handlers.inbound) and sent at once by the channel that received the message, which marks
them delivered. If that process stopped in between (a crash, a kill, a lost connection to
the platform), the replies are still in the store: once that process's claim has run out
(models.inbound.REPLY_LEASE), a dispatcher claims them, sends them to the chat they
answer, and marks them delivered. Telegram has no way to ask whether a message went out,
so a reply cut off mid-send may arrive twice; never not at all."""

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.inbound import stored_replies
from handlers.sending import Sender
from models import inbound as store
from models.db import transaction
from models.people import identity_for

log = logging.getLogger(__name__)


class ReplyCourier:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 senders: Mapping[str, Sender], clock: Callable[[], datetime]):
        self.sessions, self.senders, self.clock = sessions, senders, clock

    async def run_once(self) -> int:
        """Send what is due; returns how many updates' replies it handled."""
        async with transaction(self.sessions) as session:
            due = [(row.channel, row.update_id, row.chat) for row in
                   await store.claim_undelivered(session, self.clock())]
        for channel, key, chat in due:
            if await self._send(channel, key, chat):
                async with transaction(self.sessions) as session:
                    await store.mark_delivered(session, [(channel, key)], self.clock())
        return len(due)

    async def _send(self, channel: str, key: str, chat: str | None) -> bool:
        """Whether the replies are done with: sent, or undeliverable for good (no chat, no
        channel, refused); False leaves them for the next try once the lease is over."""
        sender = self.senders.get(channel)
        if sender is None or chat is None:
            log.warning("%s update %s: its replies have nowhere to go", channel, key)
            return True
        async with transaction(self.sessions) as session:
            row = await store.recorded(session, channel, key)
            replies = await stored_replies(session, row.replies or []) if row else []
            identity = await identity_for(session, channel, chat)
        for reply in replies:
            result = await sender.send(identity, reply)
            if not result.ok:
                log.warning("%s update %s: reply not sent: %s", channel, key, result.error)
                return result.permanent or result.unreachable
        log.info("%s update %s: replies its turn left undelivered, sent", channel, key)
        return True
