"""WhatsApp messages received and not yet answered: the webhook stores each one and
acknowledges it at once; a turn runner takes them, in order per chat, runs the dialogue
and sends the replies (bot/whatsapp/turns.py). A row is claimed with a lease, so after a
crash another process (or the restarted one) takes it once the lease has run out, and
only the earliest unfinished message of a chat can be claimed: a chat's messages are
answered in the order they came. Once its replies are out, the row keeps no text."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Index
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field, SQLModel, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import json_column, utc_column
from models.db import upsert_insert

MAX_SEND_ATTEMPTS = 6


class WhatsAppInbound(SQLModel, table=True):
    """One inbound WhatsApp message (Twilio MessageSid) on its way through the turn."""

    __tablename__ = "whatsapp_inbound"
    __table_args__ = (Index("ix_whatsapp_inbound_waiting", "done_at", "phone", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    message_sid: str = Field(unique=True, max_length=64)
    phone: str = Field(max_length=64)
    message: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    received_at: datetime = Field(sa_column=utc_column(nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=utc_column())
    handled_at: datetime | None = Field(default=None, sa_column=utc_column())
    # the turn's replies, rendered, waiting to be sent; `sent` of them are out
    replies: list[dict[str, Any]] = Field(default_factory=list,
                                          sa_column=json_column(nullable=False))
    sent: int = Field(default=0)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=500)
    done_at: datetime | None = Field(default=None, sa_column=utc_column())


async def store_inbound(engine: AsyncEngine, message_sid: str, phone: str,
                        message: dict[str, Any], now: datetime) -> bool:
    """Store a message as received, in a transaction of its own on a bare connection (the
    webhook's only statement, without an ORM session's cost); False if its MessageSid
    was stored before."""
    statement = upsert_insert(engine.dialect.name)(WhatsAppInbound).values(
        message_sid=message_sid, phone=phone, message=message, received_at=now, replies=[],
        sent=0, attempts=0).on_conflict_do_nothing()
    async with engine.begin() as connection:
        return (await connection.execute(statement)).rowcount == 1


async def claim_next(session: AsyncSession, phone: str, now: datetime,
                     lease: timedelta) -> WhatsAppInbound | None:
    """The chat's earliest unfinished message, claimed until `now + lease`; None when the
    chat has none waiting or its earliest is claimed by someone else (locked, on
    PostgreSQL, until this transaction ends: two claimers never both get it)."""
    row = (await session.exec(
        select(WhatsAppInbound)
        .where(WhatsAppInbound.phone == phone, WhatsAppInbound.done_at.is_(None))
        .order_by(WhatsAppInbound.id).limit(1).with_for_update())).first()
    if row is None or (row.claimed_until is not None and row.claimed_until > now):
        return None
    row.claimed_until = now + lease
    session.add(row)
    return row


async def chats_waiting(session: AsyncSession, now: datetime, limit: int = 500) -> list[str]:
    """Chats with an unfinished message nobody holds (never claimed, or whose claimer died
    or gave it back for a later try)."""
    rows = await session.exec(
        select(WhatsAppInbound.phone)
        .where(WhatsAppInbound.done_at.is_(None),
               or_(WhatsAppInbound.claimed_until.is_(None),
                   WhatsAppInbound.claimed_until <= now))
        .distinct().limit(limit))
    return list(rows.all())


async def mark_handled(session: AsyncSession, row_id: int, replies: list[dict[str, Any]],
                       now: datetime) -> None:
    """The turn ran (in the caller's transaction): keep its replies for sending."""
    await session.exec(update(WhatsAppInbound).where(WhatsAppInbound.id == row_id)
                       .values(handled_at=now, replies=replies, sent=0, message={}))


async def mark_sent(session: AsyncSession, row_id: int, sent: int, now: datetime,
                    done: bool) -> None:
    """`sent` replies are out; `done`: all of them — the row keeps no text any more."""
    values: dict[str, Any] = {"sent": sent}
    if done:
        values |= {"done_at": now, "replies": [], "claimed_until": None}
    await session.exec(update(WhatsAppInbound).where(WhatsAppInbound.id == row_id)
                       .values(**values))


async def retry_later(session: AsyncSession, row_id: int, sent: int, error: str,
                      now: datetime, delay: timedelta) -> bool:
    """Sending failed for now: give the row back until `now + delay` (False, and the row
    is closed with its error, after MAX_SEND_ATTEMPTS)."""
    row = await session.get(WhatsAppInbound, row_id)
    row.sent, row.attempts, row.last_error = sent, row.attempts + 1, error[:500]
    row.claimed_until = now + delay
    if row.attempts >= MAX_SEND_ATTEMPTS:
        row.done_at, row.replies, row.claimed_until = now, [], None
    session.add(row)
    return row.done_at is None
