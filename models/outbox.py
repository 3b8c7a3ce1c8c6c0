"""The outbox: notices for people other than the sender, queued in the same transaction
as the change that caused them, deduplicated by key, claimed by dispatchers with a lease."""

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import NoticeStatus, Role
from models.db import insert_ignoring_duplicates
from models.people import people_with_role
from models.tables import Notice

MAX_ATTEMPTS = 8


async def queue_notice(session: AsyncSession, *, person_id: int | None, kind: str,
                       params: dict[str, Any], dedupe_key: str,
                       choices: list[dict[str, str]] | None = None,
                       audience: str | None = None, now: datetime,
                       not_before: datetime | None = None) -> None:
    """Queue once per dedupe key: queuing the same key again changes nothing. `not_before`
    holds it until then (e.g. the end of the quiet hours)."""
    status = NoticeStatus.PENDING if person_id is not None else NoticeStatus.HELD
    await session.exec(insert_ignoring_duplicates(
        session, Notice, dedupe_key=dedupe_key[:120], person_id=person_id, audience=audience,
        kind=kind, params=params, choices=choices or [], status=str(status), attempts=0,
        next_attempt_at=max(now, not_before or now), created_at=now))


async def queue_for_role(session: AsyncSession, role: Role, *, kind: str,
                         params: dict[str, Any], dedupe_key: str, now: datetime,
                         organisation_id: int | None = None) -> int:
    """One notice per person with the role; held for the role when nobody has it yet."""
    people = await people_with_role(session, role, organisation_id)
    for person in people:
        await queue_notice(session, person_id=person.id, kind=kind, params=params,
                           dedupe_key=f"{dedupe_key}:{person.id}", now=now)
    if not people:  # handed over to the first person enrolled with the role
        held_for = params if organisation_id is None \
            else {**params, "organisation_id": organisation_id}
        await queue_notice(session, person_id=None, audience=str(role), kind=kind,
                           params=held_for, dedupe_key=f"{dedupe_key}:held", now=now)
    return len(people)


async def claim_due(session: AsyncSession, now: datetime, limit: int,
                    lease: timedelta) -> list[Notice]:
    """Take up to `limit` due notices for this dispatcher until `now + lease`. On PostgreSQL
    rows locked by another dispatcher are skipped; an expired lease is claimable again (and
    when its notice was in flight, the unknown outcome is counted)."""
    query = (select(Notice)
             .where(Notice.status == NoticeStatus.PENDING, Notice.next_attempt_at <= now,
                    or_(Notice.claimed_until.is_(None), Notice.claimed_until < now))
             .order_by(Notice.next_attempt_at, Notice.id)
             .limit(limit)
             .with_for_update(skip_locked=True))
    notices = list((await session.exec(query)).all())
    for notice in notices:
        notice.claimed_until = now + lease
        if outcome_unknown(notice):  # a claim that lapsed mid-send
            notice.unknown_outcomes += 1
        session.add(notice)
    return notices


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


async def unseen_console_notices(session: AsyncSession, person_id: int) -> list[Notice]:
    query = (select(Notice)
             .where(Notice.person_id == person_id, Notice.channel == "console",
                    Notice.status == NoticeStatus.DELIVERED, Notice.shown_at.is_(None))
             .order_by(Notice.id))
    return list((await session.exec(query)).all())


async def release_held(session: AsyncSession, person_id: int, now: datetime) -> int:
    """The person wrote again: notices held for lack of a usable chat are due now."""
    held = await session.exec(select(Notice).where(
        Notice.person_id == person_id, Notice.status == NoticeStatus.HELD))
    count = 0
    for notice in held.all():
        notice.status, notice.held_reason = NoticeStatus.PENDING, None
        notice.next_attempt_at, notice.claimed_until = now, None
        session.add(notice)
        count += 1
    return count


# --- a send whose outcome is not known --------------------------------------------------
# The dispatcher marks a notice just before handing it to a channel and clears the mark
# with the outcome. A mark found by a later claim means the process stopped mid-send.

MAX_UNKNOWN_RESENDS = 1  # with no way to ask the platform, re-sent at most once


async def mark_in_flight(session: AsyncSession, marks: list[tuple[int, int]],
                         now: datetime) -> None:
    """(notice id, chat identity id) pairs about to be handed to a channel."""
    for notice_id, chat_id in marks:
        await session.exec(update(Notice).where(Notice.id == notice_id)
                           .values(in_flight_at=now, in_flight_chat_id=chat_id))


async def hand_back(session: AsyncSession, notice_ids: list[int]) -> None:
    """Claimed notices a stopping dispatcher did not send (some marked in flight while
    they waited for the platform's limits): due again at once, for anyone."""
    if notice_ids:
        await session.exec(update(Notice).where(Notice.id.in_(notice_ids),
                                                Notice.status == NoticeStatus.PENDING)
                           .values(claimed_until=None, in_flight_at=None,
                                   in_flight_chat_id=None))


def outcome_unknown(notice: Notice) -> bool:
    """Whether the notice's last attempt was left without an outcome (counted once, at the
    claim that finds it: see `claim_due`)."""
    return notice.in_flight_at is not None


async def message_ids_taken(session: AsyncSession, message_ids: list[str]) -> set[str]:
    """Which of these platform message ids a notice already has."""
    if not message_ids:
        return set()
    rows = await session.exec(select(Notice.provider_message_id).where(
        Notice.provider_message_id.in_(message_ids)))
    return set(rows.all())
