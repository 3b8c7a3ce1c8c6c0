"""The audit of what staff change (the catalogue, the fund, enrolment codes, people): one
row per change with who, when, and the values before and after, written in the same
transaction as the change."""

from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import Role
from models.offers import NotAllowed
from models.tables import ChangeEvent, Person


async def record_change(session: AsyncSession, actor: Person | None, subject: str, key: Any,
                        action: str, before: dict | None, after: dict | None,
                        now: datetime) -> ChangeEvent:
    event = ChangeEvent(actor_id=actor.id if actor else None, subject=subject,
                        subject_key=str(key)[:120], action=action, before=before, after=after,
                        at=now)
    session.add(event)
    return event


async def changes_of(session: AsyncSession, subject: str | None = None,
                     limit: int = 100) -> list[ChangeEvent]:
    """The latest changes, newest first (of one subject when given)."""
    query = select(ChangeEvent).order_by(ChangeEvent.id.desc()).limit(limit)
    if subject:
        query = query.where(ChangeEvent.subject == subject)
    return list((await session.exec(query)).all())


def require_coordinator(actor: Person, what: str) -> None:
    if actor is None or not actor.active or actor.role != Role.COORDINATOR:
        raise NotAllowed(actor, what)
