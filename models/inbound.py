"""What comes in from the chats: each update handled once with its replies kept until
they are delivered, and the language a chat chose."""

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import insert_ignoring_duplicates
from models.tables import ChatIdentity, Conversation, Person, ProcessedUpdate

# how long the process that ran a turn has to deliver its replies before a dispatcher
# sends them instead (a fast path takes well under a second, rate limits aside)
REPLY_LEASE = timedelta(seconds=60)


async def record_update(session: AsyncSession, channel: str, key: str, now: datetime, *,
                        chat: str | None = None, replies: list[dict[str, Any]] | None = None,
                        delivered: bool = False, lease: timedelta = REPLY_LEASE) -> bool:
    """Mark an inbound update (a Telegram update, a Twilio MessageSid, a console line) as
    handled, with the replies its turn gave, in the caller's transaction; False when it
    already was: a redelivery. The replies are claimed for `lease` by the caller, who
    delivers them at once; `delivered`: the caller hands them over by returning them (an
    HTTP response, the console), so nobody else is to send them."""
    done = delivered or not replies
    inserted = await session.exec(insert_ignoring_duplicates(
        session, ProcessedUpdate, channel=channel, update_id=key, at=now, chat=chat,
        replies=replies, delivered_at=now if done else None,
        claimed_until=None if done else now + lease).returning(ProcessedUpdate.update_id))
    return inserted.first() is not None  # (psycopg gives no rowcount for an INSERT)


async def claim_replies(session: AsyncSession, channel: str, key: str, now: datetime,
                        lease: timedelta = REPLY_LEASE) -> bool:
    """Take over the delivery of update `key`'s replies (its update came again): False
    when they were delivered, or someone is delivering them now."""
    claimed = await session.exec(update(ProcessedUpdate).where(
        ProcessedUpdate.channel == channel, ProcessedUpdate.update_id == key,
        ProcessedUpdate.delivered_at.is_(None),
        or_(ProcessedUpdate.claimed_until.is_(None), ProcessedUpdate.claimed_until <= now))
        .values(claimed_until=now + lease))
    return claimed.rowcount == 1


async def recorded(session: AsyncSession, channel: str, key: str) -> ProcessedUpdate | None:
    """The record of an update handled before, with its replies."""
    return await session.get(ProcessedUpdate, (channel, key))


async def mark_delivered(session: AsyncSession, updates: list[tuple[str, str]],
                         now: datetime) -> None:
    """The replies of these updates ((channel, key) pairs) have been handed to their
    channel: one statement for each channel among them."""
    by_channel: dict[str, list[str]] = {}
    for channel, key in updates:
        by_channel.setdefault(channel, []).append(key)
    for channel, keys in by_channel.items():
        await session.exec(update(ProcessedUpdate).where(
            ProcessedUpdate.channel == channel, ProcessedUpdate.update_id.in_(keys))
            .values(delivered_at=now, claimed_until=None))


async def release_replies(session: AsyncSession, channel: str, key: str) -> None:
    """The caller could not deliver update `key`'s replies just now: whoever comes next
    (the update delivered again, a dispatcher) may take them at once."""
    await session.exec(update(ProcessedUpdate).where(
        ProcessedUpdate.channel == channel, ProcessedUpdate.update_id == key,
        ProcessedUpdate.delivered_at.is_(None)).values(claimed_until=None))


async def claim_undelivered(session: AsyncSession, now: datetime,
                            lease: timedelta = REPLY_LEASE,
                            limit: int = 50) -> list[ProcessedUpdate]:
    """Updates whose replies were never delivered, and whose claim ran out (their process
    stopped before it could deliver): claimed for `lease`, so one dispatcher sends them."""
    rows = list((await session.exec(
        select(ProcessedUpdate).where(
            ProcessedUpdate.delivered_at.is_(None),
            or_(ProcessedUpdate.claimed_until.is_(None), ProcessedUpdate.claimed_until <= now))
        .order_by(ProcessedUpdate.at).limit(limit).with_for_update(skip_locked=True))).all())
    for row in rows:
        row.claimed_until = now + lease
        session.add(row)
    return rows


async def chat_language(session: AsyncSession, channel: str, external_id: str) -> str | None:
    """The language this chat chose: its person's, else the one picked while enrolling;
    None when it chose none (or is not known)."""
    identity = (await session.exec(select(ChatIdentity).where(
        ChatIdentity.channel == channel, ChatIdentity.external_id == external_id))).first()
    if identity is None:
        return None
    if identity.person_id is not None:
        person = await session.get(Person, identity.person_id)
        if person is not None:
            return person.language
    conversation = (await session.exec(select(Conversation).where(
        Conversation.identity_id == identity.id))).first()
    return conversation.data.get("language") if conversation is not None else None
