"""What comes in from the chats: each update handled once, and the language a chat chose."""

from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import insert_ignoring_duplicates
from models.tables import ChatIdentity, Conversation, Person, ProcessedUpdate


async def record_update(session: AsyncSession, channel: str, key: str, now: datetime) -> bool:
    """Mark an inbound update (a Telegram update, a Twilio MessageSid) as handled, in the
    caller's transaction; False when it already was: a redelivery."""
    inserted = await session.exec(insert_ignoring_duplicates(
        session, ProcessedUpdate, channel=channel, update_id=key, at=now))
    return inserted.rowcount == 1


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
