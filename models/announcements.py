"""Announcements of the territory's conciliation initiatives (the programme's action 5).

A worker receives them only after saying yes («📣 Novità e iniziative» in the chat; the
default is no); they are asked once, after their first completed request. The coordinator
writes an announcement, chooses its audience (workers of some employers, in some
municipalities, or everyone) and sends it: one notice per worker who said yes, through the
outbox (each platform's limits; on WhatsApp outside the 24-hour window only with the
template of its own, `worker.announcement`, else held until the person writes)."""

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlparse

from sqlmodel import func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import record_change, require_coordinator
from models.base import NoticeStatus, OrgRole, Role
from models.catalog_rules import Invalid, Problem
from models.outbox import queue_notice
from models.tables import (
    Announcement,
    AnnouncementRecipient,
    Municipality,
    Notice,
    Organisation,
    Person,
)

KIND = "worker.announcement"
INVITE_KIND = "worker.news_invite"
LIMITS = {"title": 120, "body": 700, "link": 300}


async def set_opt_in(session: AsyncSession, person: Person, yes: bool, now: datetime) -> None:
    """The worker's answer: yes (announcements come) or no (they stop)."""
    person.news_asked_at = person.news_asked_at or now
    if person.news_opt_in != yes:
        person.news_opt_in, person.news_changed_at = yes, now
    session.add(person)


async def invite_once(session: AsyncSession, worker_id: int, now: datetime) -> bool:
    """After a worker's first completed request, ask them (once: a dedupe key) whether they
    want the announcements. False if they were asked or answered already."""
    asked = await session.exec(update(Person).where(
        Person.id == worker_id, Person.role == Role.WORKER, Person.news_asked_at.is_(None))
        .values(news_asked_at=now))
    if asked.rowcount != 1:
        return False
    await queue_notice(session, person_id=worker_id, kind=INVITE_KIND, params={},
                       choices=[{"key": "news.yes", "value": "news:yes"},
                                {"key": "news.no", "value": "news:no"}],
                       dedupe_key=f"news-invite:{worker_id}", now=now)
    return True


def _problems(title: str, body: str, link: str | None, employers: list[int],
              places: list[int], known_employers: set[int],
              known_places: set[int]) -> list[Problem]:
    problems = []
    for name, value in (("title", title), ("body", body)):
        if not value.strip():
            problems.append(Problem(name, "rules.required"))
        elif len(value) > LIMITS[name]:
            problems.append(Problem(name, "rules.too_long", {"limit": LIMITS[name]}))
    if link:
        parsed = urlparse(link)
        if parsed.scheme not in ("http", "https") or not parsed.netloc \
                or len(link) > LIMITS["link"] or any(ch.isspace() for ch in link):
            problems.append(Problem("link", "rules.link_format"))
    if set(employers) - known_employers:
        problems.append(Problem("employers", "rules.wrong_value"))
    if set(places) - known_places:
        problems.append(Problem("municipalities", "rules.wrong_value"))
    return problems


async def create(session: AsyncSession, actor: Person, *, title: str, body: str,
                 link: str | None, day: date | None, employer_ids: list[int],
                 municipality_ids: list[int], now: datetime) -> Announcement:
    """A draft announcement (not sent yet); Invalid with each field's problem."""
    require_coordinator(actor, "write an announcement")
    employers = {o.id for o in (await session.exec(select(Organisation))).all()
                 if OrgRole.EMPLOYER in o.roles}
    places = set((await session.exec(select(Municipality.id))).all())
    problems = _problems(title, body, link, employer_ids, municipality_ids, employers, places)
    if problems:
        raise Invalid(problems)
    row = Announcement(title=title.strip(), body=body.strip(), link=link or None, day=day,
                       employer_ids=sorted(set(employer_ids)),
                       municipality_ids=sorted(set(municipality_ids)), author_id=actor.id,
                       created_at=now)
    session.add(row)
    await session.flush()
    await record_change(session, actor, "announcement", row.id, "create", None,
                        {"title": row.title, "employers": row.employer_ids,
                         "municipalities": row.municipality_ids}, now)
    return row


def _audience(query, announcement: Announcement):
    if announcement.employer_ids:
        query = query.where(Person.organisation_id.in_(announcement.employer_ids))
    if announcement.municipality_ids:
        query = query.where(Person.last_municipality_id.in_(announcement.municipality_ids))
    return query


def _workers():
    return select(Person).where(Person.role == Role.WORKER, Person.active.is_(True),
                                Person.erased_at.is_(None))


async def audience_size(session: AsyncSession, announcement: Announcement) -> tuple[int, int]:
    """(workers in the audience, of whom said yes): what the coordinator sees before sending."""
    everyone = _audience(_workers(), announcement).subquery()
    total = (await session.exec(select(func.count()).select_from(everyone))).one()
    willing = (await session.exec(select(func.count()).select_from(
        _audience(_workers().where(Person.news_opt_in.is_(True)), announcement).subquery()
    ))).one()
    return total, willing


async def send(session: AsyncSession, actor: Person, announcement_id: int,
               now: datetime) -> int:
    """Queue the announcement for every worker of its audience who said yes; once only
    (a conditional update of `sent_at`). Returns how many notices were queued."""
    require_coordinator(actor, "send an announcement")
    claimed = await session.exec(update(Announcement).where(
        Announcement.id == announcement_id, Announcement.sent_at.is_(None))
        .values(sent_at=now))
    if claimed.rowcount != 1:
        return 0
    announcement = await session.get(Announcement, announcement_id)
    await session.refresh(announcement)
    recipients = (await session.exec(_audience(
        _workers().where(Person.news_opt_in.is_(True)), announcement)
        .order_by(Person.id))).all()
    params = {"announcement_id": announcement.id, "title": announcement.title,
              "body": announcement.body,
              "extra": "".join([f"\n📅 {announcement.day:%d/%m/%Y}" if announcement.day else "",
                                f"\n🔗 {announcement.link}" if announcement.link else ""])}
    for person in recipients:
        key = f"announcement:{announcement.id}:{person.id}"
        await queue_notice(session, person_id=person.id, kind=KIND, params=params,
                           dedupe_key=key, now=now)
        notice_id = (await session.exec(select(Notice.id).where(
            Notice.dedupe_key == key))).one()
        session.add(AnnouncementRecipient(announcement_id=announcement.id,
                                          person_id=person.id, notice_id=notice_id))
    await record_change(session, actor, "announcement", announcement.id, "send", None,
                        {"recipients": len(recipients)}, now)
    return len(recipients)


@dataclass(frozen=True)
class Counts:
    recipients: int
    waiting: int  # queued, not sent yet
    sent: int  # handed to a platform (sent, delivered or read)
    delivered: int
    read: int  # WhatsApp read receipts
    held: int
    failed: int
    opted_out_after: int


async def counts(session: AsyncSession, announcement: Announcement) -> Counts:
    rows = (await session.exec(
        select(Notice.status, Notice.delivery_status, Person.news_opt_in,
               Person.news_changed_at)
        .join(AnnouncementRecipient, AnnouncementRecipient.notice_id == Notice.id)
        .join(Person, Person.id == AnnouncementRecipient.person_id)
        .where(AnnouncementRecipient.announcement_id == announcement.id))).all()
    sent_states = {NoticeStatus.SENT, NoticeStatus.DELIVERED}
    return Counts(
        recipients=len(rows),
        waiting=sum(status == NoticeStatus.PENDING for status, *_ in rows),
        sent=sum(status in sent_states for status, *_ in rows),
        delivered=sum(status == NoticeStatus.DELIVERED or delivery in ("delivered", "read")
                      for status, delivery, *_ in rows),
        read=sum(delivery == "read" for _, delivery, *_ in rows),
        held=sum(status == NoticeStatus.HELD for status, *_ in rows),
        failed=sum(status == NoticeStatus.FAILED for status, *_ in rows),
        opted_out_after=sum(not yes and changed is not None and announcement.sent_at
                            is not None and changed > announcement.sent_at
                            for *_, yes, changed in rows))


async def listed(session: AsyncSession, limit: int = 50) -> list[Announcement]:
    return list((await session.exec(select(Announcement).order_by(
        Announcement.id.desc()).limit(limit))).all())


async def past_for(session: AsyncSession, person: Person, limit: int = 5) -> list[Announcement]:
    """The latest announcements sent to an audience this worker is in (whether or not they
    receive them): what «📣 Novità e iniziative» lists."""
    query = select(Announcement).where(Announcement.sent_at.is_not(None)) \
        .order_by(Announcement.sent_at.desc(), Announcement.id.desc())
    found = []
    for row in (await session.exec(query.limit(200))).all():
        if row.employer_ids and person.organisation_id not in row.employer_ids:
            continue
        if row.municipality_ids and person.last_municipality_id not in row.municipality_ids:
            continue
        found.append(row)
        if len(found) == limit:
            break
    return found


