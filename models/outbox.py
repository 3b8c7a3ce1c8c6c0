"""The outbox, and the one owner of a notice's life: every change to a notice's status,
its hold, its claim, its in-flight mark, its attempts and its delivery news is made here
and nowhere else (tests/test_notice_owner.py checks it).

A notice is queued in the same transaction as the change that caused it (once per
dedupe key), claimed by a dispatcher with a lease, marked in flight just before it is
handed to a channel, and given the outcome the dispatcher reports: sent, "later", failed
(transiently, with back-off, or for good), held (with the caller's reason, an opaque
string), or still unknown. Afterwards a channel's delivery news moves it forward; a
chat that shows notices itself (the console) marks it shown. Held notices are released
when their person writes again, is switched on again, or first gets the role they were
waiting for. The store knows no channel by name: what a platform's statuses and error
codes mean is decided by its adapter (bot/), which reports it in these terms."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import people
from models.base import NoticeStatus, Role
from models.db import insert_ignoring_duplicates
from models.tables import ChatIdentity, Notice, Person

MAX_ATTEMPTS = 8
MAX_UNKNOWN_RESENDS = 1  # with no way to ask the platform, re-sent at most once
WAITING = (NoticeStatus.PENDING, NoticeStatus.HELD)
REASON_LENGTH = 40  # Notice.held_reason
ERROR_LENGTH = 500  # Notice.last_error
UNREACHABLE = "unreachable"  # held: the chat it went to cannot be reached, and no other


# --- queue ------------------------------------------------------------------------------

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
    holders = await people.people_with_role(session, role, organisation_id)
    for person in holders:
        await queue_notice(session, person_id=person.id, kind=kind, params=params,
                           dedupe_key=f"{dedupe_key}:{person.id}", now=now)
    if not holders:  # handed over to the first person enrolled with the role
        held_for = params if organisation_id is None \
            else {**params, "organisation_id": organisation_id}
        await queue_notice(session, person_id=None, audience=str(role), kind=kind,
                           params=held_for, dedupe_key=f"{dedupe_key}:held", now=now)
    return len(holders)


async def hand_over_held(session: AsyncSession, person: Person) -> None:
    """Notices queued for a role before anyone had it (the coordinator; a cooperative's
    operators, e.g. a low score's alert) now go to this person, the first to have it."""
    held = await session.exec(select(Notice).where(
        Notice.status == NoticeStatus.HELD, Notice.audience == person.role,
        Notice.person_id.is_(None)))
    for notice in held.all():
        if person.role == Role.OPERATOR \
                and notice.params.get("organisation_id") != person.organisation_id:
            continue
        notice.person_id = person.id
        notice.status = NoticeStatus.PENDING
        session.add(notice)


# --- claim, in flight, hand back ----------------------------------------------------------

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


# The dispatcher marks a notice just before handing it to a channel and clears the mark
# with the outcome. A mark found by a later claim means the process stopped mid-send.

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


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


# --- a claimed notice that is not sent ----------------------------------------------------

def hold(session: AsyncSession, notice: Notice, reason: str) -> None:
    """Not for now: the notice waits (with `reason`, the caller's own word) until it is
    released (see `release_held`)."""
    notice.status, notice.claimed_until = NoticeStatus.HELD, None
    notice.held_reason = reason[:REASON_LENGTH]
    session.add(notice)


def postpone(session: AsyncSession, notice: Notice, until: datetime, why: str) -> None:
    """Due again at `until` (not a failed attempt): e.g. its person has no chat yet."""
    notice.next_attempt_at, notice.claimed_until = until, None
    notice.last_error = why[:ERROR_LENGTH]
    session.add(notice)


def withdraw(session: AsyncSession, notice: Notice, why: str) -> None:
    """What the notice offered no longer stands (e.g. the job was cancelled): never sent."""
    notice.status, notice.claimed_until = NoticeStatus.WITHDRAWN, None
    notice.last_error = why[:ERROR_LENGTH]
    session.add(notice)


def give_up(session: AsyncSession, notice: Notice, why: str) -> None:
    """The notice fails for good (it cannot be rendered, its words were erased)."""
    notice.status, notice.claimed_until = NoticeStatus.FAILED, None
    notice.last_error = why[:ERROR_LENGTH]
    session.add(notice)


async def give_up_waiting(session: AsyncSession, person_id: int, why: str) -> None:
    """Every notice of this person not sent yet fails for good (they were erased)."""
    await session.exec(update(Notice).where(
        Notice.person_id == person_id, Notice.status.in_(WAITING))
        .values(status=NoticeStatus.FAILED, last_error=why[:ERROR_LENGTH]))


# --- the outcome of a send ----------------------------------------------------------------

@dataclass(frozen=True)
class Sent:
    """The platform took the notice (`status` "sent"), or it is already where the person
    reads it ("delivered": an inbox). `provider_message_id`: the platform's id for it."""

    status: str = NoticeStatus.SENT
    provider_message_id: str | None = None


@dataclass(frozen=True)
class Later:
    """The platform said "not now": due again in `seconds`, not a failed attempt. Also
    what a send whose outcome is still being found out gets (`outcome_known=False`)."""

    seconds: float


@dataclass(frozen=True)
class Failed:
    """A failed attempt: retried with back-off until MAX_ATTEMPTS, unless `permanent`."""

    permanent: bool = False


@dataclass(frozen=True)
class Held:
    """Not on any chat now: the notice waits until released, with `reason`."""

    reason: str


Outcome = Sent | Later | Failed | Held


async def record_attempt(session: AsyncSession, notice_id: int, outcome: Outcome, *,
                         channel: str, text: str | None, errors: str | None, now: datetime,
                         outcome_known: bool = True) -> None:
    """Record what an attempt on `channel` came to: the claim ends; the in-flight mark
    goes unless the outcome is still to be found out; `text` is the notice as rendered,
    `errors` why the chats tried failed (None clears an earlier error)."""
    notice = await session.get(Notice, notice_id)
    notice.claimed_until = None
    if outcome_known:
        notice.in_flight_at = notice.in_flight_chat_id = None
    notice.channel, notice.last_error, notice.rendered_text = channel, errors, text
    match outcome:
        case Held(reason):
            notice.status, notice.held_reason = NoticeStatus.HELD, reason[:REASON_LENGTH]
        case Sent(status, provider_message_id):
            notice.status, notice.sent_at = str(status), now
            notice.provider_message_id = provider_message_id
            notice.delivery_status = None  # a resend after a hold is a new message
        case Later(seconds):
            notice.next_attempt_at = now + timedelta(seconds=seconds)
        case Failed(permanent):
            notice.attempts += 1
            if permanent or notice.attempts >= MAX_ATTEMPTS:
                notice.status = NoticeStatus.FAILED
            else:
                notice.next_attempt_at = now + backoff(notice.attempts)
    session.add(notice)


async def message_ids_taken(session: AsyncSession, message_ids: list[str]) -> set[str]:
    """Which of these platform message ids a notice already has."""
    if not message_ids:
        return set()
    rows = await session.exec(select(Notice.provider_message_id).where(
        Notice.provider_message_id.in_(message_ids)))
    return set(rows.all())


async def settle_unknown_send(session: AsyncSession, notice_id: int, *, channel: str,
                              provider_message_id: str, now: datetime) -> bool:
    """News from `channel` of a message it sent for `notice_id` while the notice still
    waits for the outcome of a send: the send went through, so the notice is sent (as
    this message) and not sent again. False when there was nothing to settle."""
    changed = await session.exec(
        update(Notice)
        .where(Notice.id == notice_id, Notice.in_flight_at.is_not(None),
               Notice.provider_message_id.is_(None), Notice.status == NoticeStatus.PENDING)
        .values(status=NoticeStatus.SENT, sent_at=now, provider_message_id=provider_message_id,
                channel=channel, in_flight_at=None, in_flight_chat_id=None,
                claimed_until=None, last_error=None))
    return changed.rowcount > 0


# --- delivery news ------------------------------------------------------------------------

@dataclass(frozen=True)
class DeliveryReport:
    """A channel's news of a message it sent, in the store's terms. `status` is the
    platform's own word (kept as `delivery_status`); it is recorded only over a notice
    whose delivery status is none yet or one of `over` (so news arriving late or twice
    never moves a notice backwards). `arrived`: the person has it. Otherwise `failed`
    (the error to keep) makes the notice fail, or, with `hold`, wait for its person
    with that reason."""

    status: str
    over: tuple[str, ...]
    arrived: bool = False
    failed: str | None = None
    hold: str | None = None


async def record_delivery(session: AsyncSession, provider_message_id: str,
                          report: DeliveryReport) -> bool:
    """Record `report` on the notice sent as `provider_message_id`, if it moves it
    forward. One conditional UPDATE, so concurrent news cannot overtake each other.
    Whether a notice changed (False for unknown messages and stale news)."""
    values: dict[str, Any] = {"delivery_status": report.status}
    if report.arrived:
        values |= {"status": NoticeStatus.DELIVERED, "last_error": None}
    elif report.failed is not None and report.hold is not None:
        values |= {"status": NoticeStatus.HELD, "held_reason": report.hold[:REASON_LENGTH],
                   "last_error": report.failed[:ERROR_LENGTH]}
    elif report.failed is not None:
        values |= {"status": NoticeStatus.FAILED, "last_error": report.failed[:ERROR_LENGTH]}
    changed = await session.exec(
        update(Notice)
        .where(Notice.provider_message_id == provider_message_id,
               or_(Notice.delivery_status.is_(None),
                   Notice.delivery_status.in_(report.over)))
        .values(**values))
    return changed.rowcount > 0


async def reroute_unreachable(session: AsyncSession, provider_message_id: str,
                              now: datetime) -> None:
    """The chat the notice went to as `provider_message_id` cannot be reached: mark it
    (the digest lists people unreachable everywhere) and send the notice again, to the
    person's other chat if they have one, else when they next write."""
    notice = (await session.exec(select(Notice).where(
        Notice.provider_message_id == provider_message_id))).one()
    chats = (await session.exec(select(ChatIdentity).where(
        ChatIdentity.person_id == notice.person_id))).all()
    await people.mark_unreachable(
        session, [chat.id for chat in chats if chat.channel == notice.channel], now)
    elsewhere = any(chat.channel != notice.channel and people.usable(chat) for chat in chats)
    notice.status = NoticeStatus.PENDING if elsewhere else NoticeStatus.HELD
    notice.held_reason = None if elsewhere else UNREACHABLE
    notice.next_attempt_at, notice.claimed_until = now, None
    session.add(notice)


# --- held notices -------------------------------------------------------------------------

async def hold_pending(session: AsyncSession, person_id: int, reason: str) -> None:
    """Every notice of this person waiting to be sent waits instead (e.g. they were
    switched off), until `release_held(..., reason=reason)`."""
    await session.exec(update(Notice).where(
        Notice.person_id == person_id, Notice.status == NoticeStatus.PENDING)
        .values(status=NoticeStatus.HELD, held_reason=reason[:REASON_LENGTH],
                claimed_until=None))


async def release_held(session: AsyncSession, person_id: int, now: datetime, *,
                       reason: str | None = None) -> int:
    """The person's held notices (only those held for `reason`, when given) are due now:
    e.g. they wrote again, or were switched on again. Returns how many."""
    query = update(Notice).where(Notice.person_id == person_id,
                                 Notice.status == NoticeStatus.HELD)
    if reason is not None:
        query = query.where(Notice.held_reason == reason)
    released = await session.exec(query.values(
        status=NoticeStatus.PENDING, held_reason=None, next_attempt_at=now,
        claimed_until=None))
    return released.rowcount


# --- shown where the person reads it ------------------------------------------------------

async def unseen_notices(session: AsyncSession, person_id: int,
                         channel: str) -> list[Notice]:
    """The notices delivered into `channel`'s own inbox (the console's) not shown yet."""
    query = (select(Notice)
             .where(Notice.person_id == person_id, Notice.channel == channel,
                    Notice.status == NoticeStatus.DELIVERED, Notice.shown_at.is_(None))
             .order_by(Notice.id))
    return list((await session.exec(query)).all())


def mark_shown(session: AsyncSession, notice: Notice, now: datetime) -> None:
    notice.shown_at = now
    session.add(notice)
