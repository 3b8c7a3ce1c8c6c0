"""A worker's requests: confirm (reserve the fund, route, offer to the operators), cancel,
move. Every status change is one conditional update plus an event row, in one transaction,
with the notices it causes."""

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import fund
from models.base import RequestStatus, Role
from models.calendar import availability, local, to_utc
from models.lifecycle import close_open_offers, record, transition
from models.offers import NotAllowed, send_offers
from models.outbox import queue_for_role, queue_notice
from models.routing import give_back_capacity, route, take_best
from models.tables import Municipality, Organisation, Person, RequestEvent, Service, ServiceRequest

CANCELLED = "annullata"  # a cancellation's event reads "annullata: <why the worker gave>"


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
    if provider is not None:
        await send_offers(session, request, now)
    return Confirmation(request, shown, provider)


async def _route_or_flag(session: AsyncSession, request: ServiceRequest, service: Service,
                         day: date, start: time, now: datetime,
                         prefer_provider: int | None = None) -> str | None:
    """Route the request (keeping `prefer_provider` when it can still serve); if nobody
    can serve it, mark it unserved and tell the coordinator. Returns the cooperative."""
    slots = await availability(session, service, request.municipality_id, [day])
    preferred = [o for o in slots.candidates(day, start) if o.provider_id == prefer_provider]
    decision = await take_best(session, preferred, day) or await route(session, slots, day,
                                                                        start)
    if decision is None:
        await transition(session, request, RequestStatus.UNSERVED,
                         expected=(request.status,), actor_id=None,
                         reason="nessuna cooperativa disponibile", now=now,
                         provider_id=None, offering_id=None, offered_at=None)
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


async def flag_unmet_demand(session: AsyncSession, service_id: int, municipality_id: int,
                            reason: str, now: datetime) -> None:
    """A worker wanted a service where no cooperative offers it (`reason` "not_offered") or
    none has room in the coming days ("fully_booked"): the coordinator is told, once a day
    per service and municipality, so unmet demand is seen."""
    place = await session.get(Municipality, municipality_id)
    await queue_for_role(
        session, Role.COORDINATOR, kind=f"coordinator.unmet_{reason}",
        params={"service_id": service_id, "place": place.name},
        dedupe_key=f"unmet:{service_id}:{municipality_id}:{local(now):%Y%m%d}", now=now)


async def cancel(session: AsyncSession, request: ServiceRequest, actor_id: int, reason: str,
                 now: datetime) -> bool:
    day = local(request.starts_at).date()
    offering_id, operator_id = request.offering_id, request.operator_id
    if not await transition(session, request, RequestStatus.CANCELLED,
                            expected=RequestStatus.open(), actor_id=actor_id,
                            reason=f"{CANCELLED}: {reason}", now=now):
        return False
    await close_open_offers(session, request.id, now)
    await give_back_capacity(session, offering_id, day)
    await fund.release(session, request, now)
    if operator_id is not None:
        await queue_notice(session, person_id=operator_id, kind="operator.cancelled",
                           params={"request_id": request.id},
                           dedupe_key=f"cancelled:{request.id}", now=now)
    return True


async def confirm_attendance(session: AsyncSession, request: ServiceRequest, worker: Person,
                             now: datetime) -> None:
    """The worker confirmed from a reminder that the service is still wanted: an event on
    the request, and the operator who took it is told (once)."""
    await record(session, request, worker.id, request.status, request.status,
                 "confermata dal lavoratore dopo il promemoria", now)
    if request.operator_id is not None:
        await queue_notice(session, person_id=request.operator_id,
                           kind="operator.worker_confirmed", params={"request_id": request.id},
                           dedupe_key=f"worker-confirmed:{request.id}:{request.starts_at:%Y%m%d%H%M}",
                           now=now)


class NotMovable(Exception):
    """The request is no longer in a status that can be moved (done, cancelled)."""


async def move(session: AsyncSession, request: ServiceRequest, actor_id: int, day: date,
               start: time, now: datetime) -> str | None:
    """Move a request to another slot. A taken job is first offered back to its operator
    for the new slot (then to their colleagues if they cannot); any other is routed and
    offered again. Returns the cooperative's name, or None if nobody can serve the slot."""
    if request.status not in RequestStatus.open():
        raise NotMovable(request.status)
    old_day, old_offering = local(request.starts_at).date(), request.offering_id
    previous_provider, previous_operator = request.provider_id, request.operator_id
    before = local(request.starts_at).strftime("%d/%m %H:%M")
    moved = await transition(
        session, request, RequestStatus.PENDING, expected=(request.status,), actor_id=actor_id,
        reason=f"spostata da {before} a {day:%d/%m} {start:%H:%M}", now=now,
        starts_at=to_utc(day, start), provider_id=None, offering_id=None, operator_id=None,
        offered_at=None, tried_provider_ids=[])
    if not moved:
        raise NotMovable(request.status)
    await close_open_offers(session, request.id, now)
    await give_back_capacity(session, old_offering, old_day)
    service = await session.get(Service, request.service_id)
    provider = await _route_or_flag(session, request, service, day, start, now,
                                    prefer_provider=previous_provider)
    if previous_operator and request.provider_id != previous_provider:
        # the new slot went to another cooperative (or to nobody): the job is no longer theirs
        await queue_notice(session, person_id=previous_operator, kind="operator.moved_away",
                           params={"request_id": request.id},
                           dedupe_key=f"moved-away:{request.id}:{request.offer_round}",
                           now=now)
    if provider is None:
        return None
    if previous_operator and request.provider_id == previous_provider:
        await send_offers(session, request, now, kind="move", only=[previous_operator])
    else:
        await send_offers(session, request, now)
    return provider


async def requests_of(session: AsyncSession, worker_id: int, *, open_only: bool = False,
                      limit: int = 15) -> list[ServiceRequest]:
    """A worker's requests, at most `limit`: the open ones first, soonest first, then
    (unless `open_only`) the ended ones, latest first."""
    mine = select(ServiceRequest).where(ServiceRequest.worker_id == worker_id)
    open_ones = list((await session.exec(
        mine.where(ServiceRequest.status.in_(RequestStatus.open()))
        .order_by(ServiceRequest.starts_at).limit(limit))).all())
    if open_only or len(open_ones) >= limit:
        return open_ones
    ended = (await session.exec(
        mine.where(ServiceRequest.status.not_in(RequestStatus.open()))
        .order_by(ServiceRequest.starts_at.desc()).limit(limit - len(open_ones)))).all()
    return [*open_ones, *ended]


async def events_of(session: AsyncSession, request_id: int) -> list[RequestEvent]:
    query = select(RequestEvent).where(RequestEvent.request_id == request_id)
    return list((await session.exec(query.order_by(RequestEvent.id))).all())


async def own_request(session: AsyncSession, request_id: int,
                      worker: Person) -> ServiceRequest:
    """The request if it is this worker's; NotAllowed (logged) otherwise."""
    request = await session.get(ServiceRequest, request_id)
    if request is None or request.worker_id != worker.id:
        raise NotAllowed(worker, f"act on request {request_id} of someone else")
    return request


async def service_and_place(session: AsyncSession,
                            request: ServiceRequest) -> tuple[Service, Municipality]:
    """What a request is for and where: its public facts beside time and duration."""
    return (await session.get(Service, request.service_id),
            await session.get(Municipality, request.municipality_id))
