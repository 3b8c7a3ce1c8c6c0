"""A worker's requests: confirm (reserve the fund, route, tell whom it concerns), cancel,
move. Every status change is one conditional update plus an event row, in one transaction."""

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlmodel import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import fund
from models.base import RequestStatus, Role
from models.calendar import availability, local, to_utc
from models.outbox import queue_for_role
from models.routing import give_back_capacity, route
from models.tables import Municipality, Organisation, RequestEvent, Service, ServiceRequest


@dataclass(frozen=True)
class Draft:
    """What the worker chose in the dialogue, before confirming."""

    service_id: int
    municipality_id: int
    day: date
    start: time
    address: str
    notes: str | None


@dataclass(frozen=True)
class Confirmation:
    """The outcome of confirming. `request` is None only when the fund's contribution
    changed under the worker's feet (`quote` then holds the new one to show)."""

    request: ServiceRequest | None
    quote: fund.Quote
    provider_name: str | None = None


async def record(session: AsyncSession, request: ServiceRequest, actor_id: int | None,
                 from_status: str | None, to_status: str, reason: str, now: datetime) -> None:
    session.add(RequestEvent(request_id=request.id, actor_id=actor_id, from_status=from_status,
                             to_status=to_status, reason=reason[:500], at=now))


async def transition(session: AsyncSession, request: ServiceRequest, to_status: RequestStatus,
                     *, expected: tuple[str, ...], actor_id: int | None, reason: str,
                     now: datetime, **changes) -> bool:
    """Move the request only if its status is still one of `expected` (one statement)."""
    result = await session.exec(
        update(ServiceRequest)
        .where(ServiceRequest.id == request.id, ServiceRequest.status.in_(expected))
        .values(status=str(to_status), updated_at=now, **changes))
    if result.rowcount != 1:
        return False
    from_status = request.status
    await session.refresh(request)
    await record(session, request, actor_id, from_status, str(to_status), reason, now)
    return True


async def confirm(session: AsyncSession, worker_id: int, draft: Draft, shown: fund.Quote,
                  now: datetime) -> Confirmation:
    service = await session.get(Service, draft.service_id)
    current = await fund.quote(session, worker_id, service, draft.day.year)
    if current != shown:
        return Confirmation(None, current)
    request = ServiceRequest(
        worker_id=worker_id, service_id=service.id, municipality_id=draft.municipality_id,
        starts_at=to_utc(draft.day, draft.start), duration_minutes=service.duration_minutes,
        address=draft.address, notes=draft.notes, status=str(RequestStatus.PENDING),
        price_cents=shown.price_cents, fund_cents=shown.fund_cents, created_at=now,
        updated_at=now)
    session.add(request)
    await session.flush()
    if not await fund.reserve(session, request, shown.fund_cents, draft.day.year, now):
        await session.delete(request)
        await session.flush()
        return Confirmation(None, await fund.quote(session, worker_id, service, draft.day.year))
    await record(session, request, worker_id, None, RequestStatus.PENDING,
                 "confermata dal lavoratore", now)
    provider = await _route_or_flag(session, request, service, draft.day, draft.start, now)
    return Confirmation(request, shown, provider)


async def _route_or_flag(session: AsyncSession, request: ServiceRequest, service: Service,
                         day: date, start: time, now: datetime) -> str | None:
    """Route the request; if nobody can serve it, mark it unserved and tell the coordinator."""
    slots = await availability(session, service, request.municipality_id, [day])
    decision = await route(session, slots, day, start)
    if decision is None:
        await transition(session, request, RequestStatus.UNSERVED,
                         expected=(request.status,), actor_id=None,
                         reason="nessuna cooperativa disponibile", now=now,
                         provider_id=None, offering_id=None)
        place = await session.get(Municipality, request.municipality_id)
        await queue_for_role(
            session, Role.COORDINATOR, kind="coordinator.unserved",
            params={"request_id": request.id, "service_id": service.id,
                    "place": place.name, "starts_at": request.starts_at.isoformat()},
            dedupe_key=f"unserved:{request.id}:{request.starts_at.isoformat()}", now=now)
        return None
    request.provider_id = decision.offering.provider_id
    request.offering_id = decision.offering.id
    session.add(request)
    await record(session, request, None, request.status, request.status,
                 f"assegnata: {decision.reason}", now)
    return (await session.get(Organisation, request.provider_id)).name


async def cancel(session: AsyncSession, request: ServiceRequest, actor_id: int, reason: str,
                 now: datetime) -> bool:
    day = local(request.starts_at).date()
    offering_id = request.offering_id
    if not await transition(session, request, RequestStatus.CANCELLED,
                            expected=RequestStatus.open(), actor_id=actor_id,
                            reason=f"annullata: {reason}", now=now):
        return False
    await give_back_capacity(session, offering_id, day)
    await fund.release(session, request, now)
    return True


class NotMovable(Exception):
    """The request is no longer in a status that can be moved (taken, done, cancelled)."""


async def move(session: AsyncSession, request: ServiceRequest, actor_id: int, day: date,
               start: time, now: datetime) -> str | None:
    """Move a not-yet-taken request to another slot and route it again. Returns the new
    cooperative's name, or None if nobody can serve the new slot (coordinator told)."""
    if request.status not in (RequestStatus.PENDING, RequestStatus.UNSERVED):
        raise NotMovable(request.status)
    old_day, old_offering = local(request.starts_at).date(), request.offering_id
    before = local(request.starts_at).strftime("%d/%m %H:%M")
    moved = await transition(
        session, request, RequestStatus.PENDING, expected=(request.status,), actor_id=actor_id,
        reason=f"spostata da {before} a {day:%d/%m} {start:%H:%M}", now=now,
        starts_at=to_utc(day, start), provider_id=None, offering_id=None)
    if not moved:
        raise NotMovable(request.status)
    await give_back_capacity(session, old_offering, old_day)
    service = await session.get(Service, request.service_id)
    return await _route_or_flag(session, request, service, day, start, now)


async def requests_of(session: AsyncSession, worker_id: int, *, open_only: bool = False,
                      limit: int = 10) -> list[ServiceRequest]:
    query = select(ServiceRequest).where(ServiceRequest.worker_id == worker_id)
    if open_only:
        query = query.where(ServiceRequest.status.in_(RequestStatus.open()))
    query = query.order_by(ServiceRequest.starts_at.desc()).limit(limit)
    return list((await session.exec(query)).all())


async def events_of(session: AsyncSession, request_id: int) -> list[RequestEvent]:
    query = select(RequestEvent).where(RequestEvent.request_id == request_id)
    return list((await session.exec(query.order_by(RequestEvent.id))).all())
