"""Which cooperative serves a request: among the offerings able to serve that service,
place and time with capacity left, the least loaded cooperative that day wins, then the one
chosen least recently (a fair rotation). Capacity is taken with a conditional update."""

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import func
from sqlmodel import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import RequestStatus
from models.calendar import ROME, Availability, to_utc
from models.db import insert_ignoring_duplicates
from models.tables import CapacityUse, Offering, Organisation, ServiceRequest


@dataclass(frozen=True)
class Decision:
    offering: Offering
    reason: str


async def _day_load(session: AsyncSession, provider_ids: list[int], day: date) -> dict[int, int]:
    start, end = to_utc(day, time(0)), to_utc(day, time(23, 59, 59))
    rows = await session.exec(
        select(ServiceRequest.provider_id, func.count())
        .where(ServiceRequest.provider_id.in_(provider_ids),
               ServiceRequest.status.in_(RequestStatus.open()),
               ServiceRequest.starts_at.between(start, end))
        .group_by(ServiceRequest.provider_id))
    return dict(rows.all())


async def _last_chosen(session: AsyncSession, provider_ids: list[int]) -> dict[int, datetime]:
    rows = await session.exec(
        select(ServiceRequest.provider_id, func.max(ServiceRequest.created_at))
        .where(ServiceRequest.provider_id.in_(provider_ids))
        .group_by(ServiceRequest.provider_id))
    return dict(rows.all())


async def rank(session: AsyncSession, offerings: list[Offering], day: date) -> list[Decision]:
    """Candidates in order of preference, each with the reason it stands where it does."""
    providers = [o.provider_id for o in offerings]
    load = await _day_load(session, providers, day)
    last = await _last_chosen(session, providers)
    names = {o.id: o.name for o in (await session.exec(
        select(Organisation).where(Organisation.id.in_(providers)))).all()}
    never = datetime.min.replace(tzinfo=ROME)
    ordered = sorted(offerings, key=lambda o: (load.get(o.provider_id, 0),
                                               last.get(o.provider_id) or never, o.provider_id))
    summary = ", ".join(f"{names[o.provider_id]} (carico {load.get(o.provider_id, 0)})"
                        for o in ordered)
    return [Decision(o, f"candidate: {summary}; scelta: {names[o.provider_id]}")
            for o in ordered]


async def take_capacity(session: AsyncSession, offering: Offering, day: date) -> bool:
    await session.exec(insert_ignoring_duplicates(
        session, CapacityUse, offering_id=offering.id, day=day, used=0))
    taken = await session.exec(
        update(CapacityUse)
        .where(CapacityUse.offering_id == offering.id, CapacityUse.day == day,
               CapacityUse.used < offering.daily_capacity)
        .values(used=CapacityUse.used + 1))
    return taken.rowcount == 1


async def give_back_capacity(session: AsyncSession, offering_id: int | None, day: date) -> None:
    if offering_id is None:
        return
    await session.exec(
        update(CapacityUse)
        .where(CapacityUse.offering_id == offering_id, CapacityUse.day == day,
               CapacityUse.used > 0)
        .values(used=CapacityUse.used - 1))


async def take_best(session: AsyncSession, offerings: list[Offering],
                    day: date) -> Decision | None:
    """Take capacity from the best of `offerings` that still has some; None if none has."""
    for decision in await rank(session, offerings, day):
        if await take_capacity(session, decision.offering, day):
            return decision
    return None


async def route(session: AsyncSession, availability: Availability, day: date,
                start: time) -> Decision | None:
    """Pick and take capacity from the best candidate; None when nobody can serve."""
    return await take_best(session, availability.candidates(day, start), day)
