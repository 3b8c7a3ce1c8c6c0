"""The web console's ("pannello") sign-in: links, sessions, failed attempts.

Sign-in has no password: a person with a staff role (the coordinator, a partner's contact)
asks the chat for a link; the link carries a random token that is stored only as its
SHA-256 hash, works once, and expires. Using it opens a session, whose token (also stored
hashed) is the cookie; the session ends after `idle` minutes without a request, after
`absolute` hours whatever happens, when the person signs out, or when the person is
deactivated. Failed link attempts are counted per address so a guesser can be slowed down.

Signing in and out is audited like every other console action: a `change_event`
(models/audit.py, `record_change`) in the same transaction."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index
from sqlmodel import Field, SQLModel, delete, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import Role, utc_column, utcnow
from models.tables import Organisation, Person

STAFF_ROLES = (Role.COORDINATOR, Role.CONTACT)
TOKEN_BYTES = 32  # 256 bits: not guessable, whatever the number of attempts
SEEN_EVERY = timedelta(minutes=1)  # how often a session's idle clock is written


class PanelLink(SQLModel, table=True):
    """A single-use sign-in link sent to a person's chat (only its hash is kept)."""

    __tablename__ = "panel_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    expires_at: datetime = Field(sa_column=utc_column(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=utc_column())


class PanelSession(SQLModel, table=True):
    """A signed-in browser. `csrf_token` goes in every form of the session's pages."""

    __tablename__ = "panel_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    last_seen_at: datetime = Field(sa_column=utc_column(nullable=False))
    expires_at: datetime = Field(sa_column=utc_column(nullable=False))  # the absolute limit
    ended_at: datetime | None = Field(default=None, sa_column=utc_column())


class PanelAttempt(SQLModel, table=True):
    """A failed sign-in attempt (unknown, used or expired link) from one address."""

    __tablename__ = "panel_attempt"
    __table_args__ = (Index("ix_panel_attempt_address_at", "address", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(max_length=64)
    at: datetime = Field(sa_column=utc_column(nullable=False))


@dataclass(frozen=True)
class SessionRules:
    link_minutes: int = 10
    idle_minutes: int = 30
    absolute_hours: int = 12
    failures_per_minute: int = 5


def hashed(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def may_use_panel(person: Person | None) -> bool:
    return (person is not None and person.active and person.erased_at is None
            and person.role in STAFF_ROLES)


async def create_link(session: AsyncSession, person: Person, now: datetime,
                      rules: SessionRules) -> str:
    """A new sign-in token for `person` (returned once, stored only hashed)."""
    if not may_use_panel(person):
        raise PermissionError("only the coordinator and the partners' contacts use the panel")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(PanelLink(token_hash=hashed(token), person_id=person.id, created_at=now,
                          expires_at=now + timedelta(minutes=rules.link_minutes)))
    await session.flush()
    return token


async def check_link(session: AsyncSession, token: str, now: datetime) -> Person | None:
    """The person a link would sign in, without using it; None if it would be refused."""
    link = (await session.exec(select(PanelLink).where(
        PanelLink.token_hash == hashed(token)))).first()
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    person = await session.get(Person, link.person_id)
    return person if may_use_panel(person) else None


@dataclass(frozen=True)
class NewSession:
    token: str  # for the cookie; only its hash is stored
    row: PanelSession


async def use_link(session: AsyncSession, token: str, now: datetime,
                   rules: SessionRules) -> NewSession | None:
    """Use a link (once: a conditional update) and open a session; None when the link is
    unknown, used, expired, or its person may no longer use the panel."""
    person = await check_link(session, token, now)
    if person is None:
        return None
    claimed = await session.exec(
        update(PanelLink)
        .where(PanelLink.token_hash == hashed(token), PanelLink.used_at.is_(None),
               PanelLink.expires_at > now)
        .values(used_at=now))
    if claimed.rowcount != 1:
        return None
    session_token = secrets.token_urlsafe(TOKEN_BYTES)
    row = PanelSession(token_hash=hashed(session_token), person_id=person.id,
                       csrf_token=secrets.token_urlsafe(TOKEN_BYTES), created_at=now,
                       last_seen_at=now, expires_at=now + timedelta(hours=rules.absolute_hours))
    session.add(row)
    await session.flush()
    await _audit(session, person, "sign_in", now)
    return NewSession(session_token, row)


async def current_session(session: AsyncSession, token: str, now: datetime,
                          rules: SessionRules) -> tuple[PanelSession, Person] | None:
    """The live session of a cookie, its idle clock restarted (written at most once a
    minute, so it may run up to a minute early); None when there is none
    (unknown, signed out, idle too long, past its absolute limit, person deactivated)."""
    row = (await session.exec(select(PanelSession).where(
        PanelSession.token_hash == hashed(token)))).first()
    if row is None or row.ended_at is not None or row.expires_at <= now \
            or row.last_seen_at + timedelta(minutes=rules.idle_minutes) <= now:
        return None
    person = await session.get(Person, row.person_id)
    if not may_use_panel(person):
        return None
    if now - row.last_seen_at >= SEEN_EVERY:  # a write per page is not needed for a
        row.last_seen_at = now                # 30-minute clock: once a minute is enough
        session.add(row)
    return row, person


async def end_session(session: AsyncSession, row: PanelSession, now: datetime) -> None:
    row.ended_at = now
    session.add(row)
    await _audit(session, await session.get(Person, row.person_id), "sign_out", now)


async def _audit(session: AsyncSession, person: Person, action: str, now: datetime) -> None:
    from models.audit import record_change  # the console's one audit table (change_event);
    # imported here because models.tables imports this module

    await record_change(session, person, "panel", person.id, action, None, None, now)


async def note_failure(session: AsyncSession, address: str, now: datetime) -> None:
    session.add(PanelAttempt(address=address[:64], at=now))
    # keep the table small: attempts older than an hour say nothing any more
    await session.exec(delete(PanelAttempt).where(PanelAttempt.at < now - timedelta(hours=1)))


async def too_many_failures(session: AsyncSession, address: str, now: datetime,
                            rules: SessionRules) -> bool:
    """Whether `address` failed `failures_per_minute` times in the last minute."""
    count = (await session.exec(select(func.count()).select_from(PanelAttempt).where(
        PanelAttempt.address == address[:64],
        PanelAttempt.at > now - timedelta(minutes=1)))).one()
    return count >= rules.failures_per_minute


def contact_kinds(organisation: Organisation) -> set[str]:
    """What a contact of `organisation` looks after: "cooperative" (it provides services)
    and/or "employer" (it employs workers); a cooperative is usually both."""
    kinds = set()
    if "provider" in organisation.roles:
        kinds.add("cooperative")
    if "employer" in organisation.roles:
        kinds.add("employer")
    return kinds
