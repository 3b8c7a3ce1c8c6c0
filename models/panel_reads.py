"""Read-only queries behind the web console's pages (bot/panel/): lists with filters, a
request with everything that happened to it, complaints and surveys, the fund's ledger,
the audit, and the counts a partner's contact may see. The figures themselves (dashboard,
digest, exports) come from models/figures.py; nothing here changes the store.

Lists never count the whole table: they fetch one row more than a page to know whether
there is a next one, so a page costs the same on a year of a million requests."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, literal, or_
from sqlalchemy.orm import aliased
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import RequestStatus, Role
from models.calendar import local, to_utc
from models.figures import CATEGORIES, GENDERS, Window
from models.tables import (
    ChangeEvent,
    Fund,
    LedgerEntry,
    Municipality,
    Offer,
    Organisation,
    Person,
    RelayMessage,
    RequestEvent,
    Service,
    ServiceRequest,
    Survey,
    WorkerFundUse,
)

PAGE_SIZE = 50
OPEN = tuple(str(s) for s in RequestStatus.open())


# --- requests -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestFilters:
    """What the requests list is narrowed to; None = any. `provider_id` is forced to the
    contact's own cooperative by the page, whatever the form says."""

    status: str | None = None
    category: str | None = None
    provider_id: int | None = None
    employer_id: int | None = None
    municipality_id: int | None = None
    first: date | None = None  # received from this local day…
    last: date | None = None  # …to this one, inclusive
    number: int | None = None


@dataclass(frozen=True)
class RequestRow:
    id: int
    status: str
    category: str
    service_it: str
    service_en: str
    municipality: str
    starts_at: datetime
    created_at: datetime
    provider: str | None
    employer: str | None
    fund_cents: int
    complaint: bool


@dataclass(frozen=True)
class RequestPage:
    rows: list[RequestRow]
    page: int
    has_next: bool


async def list_requests(session: AsyncSession, filters: RequestFilters, page: int = 1,
                        size: int = PAGE_SIZE) -> RequestPage:
    """Requests newest first, narrowed by `filters`, one page of `size`."""
    provider, employer = aliased(Organisation), aliased(Organisation)
    query = (select(ServiceRequest.id, ServiceRequest.status, Service.category, Service.name_it,
                    Service.name_en, Municipality.name, ServiceRequest.starts_at,
                    ServiceRequest.created_at, provider.name, employer.name,
                    ServiceRequest.fund_cents, ServiceRequest.complaint_at.is_not(None))
             .join(Service, Service.id == ServiceRequest.service_id)
             .join(Municipality, Municipality.id == ServiceRequest.municipality_id)
             .join(Person, Person.id == ServiceRequest.worker_id)
             .join(employer, employer.id == Person.organisation_id)
             .outerjoin(provider, provider.id == ServiceRequest.provider_id))
    query = query.where(*_conditions(filters))
    page = max(page, 1)
    query = (query.order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
             .offset((page - 1) * size).limit(size + 1))
    rows = [RequestRow(*row[:11], bool(row[11])) for row in (await session.exec(query)).all()]
    return RequestPage(rows[:size], page, len(rows) > size)


def _conditions(filters: RequestFilters) -> list:
    conditions = []
    if filters.number is not None:
        conditions.append(ServiceRequest.id == filters.number)
    if filters.status:
        conditions.append(ServiceRequest.status == filters.status)
    if filters.category:
        conditions.append(Service.category == filters.category)
    if filters.provider_id is not None:
        conditions.append(ServiceRequest.provider_id == filters.provider_id)
    if filters.employer_id is not None:
        conditions.append(Person.organisation_id == filters.employer_id)
    if filters.municipality_id is not None:
        conditions.append(ServiceRequest.municipality_id == filters.municipality_id)
    if filters.first is not None:
        conditions.append(ServiceRequest.created_at >= to_utc(filters.first, time()))
    if filters.last is not None:
        conditions.append(ServiceRequest.created_at
                          < to_utc(filters.last + timedelta(days=1), time()))
    return conditions


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "event" (a status change or a note on the request), "change" (console)
    actor: str | None
    actor_role: str | None
    from_status: str | None = None
    to_status: str | None = None
    reason: str = ""
    action: str | None = None
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OfferLine:
    operator: str
    round: int
    kind: str
    status: str
    created_at: datetime
    answered_at: datetime | None


@dataclass(frozen=True)
class RequestDetail:
    request: ServiceRequest
    service: Service
    municipality: str
    provider: Organisation | None
    operator_name: str | None
    worker_name: str | None
    employer: str | None
    timeline: list[TimelineEntry]
    offers: list[OfferLine]
    ledger: list[LedgerEntry]
    survey: Survey | None
    relay: list[tuple[RelayMessage, str, str]]  # message, sender's name, sender's side


async def request_detail(session: AsyncSession, request: ServiceRequest, *,
                         with_relay: bool) -> RequestDetail:
    """A request's page: its facts, timeline (events and console actions, oldest first),
    offers, fund movements, survey, and — when `with_relay` (a complaint opened it, or the
    staff wrote to the worker) — the messages passed on about it."""
    service = await session.get(Service, request.service_id)
    place = await session.get(Municipality, request.municipality_id)
    provider = await session.get(Organisation, request.provider_id) \
        if request.provider_id else None
    operator = await session.get(Person, request.operator_id) if request.operator_id else None
    worker = await session.get(Person, request.worker_id)
    employer = await session.get(Organisation, worker.organisation_id) if worker else None
    names = await _people(session)
    timeline = [TimelineEntry(e.at, "event", *names.get(e.actor_id, (None, None)),
                              e.from_status, e.to_status, e.reason)
                for e in (await session.exec(select(RequestEvent).where(
                    RequestEvent.request_id == request.id).order_by(RequestEvent.id))).all()]
    changes = (await session.exec(select(ChangeEvent).where(
        ChangeEvent.subject == "request", ChangeEvent.subject_key == str(request.id))
        .order_by(ChangeEvent.id))).all()
    timeline += [TimelineEntry(c.at, "change", *names.get(c.actor_id, (None, None)),
                               action=c.action,
                               detail={"before": c.before or {}, "after": c.after or {}})
                 for c in changes]
    timeline.sort(key=lambda entry: (entry.at, entry.kind))
    offers = [OfferLine(names.get(o.operator_id, ("—", None))[0] or "—", o.round, o.kind,
                        o.status, o.created_at, o.answered_at)
              for o in (await session.exec(select(Offer).where(
                  Offer.request_id == request.id).order_by(Offer.id))).all()]
    ledger = list((await session.exec(select(LedgerEntry).where(
        LedgerEntry.request_id == request.id).order_by(LedgerEntry.id))).all())
    survey = (await session.exec(select(Survey).where(
        Survey.request_id == request.id))).first()
    relay = []
    if with_relay:
        for message in (await session.exec(select(RelayMessage).where(
                RelayMessage.request_id == request.id).order_by(RelayMessage.id))).all():
            name, role = names.get(message.sender_id, (None, None))
            side = "worker" if message.sender_id == request.worker_id else (role or "operator")
            relay.append((message, name or "—", side))
    return RequestDetail(request, service, place.name, provider,
                         operator.first_name if operator else None,
                         worker.first_name if worker else None,
                         employer.name if employer else None, timeline, offers, ledger,
                         survey, relay)


async def _people(session: AsyncSession) -> dict[int, tuple[str | None, str]]:
    """Every person's first name and role (a few hundred rows in this programme)."""
    rows = await session.exec(select(Person.id, Person.first_name, Person.role))
    return {person_id: (name, role) for person_id, name, role in rows.all()}


async def choices(session: AsyncSession) -> dict[str, list[tuple[int, str]]]:
    """The lists the filters offer: cooperatives, employers, municipalities."""
    orgs = (await session.exec(select(Organisation).order_by(Organisation.name))).all()
    places = (await session.exec(select(Municipality.id, Municipality.name)
                                 .order_by(Municipality.name))).all()
    return {"cooperatives": [(o.id, o.name) for o in orgs if "provider" in o.roles],
            "employers": [(o.id, o.name) for o in orgs if "employer" in o.roles],
            "municipalities": [(i, n) for i, n in places]}


async def first_request_day(session: AsyncSession) -> date | None:
    """The local day of the first request received (the programme's start, for figures)."""
    first = (await session.exec(select(func.min(ServiceRequest.created_at)))).one()
    return None if first is None else local(first).date()


# --- complaints and surveys ---------------------------------------------------------------

@dataclass(frozen=True)
class FeedbackRow:
    """A complaint, or a survey answer with a low score or a comment, about one job."""

    request_id: int
    category: str
    service_it: str
    service_en: str
    provider: str | None
    operator: str | None
    complaint: str | None
    complaint_at: datetime | None
    handled_at: datetime | None
    handled_note: str | None
    score: int | None
    comment: str | None
    answered_at: datetime | None


async def feedback(session: AsyncSession, *, provider_id: int | None = None,
                   open_only: bool = False, limit: int = 200) -> list[FeedbackRow]:
    """Complaints and surveys that say something (a score of 1–2, or a comment), newest
    first; of one cooperative when `provider_id` is given."""
    operator = aliased(Person)
    has_something = or_(ServiceRequest.complaint_at.is_not(None), Survey.score <= 2,
                        and_(Survey.comment.is_not(None), Survey.comment != ""))
    query = (select(ServiceRequest.id, Service.category, Service.name_it, Service.name_en,
                    Organisation.name, operator.first_name, ServiceRequest.complaint,
                    ServiceRequest.complaint_at, ServiceRequest.complaint_handled_at,
                    ServiceRequest.complaint_note, Survey.score, Survey.comment,
                    Survey.answered_at)
             .join(Service, Service.id == ServiceRequest.service_id)
             .outerjoin(Survey, Survey.request_id == ServiceRequest.id)
             .outerjoin(Organisation, Organisation.id == ServiceRequest.provider_id)
             .outerjoin(operator, operator.id == ServiceRequest.operator_id)
             .where(has_something))
    if provider_id is not None:
        query = query.where(ServiceRequest.provider_id == provider_id)
    if open_only:
        query = query.where(ServiceRequest.complaint_at.is_not(None),
                            ServiceRequest.complaint_handled_at.is_(None))
    newest = func.coalesce(ServiceRequest.complaint_at, Survey.answered_at)
    query = query.order_by(newest.desc(), ServiceRequest.id.desc()).limit(limit)
    return [FeedbackRow(*row) for row in (await session.exec(query)).all()]


@dataclass(frozen=True)
class ProviderSatisfaction:
    sent: int
    answered: int
    average: float | None
    low: int
    complaints: int


async def provider_satisfaction(session: AsyncSession, provider_id: int) -> ProviderSatisfaction:
    sent, answered, average, low = (await session.exec(
        select(func.count(Survey.sent_at), func.count(Survey.answered_at), func.avg(Survey.score),
               func.sum(case((Survey.score <= 2, 1), else_=0)))
        .where(Survey.provider_id == provider_id))).one()
    complaints = (await session.exec(select(func.count()).select_from(ServiceRequest).where(
        ServiceRequest.provider_id == provider_id,
        ServiceRequest.complaint_at.is_not(None)))).one()
    return ProviderSatisfaction(sent, answered, None if average is None else float(average),
                                low or 0, complaints)


@dataclass(frozen=True)
class OperatorLine:
    name: str
    active: bool
    since: datetime
    assigned: int
    done: int


async def operators_of(session: AsyncSession, provider_id: int) -> list[OperatorLine]:
    """A cooperative's operators with the jobs they hold and have done."""
    done = func.sum(case((ServiceRequest.status == str(RequestStatus.DONE), 1), else_=0))
    held = func.sum(case((ServiceRequest.status == str(RequestStatus.ASSIGNED), 1), else_=0))
    query = (select(Person.first_name, Person.active, Person.created_at,
                    func.coalesce(held, 0), func.coalesce(done, 0))
             .outerjoin(ServiceRequest, ServiceRequest.operator_id == Person.id)
             .where(Person.role == str(Role.OPERATOR), Person.organisation_id == provider_id,
                    Person.erased_at.is_(None))
             .group_by(Person.id, Person.first_name, Person.active, Person.created_at)
             .order_by(Person.first_name))
    return [OperatorLine(name or "—", active, since, int(assigned), int(jobs))
            for name, active, since, assigned, jobs in (await session.exec(query)).all()]


# --- the fund -----------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerPage:
    rows: list[LedgerEntry]
    totals: dict[str, int]  # kind → cents, over every row the filters select
    page: int
    has_next: bool


async def ledger(session: AsyncSession, fund_id: int, *, kind: str | None = None,
                 first: date | None = None, last: date | None = None,
                 request_id: int | None = None, page: int = 1,
                 size: int = PAGE_SIZE) -> LedgerPage:
    conditions = [LedgerEntry.fund_id == fund_id]
    if kind:
        conditions.append(LedgerEntry.kind == kind)
    if first is not None:
        conditions.append(LedgerEntry.at >= to_utc(first, time()))
    if last is not None:
        conditions.append(LedgerEntry.at < to_utc(last + timedelta(days=1), time()))
    if request_id is not None:
        conditions.append(LedgerEntry.request_id == request_id)
    totals = dict((await session.exec(
        select(LedgerEntry.kind, func.sum(LedgerEntry.amount_cents)).where(*conditions)
        .group_by(LedgerEntry.kind))).all())
    page = max(page, 1)
    rows = list((await session.exec(
        select(LedgerEntry).where(*conditions)
        .order_by(LedgerEntry.at.desc(), LedgerEntry.id.desc())
        .offset((page - 1) * size).limit(size + 1))).all())
    return LedgerPage(rows[:size], {k: int(v or 0) for k, v in totals.items()}, page,
                      len(rows) > size)


async def all_ledger(session: AsyncSession, fund_id: int, first: date | None,
                     last: date | None) -> list[tuple]:
    """Every movement in the period, oldest first, for the CSV: (at, kind, cents, request,
    service code)."""
    conditions = [LedgerEntry.fund_id == fund_id]
    if first is not None:
        conditions.append(LedgerEntry.at >= to_utc(first, time()))
    if last is not None:
        conditions.append(LedgerEntry.at < to_utc(last + timedelta(days=1), time()))
    query = (select(LedgerEntry.id, LedgerEntry.at, LedgerEntry.kind, LedgerEntry.amount_cents,
                    LedgerEntry.request_id, Service.code)
             .outerjoin(ServiceRequest, ServiceRequest.id == LedgerEntry.request_id)
             .outerjoin(Service, Service.id == ServiceRequest.service_id)
             .where(*conditions).order_by(LedgerEntry.at, LedgerEntry.id))
    return list((await session.exec(query)).all())


@dataclass(frozen=True)
class CapLine:
    worker: str | None
    employer: str
    used_cents: int


async def cap_use(session: AsyncSession, fund_id: int, year: int,
                  limit: int = 200) -> list[CapLine]:
    """What the fund has reserved or paid per worker this year, the most first."""
    query = (select(Person.first_name, Organisation.name, WorkerFundUse.used_cents)
             .join(Person, Person.id == WorkerFundUse.person_id)
             .join(Organisation, Organisation.id == Person.organisation_id)
             .where(WorkerFundUse.fund_id == fund_id, WorkerFundUse.year == year,
                    WorkerFundUse.used_cents > 0)
             .order_by(WorkerFundUse.used_cents.desc()).limit(limit))
    return [CapLine(*row) for row in (await session.exec(query)).all()]


async def reserved_by(session: AsyncSession, limit: int = 200) -> list[tuple]:
    """Open requests holding money of the fund: (id, status, starts_at, cents, service)."""
    query = (select(ServiceRequest.id, ServiceRequest.status, ServiceRequest.starts_at,
                    ServiceRequest.fund_cents, Service.name_it, Service.name_en)
             .join(Service, Service.id == ServiceRequest.service_id)
             .where(ServiceRequest.status.in_(OPEN), ServiceRequest.fund_cents > 0)
             .order_by(ServiceRequest.starts_at).limit(limit))
    return list((await session.exec(query)).all())


async def fund_used_by_day(session: AsyncSession, fund: Fund, first: date, last: date,
                           now: datetime) -> list[int]:
    """Money of the fund promised (reserved or committed) at the end of each local day
    first..last. Worked backwards from the fund's running totals now, so only the
    movements since `first` are read, not the whole ledger: a reservation adds to it, a
    release takes it back, a commit only turns reserved money into spent money."""
    days = (last - first).days + 1
    bounds = [to_utc(first + timedelta(days=n), time()) for n in range(days + 1)]
    bounds.append(max(now, bounds[-1]) + timedelta(microseconds=1))  # …and since then
    signed = case((LedgerEntry.kind == "reserve", LedgerEntry.amount_cents),
                  (LedgerEntry.kind == "release", -LedgerEntry.amount_cents), else_=0)
    sub = (select(_bucket(LedgerEntry.at, bounds).label("day"), signed.label("cents"))
           .select_from(LedgerEntry)
           .where(LedgerEntry.fund_id == fund.id, LedgerEntry.at >= bounds[0],
                  LedgerEntry.at < bounds[-1])
           .subquery())
    moved = [0] * (days + 1)  # per day, then what moved after the last day
    for day, cents in (await session.exec(select(sub.c.day, func.sum(sub.c.cents))
                                          .group_by(sub.c.day))).all():
        moved[day] = int(cents or 0)
    used = [0] * days
    running = fund.reserved_cents + fund.committed_cents - moved[days]
    for day in range(days - 1, -1, -1):
        used[day] = running
        running -= moved[day]
    return used


def _bucket(column, bounds: list[datetime]):
    """The index of the interval [bounds[n], bounds[n+1]) a moment falls in (the caller
    keeps to bounds[0] <= column < bounds[-1]): portable SQL, right across DST."""
    intervals = len(bounds) - 1
    if intervals == 1:
        return literal(0)
    return case(*((column < bounds[n + 1], n) for n in range(intervals - 1)),
                else_=intervals - 1)


# --- the audit ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ActivityPage:
    rows: list[tuple[ChangeEvent, str | None]]  # the change, its actor's first name
    page: int
    has_next: bool


async def activity(session: AsyncSession, page: int = 1, size: int = PAGE_SIZE,
                   subject: str | None = None) -> ActivityPage:
    """Changes made by staff (console actions, catalogue, fund, sign-ins), newest first."""
    query = (select(ChangeEvent, Person.first_name)
             .outerjoin(Person, Person.id == ChangeEvent.actor_id))
    if subject:
        query = query.where(ChangeEvent.subject == subject)
    page = max(page, 1)
    rows = list((await session.exec(query.order_by(ChangeEvent.id.desc())
                                    .offset((page - 1) * size).limit(size + 1))).all())
    return ActivityPage([(change, name) for change, name in rows[:size]], page,
                        len(rows) > size)


# --- an employer's counts -----------------------------------------------------------------

@dataclass(frozen=True)
class EmployerCounts:
    """An employer's workers: enrolled (by gender), those who used the service in the
    period (by gender), and the requests they made, by month and category. Counts only."""

    enrolled: dict[str, int]
    users: dict[str, int]
    by_month: dict[str, dict[str, int]]  # "2026-11" → category → requests


async def employer_counts(session: AsyncSession, employer_id: int, first: date,
                          last: date) -> EmployerCounts:
    window = Window.of_days(first, last)
    enrolled = dict.fromkeys(GENDERS, 0)
    for gender, count in (await session.exec(
            select(Person.gender, func.count()).where(
                Person.role == str(Role.WORKER), Person.organisation_id == employer_id,
                Person.created_at < window.end).group_by(Person.gender))).all():
        enrolled[_gender(gender)] += count
    received = and_(ServiceRequest.created_at >= window.start,
                    ServiceRequest.created_at < window.end)
    per_worker = (select(ServiceRequest.worker_id.label("worker_id"))
                  .join(Person, Person.id == ServiceRequest.worker_id)
                  .where(received, Person.organisation_id == employer_id)
                  .group_by(ServiceRequest.worker_id).subquery())
    users = dict.fromkeys(GENDERS, 0)
    for gender, count in (await session.exec(
            select(Person.gender, func.count()).join(per_worker, per_worker.c.worker_id
                                                     == Person.id)
            .group_by(Person.gender))).all():
        users[_gender(gender)] += count
    months = _month_starts(first, last)
    bounds = [to_utc(month, time()) for month in months]
    bounds[0], bounds[-1] = window.start, window.end
    sub = (select(_bucket(ServiceRequest.created_at, bounds).label("month"),
                  Service.category.label("category"))
           .select_from(ServiceRequest)
           .join(Service, Service.id == ServiceRequest.service_id)
           .join(Person, Person.id == ServiceRequest.worker_id)
           .where(received, Person.organisation_id == employer_id)
           .subquery())
    by_month = {month.strftime("%Y-%m"): dict.fromkeys(CATEGORIES, 0) for month in months[:-1]}
    labels = list(by_month)
    for month, category, count in (await session.exec(
            select(sub.c.month, sub.c.category, func.count())
            .group_by(sub.c.month, sub.c.category))).all():
        by_month[labels[month]][category] = count
    return EmployerCounts(enrolled, users, by_month)


def _month_starts(first: date, last: date) -> list[date]:
    """The first day of each month first..last, and of the month after."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return [*months, month]


def _gender(value: str | None) -> str:
    return value if value in GENDERS else ("none" if value is None else "other")
