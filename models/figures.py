"""Read-only figures for the coordinator: the daily digest, figures for a period and the
indicators the region asks for. Every query aggregates in the database (GROUP BY over an
indexed time range) and hands back a few dozen rows at most, whatever the size of the
tables; nothing here changes the store or reads a name, an address, a note or a number.

Periods are local days (Europe/Rome): a day's boundaries are computed in Python as UTC
instants, so the same SQL works on SQLite and PostgreSQL and daylight saving is right.

Definitions used throughout:
- *received*: requests created in the period, counted under their status now;
- *done* and *hours delivered*: requests done in the period (by `done_at`), with the
  minutes the operator reported (the planned duration when none was reported);
- *estimated time saved*: see `Delivery.saved_minutes`;
- *uptake*: workers enrolled by the end of the period, and among them those who made at
  least one request in the period (whatever became of it);
- *men's share of care*: of the childcare and eldercare requests received in the period,
  the share made by workers who said they are men (the denominator counts every care
  request, including those of workers who did not say their gender);
- *pace of the fund*: see `Runway`.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, distinct, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import Category, NoticeStatus, OrgRole, RequestStatus, Role
from models.calendar import local, to_utc
from models.tables import (
    ChatIdentity,
    Fund,
    LedgerEntry,
    Municipality,
    Notice,
    Organisation,
    Person,
    Service,
    ServiceRequest,
    Survey,
)

CATEGORIES = tuple(str(c) for c in Category)
CARE = (str(Category.CHILDCARE), str(Category.ELDERCARE))
STATUSES = tuple(str(s) for s in RequestStatus)
GENDERS = ("f", "m", "other", "none")  # "none": the worker preferred not to say
RECENT_DAYS = 30  # satisfaction, the fund's pace and the chart look this far back
RUNWAY_HORIZON_YEARS = 5  # a run-out date further away than this is not worth a date
MAX_SERIES_DAYS = 366


# --- the figures --------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """Local days first..last as a half-open range of UTC instants [start, end)."""

    start: datetime
    end: datetime

    @classmethod
    def of_days(cls, first: date, last: date) -> "Window":
        return cls(to_utc(first, time()), to_utc(last + timedelta(days=1), time()))


@dataclass(frozen=True)
class OrgLine:
    """One organisation (employer or cooperative) in a period: requests received (created
    in the period by its workers, or routed to it), jobs done in the period and the
    minutes delivered by those jobs."""

    code: str
    name: str
    received: int = 0
    done: int = 0
    minutes: int = 0

    @property
    def active(self) -> bool:
        return bool(self.received or self.done)


@dataclass(frozen=True)
class Uptake:
    """Workers enrolled by the end of the period and, of them, those who made at least
    one request in it. `key` is an organisation code or a gender (f, m, other, none)."""

    key: str
    name: str
    enrolled: int
    users: int

    @property
    def share(self) -> float | None:
        return self.users / self.enrolled if self.enrolled else None


@dataclass(frozen=True)
class Delivery:
    """Jobs of one category done in the period.

    `minutes`: service delivered (the operator's reported minutes).
    `saved_minutes`: estimated time saved for workers — for an errand, its planned
    duration (the catalogue's estimate of the time the worker would have spent doing it
    themselves, travel and queues included); for childcare and eldercare, the minutes of
    care delivered (time the worker did not have to spend caring, or to buy elsewhere)."""

    jobs: int = 0
    minutes: int = 0
    saved_minutes: int = 0


@dataclass(frozen=True)
class Satisfaction:
    """Surveys sent in the window; of them, those answered (at any time up to now), their
    average score (1-5), how many scored 1 or 2, and how many came with a comment (read
    in the web console's «Segnalazioni e questionari»)."""

    sent: int = 0
    answered: int = 0
    average: float | None = None
    low_scores: int = 0
    comments: int = 0

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None


@dataclass(frozen=True)
class FundFigures:
    """The fund now (total, reserved, committed, remaining) and what was committed in the
    period (ledger `commit` entries: money paid for jobs done)."""

    name: str
    total_cents: int
    reserved_cents: int
    committed_cents: int
    committed_in_period_cents: int

    @property
    def remaining_cents(self) -> int:
        return self.total_cents - self.reserved_cents - self.committed_cents


@dataclass(frozen=True)
class Runway:
    """How long the fund lasts at the pace of its recent spending.

    The remaining money shrinks when a request reserves its contribution and grows back
    when a reservation is released (cancelled, not done); a commit only turns reserved
    money into spent money. So the pace is (reserved − released) per day over the local
    days `since`..today: the days since the first spending, at most the last 30 (a new
    fund's first day of spending is one day's pace, not a thirtieth of a month's). The fund
    runs out on today + remaining / pace (rounded up): today when nothing is left; None
    when nothing was spent in the last 30 days, or when that is more than
    RUNWAY_HORIZON_YEARS away (`beyond_horizon`)."""

    daily_cents: int
    runs_out_on: date | None
    since: date | None = None
    beyond_horizon: bool = False


@dataclass(frozen=True)
class CareShare:
    """Childcare and eldercare requests received in the period and the distinct workers
    who made them, by gender (f, m, other, none)."""

    requests: dict[str, int]
    workers: dict[str, int]

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def men_share(self) -> float | None:
        """The programme's indicator of change: men's share of care requests."""
        total = self.total_requests
        return self.requests.get("m", 0) / total if total else None


@dataclass(frozen=True)
class Waiting:
    """Requests still waiting for an operator (pending, with the longest wait since the
    offer went out) and requests no cooperative could take whose time is still ahead."""

    pending: int
    longest_wait: timedelta | None
    unserved: int


class ReceivedAndDone:
    """Totals shared by the period's and the digest's figures: both hold `received`
    (status → category → count) and `delivered` (category → jobs done)."""

    received: dict[str, dict[str, int]]
    delivered: dict[str, "Delivery"]

    @property
    def total_received(self) -> int:
        return sum(sum(by_category.values()) for by_category in self.received.values())

    @property
    def received_by_category(self) -> dict[str, int]:
        return _by_category(self.received)

    @property
    def jobs_done(self) -> int:
        return sum(d.jobs for d in self.delivered.values())

    @property
    def delivered_minutes(self) -> int:
        return sum(d.minutes for d in self.delivered.values())


@dataclass(frozen=True)
class PeriodFigures(ReceivedAndDone):
    """Everything the coordinator can show for local days first..last (inclusive)."""

    first: date
    last: date
    received: dict[str, dict[str, int]]  # status → category → requests received
    by_municipality: dict[str, dict[str, int]]  # municipality → category → requests
    employers: list[OrgLine]  # by the worker's organisation
    cooperatives: list[OrgLine]  # by the cooperative the request was routed to
    uptake_by_employer: list[Uptake]
    uptake_by_gender: list[Uptake]
    delivered: dict[str, Delivery]  # category → jobs done in the period
    satisfaction: Satisfaction
    fund: FundFigures | None
    care: CareShare

    @property
    def saved_minutes(self) -> int:
        return sum(d.saved_minutes for d in self.delivered.values())

    @property
    def enrolled(self) -> int:
        return sum(u.enrolled for u in self.uptake_by_employer)

    @property
    def users(self) -> int:
        return sum(u.users for u in self.uptake_by_employer)


@dataclass(frozen=True)
class DigestFigures(ReceivedAndDone):
    """The coordinator's daily digest for one local day, as of `now`."""

    day: date
    received: dict[str, dict[str, int]]  # today's requests: status → category → count
    waiting: Waiting
    delivered: dict[str, Delivery]  # jobs done today
    satisfaction: Satisfaction  # surveys sent in the last 30 days
    fund: FundFigures | None  # committed_in_period: the last 30 days
    runway: Runway | None
    cooperatives: list[OrgLine]  # received today / done today
    employers: list[OrgLine]
    unreachable: int  # active people none of whose chats can be reached
    held_notices: int
    series: dict[str, list[int]] = field(default_factory=dict)  # last 30 days, per category


def _by_category(table: dict[str, dict[str, int]]) -> dict[str, int]:
    totals = dict.fromkeys(CATEGORIES, 0)
    for by_category in table.values():
        for category, count in by_category.items():
            totals[category] = totals.get(category, 0) + count
    return totals


# --- the public queries -------------------------------------------------------------------

async def period_figures(session: AsyncSession, first: date, last: date,
                         now: datetime) -> PeriodFigures:
    """The figures of local days first..last inclusive. `now` is the moment of
    extraction: requests are counted under their status now and the fund's balances are
    those of now (the store keeps no history of either); every count is by time range."""
    window = Window.of_days(first, last)
    orgs = await _organisations(session)
    received = await _received_rows(session, window)
    by_worker = await _received_by_worker_group(session, window)
    done = await _done_rows(session, window)
    enrolled = await _enrolled_rows(session, window.end)
    return PeriodFigures(
        first=first, last=last,
        received=_status_table(received),
        by_municipality=_municipality_table(received, await _municipality_names(session)),
        employers=_employer_lines(orgs, by_worker, done),
        cooperatives=_cooperative_lines(orgs, received, done),
        uptake_by_employer=_uptake_by_employer(orgs, enrolled, by_worker),
        uptake_by_gender=_uptake_by_gender(enrolled, by_worker),
        delivered=_deliveries(done),
        satisfaction=await _satisfaction(session, window),
        fund=await _period_fund(session, window),
        care=_care_share(by_worker),
    )


async def digest_figures(session: AsyncSession, day: date, now: datetime) -> DigestFigures:
    """Today's digest (see the module's definitions); the last 30 days end at `now`."""
    today = Window.of_days(day, day)
    recent = Window(now - timedelta(days=RECENT_DAYS), now)
    orgs = await _organisations(session)
    received = await _received_rows(session, today)
    done = await _done_rows(session, today)
    fund_row = await _the_fund(session)
    moved = {} if fund_row is None else await _ledger_sums(session, fund_row.id, recent)
    return DigestFigures(
        day=day,
        received=_status_table(received),
        waiting=await _waiting(session, now),
        delivered=_deliveries(done),
        satisfaction=await _satisfaction(session, recent),
        fund=None if fund_row is None else _fund_figures(fund_row, moved),
        runway=None if fund_row is None else await _runway(session, fund_row, now),
        cooperatives=[line for line in _cooperative_lines(orgs, received, done) if line.active],
        employers=[line for line in _employer_lines(
            orgs, await _received_by_worker_group(session, today), done) if line.active],
        unreachable=await _unreachable_people(session),
        held_notices=await _held_notices(session),
        series=await daily_series(session, day, RECENT_DAYS),
    )


async def daily_series(session: AsyncSession, last_day: date,
                       days: int = RECENT_DAYS) -> dict[str, list[int]]:
    """Requests received per local day, per category, for the `days` days ending on
    `last_day` (oldest first; zeros for empty days; every category present)."""
    if not 1 <= days <= MAX_SERIES_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_SERIES_DAYS}")
    first_day = last_day - timedelta(days=days - 1)
    bounds = [to_utc(first_day + timedelta(days=n), time()) for n in range(days + 1)]
    created = ServiceRequest.created_at
    # day index by comparing with each local midnight: portable, and right across DST
    bucket = case(*((created < bounds[n + 1], n) for n in range(days - 1)), else_=days - 1)
    inner = (select(bucket.label("day"), Service.category.label("category"))
             .join(Service, Service.id == ServiceRequest.service_id)
             .where(created >= bounds[0], created < bounds[-1])
             .subquery())
    query = (select(inner.c.day, inner.c.category, func.count())
             .group_by(inner.c.day, inner.c.category))
    series = {category: [0] * days for category in CATEGORIES}
    for day_index, category, count in (await session.exec(query)).all():
        series.setdefault(category, [0] * days)[day_index] = count
    return series


# --- the queries behind them --------------------------------------------------------------

async def _organisations(session: AsyncSession) -> dict[int, Organisation]:
    return {org.id: org for org in (await session.exec(select(Organisation))).all()}


async def _municipality_names(session: AsyncSession) -> dict[int, str]:
    rows = await session.exec(select(Municipality.id, Municipality.name))
    return dict(rows.all())


def _received_in(window: Window):
    return and_(ServiceRequest.created_at >= window.start, ServiceRequest.created_at < window.end)


async def _received_rows(session: AsyncSession, window: Window) -> list[tuple]:
    """(status, category, municipality_id, provider_id, requests) for requests received."""
    query = (select(ServiceRequest.status, Service.category, ServiceRequest.municipality_id,
                    ServiceRequest.provider_id, func.count())
             .join(Service, Service.id == ServiceRequest.service_id)
             .where(_received_in(window))
             .group_by(ServiceRequest.status, Service.category,
                       ServiceRequest.municipality_id, ServiceRequest.provider_id))
    return list((await session.exec(query)).all())


async def _received_by_worker_group(session: AsyncSession, window: Window) -> list[tuple]:
    """(employer id, gender, requests, workers, care requests, workers with care requests)
    for requests received. Requests are first summed per worker (one hash aggregate, no
    COUNT DISTINCT), then per employer and gender; a worker has one employer and one
    gender, so the worker counts add up across the groups."""
    is_care = case((Service.category.in_(CARE), 1), else_=0)
    per_worker = (select(ServiceRequest.worker_id.label("worker_id"),
                         func.count().label("requests"), func.sum(is_care).label("care"))
                  .join(Service, Service.id == ServiceRequest.service_id)
                  .where(_received_in(window))
                  .group_by(ServiceRequest.worker_id)
                  .subquery())
    cares = case((per_worker.c.care > 0, 1), else_=0)
    query = (select(Person.organisation_id, Person.gender, func.sum(per_worker.c.requests),
                    func.count(), func.sum(per_worker.c.care), func.sum(cares))
             .join(per_worker, per_worker.c.worker_id == Person.id)
             .group_by(Person.organisation_id, Person.gender))
    return [(employer, gender, int(requests), workers, int(care), int(care_workers))
            for employer, gender, requests, workers, care, care_workers
            in (await session.exec(query)).all()]


async def _done_rows(session: AsyncSession, window: Window) -> list[tuple]:
    """(cooperative id, employer id, category, jobs, minutes delivered, minutes saved) for
    the requests done in the window (see `Delivery` for the minutes saved)."""
    delivered = func.coalesce(ServiceRequest.actual_minutes, ServiceRequest.duration_minutes)
    saved = case((Service.category == str(Category.ERRAND), ServiceRequest.duration_minutes),
                 else_=delivered)
    query = (select(ServiceRequest.provider_id, Person.organisation_id, Service.category,
                    func.count(), func.sum(delivered), func.sum(saved))
             .join(Service, Service.id == ServiceRequest.service_id)
             .join(Person, Person.id == ServiceRequest.worker_id)
             .where(ServiceRequest.status == str(RequestStatus.DONE),
                    ServiceRequest.done_at >= window.start, ServiceRequest.done_at < window.end)
             .group_by(ServiceRequest.provider_id, Person.organisation_id, Service.category))
    return list((await session.exec(query)).all())


async def _enrolled_rows(session: AsyncSession, before: datetime) -> list[tuple]:
    """(employer id, gender, workers) enrolled before `before`."""
    query = (select(Person.organisation_id, Person.gender, func.count())
             .where(Person.role == str(Role.WORKER), Person.created_at < before)
             .group_by(Person.organisation_id, Person.gender))
    return list((await session.exec(query)).all())


async def _satisfaction(session: AsyncSession, window: Window) -> Satisfaction:
    low = func.sum(case((Survey.score <= 2, 1), else_=0))
    commented = func.sum(case((and_(Survey.comment.is_not(None), Survey.comment != ""), 1),
                              else_=0))
    query = (select(func.count(), func.count(Survey.answered_at), func.avg(Survey.score), low,
                    commented)
             .where(Survey.sent_at >= window.start, Survey.sent_at < window.end))
    sent, answered, average, low_scores, comments = (await session.exec(query)).one()
    return Satisfaction(sent, answered, None if average is None else float(average),
                        low_scores or 0, comments or 0)


async def _ledger_sums(session: AsyncSession, fund_id: int, window: Window) -> dict[str, int]:
    """Ledger movements in the window: kind (reserve, release, commit) → cents."""
    query = (select(LedgerEntry.kind, func.sum(LedgerEntry.amount_cents))
             .where(LedgerEntry.fund_id == fund_id, LedgerEntry.at >= window.start,
                    LedgerEntry.at < window.end)
             .group_by(LedgerEntry.kind))
    return {kind: int(total or 0) for kind, total in (await session.exec(query)).all()}


async def _the_fund(session: AsyncSession) -> Fund | None:
    return (await session.exec(select(Fund).order_by(Fund.id))).first()


def _fund_figures(fund: Fund, moved: dict[str, int]) -> FundFigures:
    """The fund now, with what was committed in the window the `moved` sums cover."""
    return FundFigures(fund.name, fund.total_cents, fund.reserved_cents, fund.committed_cents,
                       moved.get("commit", 0))


async def _period_fund(session: AsyncSession, window: Window) -> FundFigures | None:
    fund = await _the_fund(session)
    if fund is None:
        return None
    return _fund_figures(fund, await _ledger_sums(session, fund.id, window))


async def _first_spending(session: AsyncSession, fund_id: int) -> datetime | None:
    return (await session.exec(select(func.min(LedgerEntry.at)).where(
        LedgerEntry.fund_id == fund_id, LedgerEntry.kind == "reserve"))).one()


async def _runway(session: AsyncSession, fund: Fund, now: datetime) -> Runway:
    """The fund's run-out date at its pace since the first spending, at most the last 30
    local days (see `Runway`)."""
    first = await _first_spending(session, fund.id)
    if first is None:
        return Runway(0, None)
    today = local(now).date()
    since = max(local(first).date(), today - timedelta(days=RECENT_DAYS - 1))
    moved = await _ledger_sums(session, fund.id, Window(to_utc(since, time()), now))
    promised = moved.get("reserve", 0) - moved.get("release", 0)
    remaining = fund.total_cents - fund.reserved_cents - fund.committed_cents
    return runway(remaining, promised, (today - since).days + 1, today)


def runway(remaining_cents: int, promised_cents: int, days: int, today: date) -> Runway:
    """The run-out date at the pace of `promised_cents` over the `days` local days ending
    today (see `Runway`)."""
    if promised_cents <= 0:
        return Runway(0, None)
    daily = promised_cents / days
    since = today - timedelta(days=days - 1)
    days_left = math.ceil(max(remaining_cents, 0) / daily)
    if days_left > RUNWAY_HORIZON_YEARS * 365.25:
        return Runway(round(daily), None, since, beyond_horizon=True)
    return Runway(round(daily), today + timedelta(days=days_left), since)


async def _waiting(session: AsyncSession, now: datetime) -> Waiting:
    """Pending requests, and unserved ones still ahead, in one pass over the index on
    (status, starts_at)."""
    is_pending = ServiceRequest.status == str(RequestStatus.PENDING)
    unserved_ahead = and_(ServiceRequest.status == str(RequestStatus.UNSERVED),
                          ServiceRequest.starts_at >= now)
    query = (select(func.sum(case((is_pending, 1), else_=0)),
                    func.min(case((is_pending, ServiceRequest.offered_at))),
                    func.sum(case((is_pending, 0), else_=1)))
             .where(or_(is_pending, unserved_ahead)))
    pending, oldest, unserved = (await session.exec(query)).one()
    return Waiting(pending or 0, None if oldest is None else max(now - oldest, timedelta()),
                   unserved or 0)


async def _unreachable_people(session: AsyncSession) -> int:
    """Active people with at least one chat lost (unreachable or opted out) and no chat
    left that can be reached."""
    lost = or_(ChatIdentity.unreachable_at.is_not(None), ChatIdentity.opted_out_at.is_not(None))
    usable = aliased(ChatIdentity)
    still_reachable = (select(usable.id)
                       .where(usable.person_id == ChatIdentity.person_id,
                              usable.unreachable_at.is_(None), usable.opted_out_at.is_(None))
                       .exists())
    query = (select(func.count(distinct(ChatIdentity.person_id)))
             .join(Person, Person.id == ChatIdentity.person_id)
             .where(lost, ~still_reachable, Person.active.is_(True), Person.erased_at.is_(None)))
    return (await session.exec(query)).one()


async def _held_notices(session: AsyncSession) -> int:
    """Notices held for want of a recipient (e.g. no coordinator enrolled yet); those held
    for a known person (outside WhatsApp's window, opted out) wait on that person."""
    return (await session.exec(select(func.count()).where(
        Notice.status == str(NoticeStatus.HELD), Notice.person_id.is_(None)))).one()


# --- from rows to figures -----------------------------------------------------------------

def _gender(value: str | None) -> str:
    return value if value in GENDERS else ("none" if value is None else "other")


def _status_table(received: list[tuple]) -> dict[str, dict[str, int]]:
    table = {status: dict.fromkeys(CATEGORIES, 0) for status in STATUSES}
    for status, category, _place, _provider, count in received:
        row = table.setdefault(status, dict.fromkeys(CATEGORIES, 0))
        row[category] = row.get(category, 0) + count
    return table


def _municipality_table(received: list[tuple],
                        names: dict[int, str]) -> dict[str, dict[str, int]]:
    """Municipalities with requests, busiest first."""
    table: dict[str, dict[str, int]] = {}
    for _status, category, place_id, _provider, count in received:
        row = table.setdefault(names.get(place_id, str(place_id)), dict.fromkeys(CATEGORIES, 0))
        row[category] = row.get(category, 0) + count
    return dict(sorted(table.items(), key=lambda item: (-sum(item[1].values()), item[0])))


def _deliveries(done: list[tuple]) -> dict[str, Delivery]:
    sums = {category: [0, 0, 0] for category in CATEGORIES}
    for _provider, _employer, category, jobs, minutes, saved in done:
        totals = sums.setdefault(category, [0, 0, 0])
        totals[0] += jobs
        totals[1] += int(minutes or 0)
        totals[2] += int(saved or 0)
    return {category: Delivery(*totals) for category, totals in sums.items()}


def _lines(orgs: dict[int, Organisation], role: OrgRole, received: dict[int, int],
           done: dict[int, list[int]]) -> list[OrgLine]:
    """A line for every organisation with `role` and for any other that had activity."""
    ids = {i for i, org in orgs.items() if role in org.roles} | set(received) | set(done)
    lines = []
    for org_id in ids:
        org = orgs.get(org_id)
        jobs, minutes = done.get(org_id, (0, 0))
        lines.append(OrgLine(org.code if org else str(org_id), org.name if org else "?",
                             received.get(org_id, 0), jobs, minutes))
    return sorted(lines, key=lambda line: line.name.casefold())


def _done_by(done: list[tuple], position: int) -> dict[int, list[int]]:
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for row in done:
        if row[position] is not None:
            sums[row[position]][0] += row[3]
            sums[row[position]][1] += int(row[4] or 0)
    return dict(sums)


def _care_share(by_worker: list[tuple]) -> CareShare:
    requests, workers = dict.fromkeys(GENDERS, 0), dict.fromkeys(GENDERS, 0)
    for _employer, gender, _requests, _users, care, care_workers in by_worker:
        requests[_gender(gender)] += care
        workers[_gender(gender)] += care_workers
    return CareShare(requests, workers)


def _employer_lines(orgs: dict[int, Organisation], by_worker: list[tuple],
                    done: list[tuple]) -> list[OrgLine]:
    received: dict[int, int] = defaultdict(int)
    for employer_id, _gender_value, requests, *_workers in by_worker:
        received[employer_id] += requests
    return _lines(orgs, OrgRole.EMPLOYER, received, _done_by(done, 1))


def _cooperative_lines(orgs: dict[int, Organisation], received_rows: list[tuple],
                       done: list[tuple]) -> list[OrgLine]:
    received: dict[int, int] = defaultdict(int)
    for _status, _category, _place, provider_id, count in received_rows:
        if provider_id is not None:
            received[provider_id] += count
    return _lines(orgs, OrgRole.PROVIDER, received, _done_by(done, 0))


def _uptake_by_employer(orgs: dict[int, Organisation], enrolled: list[tuple],
                        by_worker: list[tuple]) -> list[Uptake]:
    # every employer appears, even with nobody enrolled yet
    counts = {i: [0, 0] for i, org in orgs.items() if OrgRole.EMPLOYER in org.roles}
    for employer_id, _gender_value, workers in enrolled:
        counts.setdefault(employer_id, [0, 0])[0] += workers
    for employer_id, _gender_value, _requests, users, *_care in by_worker:
        counts.setdefault(employer_id, [0, 0])[1] += users
    lines = []
    for org_id, (enrolled_count, users) in counts.items():
        org = orgs.get(org_id)
        lines.append(Uptake(org.code if org else str(org_id), org.name if org else "?",
                            enrolled_count, users))
    return sorted(lines, key=lambda line: line.name.casefold())


def _uptake_by_gender(enrolled: list[tuple], by_worker: list[tuple]) -> list[Uptake]:
    counts = {gender: [0, 0] for gender in GENDERS}
    for _employer, gender, workers in enrolled:
        counts[_gender(gender)][0] += workers
    for _employer, gender, _requests, users, *_care in by_worker:
        counts[_gender(gender)][1] += users
    return [Uptake(gender, gender, enrolled_count, users)
            for gender, (enrolled_count, users) in counts.items()]
