"""Days and times a service can be booked: offerings' weekdays and hours, Italian public
holidays, and each offering's remaining daily capacity."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import CapacityUse, Offering, OfferingMunicipality, Service

ROME = ZoneInfo("Europe/Rome")
MIN_LEAD = timedelta(hours=2)  # nobody can be sent out in less than this
SLOT_STEP_MINUTES = 60


@lru_cache(maxsize=16)
def _italian_holidays(year: int) -> holidays.HolidayBase:
    return holidays.Italy(years=year)


def is_holiday(day: date) -> bool:
    return day in _italian_holidays(day.year)


def to_utc(day: date, start: time) -> datetime:
    return datetime.combine(day, start, tzinfo=ROME).astimezone(UTC)


def local(moment: datetime) -> datetime:
    return moment.astimezone(ROME)


@dataclass(frozen=True)
class Availability:
    """The offerings that could serve a service in a municipality, with what they have used."""

    service: Service
    offerings: tuple[Offering, ...]
    used: dict[tuple[int, date], int]

    def serves(self, offering: Offering, day: date, start: time) -> bool:
        if is_holiday(day) or day.isoweekday() not in offering.weekdays:
            return False
        end = datetime.combine(day, start) + timedelta(minutes=self.service.duration_minutes)
        if start < offering.opens or end > datetime.combine(day, offering.closes):
            return False
        return self.used.get((offering.id, day), 0) < offering.daily_capacity

    def candidates(self, day: date, start: time) -> list[Offering]:
        return [o for o in self.offerings if self.serves(o, day, start)]

    def starts(self, day: date, now: datetime) -> list[time]:
        """Start times on a day, on the hour grid of each offering, with capacity left."""
        earliest = local(now + MIN_LEAD).replace(tzinfo=None)
        found = set()
        for offering in self.offerings:
            moment = datetime.combine(day, offering.opens)
            while moment.time() <= offering.closes and moment.date() == day:
                if moment >= earliest and self.serves(offering, day, moment.time()):
                    found.add(moment.time())
                moment += timedelta(minutes=SLOT_STEP_MINUTES)
        return sorted(found)

    def open_days(self, now: datetime, horizon_days: int) -> list[date]:
        today = local(now).date()
        days = (today + timedelta(days=n) for n in range(horizon_days + 1))
        return [day for day in days if self.starts(day, now)]

    def accepts(self, day: date, start: time, now: datetime) -> bool:
        """A typed time need not be on the grid: any start the offerings can serve."""
        return to_utc(day, start) >= now + MIN_LEAD and bool(self.candidates(day, start))


async def availability(session: AsyncSession, service: Service, municipality_id: int,
                       days: Iterable[date] | None = None) -> Availability:
    query = (select(Offering)
             .join(OfferingMunicipality, OfferingMunicipality.offering_id == Offering.id)
             .where(Offering.service_id == service.id, Offering.active.is_(True),
                    OfferingMunicipality.municipality_id == municipality_id)
             .order_by(Offering.id))
    offerings = tuple((await session.exec(query)).all())
    used_query = select(CapacityUse).where(
        CapacityUse.offering_id.in_([o.id for o in offerings]))
    if days is not None:
        used_query = used_query.where(CapacityUse.day.in_(list(days)))
    used = {(u.offering_id, u.day): u.used for u in (await session.exec(used_query)).all()}
    return Availability(service, offerings, used)


WORK_OPENS, WORK_CLOSES = time(8), time(20)  # the cooperatives' office hours, Monday-Saturday


def is_working_day(day: date) -> bool:
    return day.isoweekday() <= 6 and not is_holiday(day)


def add_working_minutes(start: datetime, minutes: int) -> datetime:
    """`start` plus `minutes` counted only within office hours (Mon-Sat 08-20, Rome, no
    public holidays): an offer made on Saturday at 19:30 with 60 minutes to answer is
    due on Monday at 08:30."""
    moment = local(start).replace(tzinfo=None)
    left = timedelta(minutes=minutes)
    while True:
        day = moment.date()
        opens, closes = datetime.combine(day, WORK_OPENS), datetime.combine(day, WORK_CLOSES)
        if not is_working_day(day) or moment >= closes:
            moment = datetime.combine(day + timedelta(days=1), WORK_OPENS)
            continue
        moment = max(moment, opens)
        if moment + left <= closes:
            return (moment + left).replace(tzinfo=ROME).astimezone(UTC)
        left -= closes - moment
        moment = datetime.combine(day + timedelta(days=1), WORK_OPENS)


def parse_window(text: str) -> tuple[time, time]:
    """'21:00-08:00' → (21:00, 08:00); a window may run over midnight."""
    first, last = text.split("-")
    return time.fromisoformat(first), time.fromisoformat(last)


def in_window(moment: datetime, window: tuple[time, time]) -> bool:
    start, end = window
    clock = local(moment).time()
    return (start <= clock < end) if start < end else (clock >= start or clock < end)


def after_quiet(moment: datetime, quiet: tuple[time, time]) -> datetime:
    """`moment` if it is outside the quiet hours, else when they end (Europe/Rome)."""
    if not in_window(moment, quiet):
        return moment
    there = local(moment)
    end = datetime.combine(there.date(), quiet[1], tzinfo=ROME)
    if end <= there:
        end = datetime.combine(there.date() + timedelta(days=1), quiet[1], tzinfo=ROME)
    return end.astimezone(UTC)


def before(moment: datetime, hours: float) -> datetime:
    """`hours` before `moment`. Whole days are counted on the wall clock (a reminder 24
    hours before Monday 10:00 comes on Sunday at 10:00 even across a daylight-saving
    change); shorter offsets in real time."""
    if hours >= 24 and hours % 24 == 0:
        wall = local(moment).replace(tzinfo=None) - timedelta(hours=hours)
        return wall.replace(tzinfo=ROME).astimezone(UTC)
    return moment - timedelta(hours=hours)
