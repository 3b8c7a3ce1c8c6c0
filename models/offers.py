"""Offering a job to the operators of the cooperative it was routed to: first accept wins,
declines and silence escalate to the next cooperative, and when nobody can, to the
coordinator. Every step is an event on the request and queues the notices it causes."""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import RequestStatus, Role
from models.calendar import add_working_minutes, availability, local
from models.lifecycle import close_open_offers, record, transition
from models.outbox import queue_for_role, queue_notice
from models.people import people_with_role
from models.routing import give_back_capacity, take_best
from models.tables import Offer, Organisation, Person, Service, ServiceRequest

security = logging.getLogger("intempo.security")


class NotAllowed(Exception):
    """Someone tried to act on a job or request that is not theirs: refused and logged."""

    def __init__(self, who: Person | None, what: str):
        super().__init__(what)
        security.warning("refused: person %s tried to %s", who.id if who else None, what)


def offer_choices(offer: Offer) -> list[dict[str, str]]:
    prefix = "move" if offer.kind == "move" else "offer"
    return [{"key": f"{prefix}.accept", "value": f"offer:accept:{offer.id}"},
            {"key": f"{prefix}.decline", "value": f"offer:decline:{offer.id}"}]


async def send_offers(session: AsyncSession, request: ServiceRequest, now: datetime, *,
                      kind: str = "new", only: list[int] | None = None,
                      exclude: set[int] = frozenset()) -> int:
    """Start a new round of offers to the active operators of the request's cooperative
    (or to `only` those). When a colleague is excluded and nobody else is left, the
    request escalates at once; a cooperative with no operator in the bot yet gets the
    usual time to answer (the clock escalates it then)."""
    operators = await people_with_role(session, Role.OPERATOR, request.provider_id)
    chosen = [p for p in operators if p.id not in exclude and (only is None or p.id in only)]
    request.offer_round += 1
    request.offered_at = now
    session.add(request)
    if not chosen and exclude:
        await escalate(session, request, "nessun altro operatore nella cooperativa", now)
        return 0
    for operator in chosen:
        offer = Offer(request_id=request.id, operator_id=operator.id, round=request.offer_round,
                      kind=kind, created_at=now)
        session.add(offer)
        await session.flush()
        await queue_notice(session, person_id=operator.id, kind=f"operator.{kind}_offer",
                           params={"request_id": request.id}, choices=offer_choices(offer),
                           dedupe_key=f"offer:{offer.id}", now=now)
    await record(session, request, None, request.status, request.status,
                 f"offerta a {len(chosen)} operatori (giro {request.offer_round})", now)
    return len(chosen)


@dataclass(frozen=True)
class Answer:
    """What became of an operator's answer: `won`/`declined`, or why it changed nothing:
    `taken` (a colleague was faster) or `closed` (the offer no longer stands)."""

    outcome: str
    request: ServiceRequest


async def _own_offer(session: AsyncSession, offer_id: int, operator: Person) -> Offer:
    offer = await session.get(Offer, offer_id)
    if offer is None or offer.operator_id != operator.id:
        raise NotAllowed(operator, f"answer offer {offer_id} of someone else")
    return offer


async def accept(session: AsyncSession, offer_id: int, operator: Person,
                 now: datetime) -> Answer:
    offer = await _own_offer(session, offer_id, operator)
    request = await session.get(ServiceRequest, offer.request_id)
    if request.provider_id != operator.organisation_id:
        raise NotAllowed(operator, f"take request {request.id} of another cooperative")
    if offer.status != "open":
        taken = request.operator_id not in (None, operator.id)
        return Answer("taken" if taken else "closed", request)
    won = await transition(session, request, RequestStatus.ASSIGNED,
                           expected=(RequestStatus.PENDING,), actor_id=operator.id,
                           reason=f"presa da {operator.first_name}", now=now,
                           operator_id=operator.id)
    offer.status, offer.answered_at = ("accepted" if won else "closed"), now
    session.add(offer)
    if not won:
        return Answer("taken", request)
    for colleague, their_offer in await close_open_offers(session, request.id, now):
        # "withdraws": the offer's own message stops offering where the chat allows it
        await queue_notice(session, person_id=colleague, kind="operator.taken",
                           params={"request_id": request.id,
                                   "withdraws": f"offer:{their_offer}"},
                           dedupe_key=f"taken:{request.id}:{request.offer_round}:{colleague}",
                           now=now)
    provider = await session.get(Organisation, request.provider_id)
    await queue_notice(session, person_id=request.worker_id, kind="worker.assigned",
                       params={"request_id": request.id, "provider": provider.name,
                               "operator": operator.first_name or ""},
                       dedupe_key=f"assigned:{request.id}:{request.offer_round}", now=now)
    return Answer("won", request)


async def decline(session: AsyncSession, offer_id: int, operator: Person,
                  now: datetime) -> Answer:
    offer = await _own_offer(session, offer_id, operator)
    # the request's row is locked so that two last declines at once see each other's
    request = (await session.exec(
        select(ServiceRequest).where(ServiceRequest.id == offer.request_id)
        .with_for_update().execution_options(populate_existing=True))).one()
    await session.refresh(offer)
    if offer.status != "open":
        return Answer("closed", request)
    offer.status, offer.answered_at = "declined", now
    session.add(offer)
    await session.flush()
    await record(session, request, operator.id, request.status, request.status,
                 f"rifiutata da {operator.first_name}", now)
    still_open = (await session.exec(select(Offer.id).where(
        Offer.request_id == request.id, Offer.status == "open"))).first()
    if still_open is None and request.status == RequestStatus.PENDING:
        if offer.kind == "move":  # the assigned operator cannot do the new slot
            await send_offers(session, request, now, exclude={operator.id})
        else:
            await escalate(session, request, "tutti gli operatori hanno rifiutato", now)
    return Answer("declined", request)


async def escalate(session: AsyncSession, request: ServiceRequest, reason: str,
                   now: datetime) -> str | None:
    """Hand the request to the next cooperative able to serve it; when none can, mark it
    unserved and tell the coordinator and the worker. Returns the new cooperative's name."""
    await close_open_offers(session, request.id, now)
    tried = sorted({*request.tried_provider_ids, request.provider_id} - {None})
    service = await session.get(Service, request.service_id)
    start = local(request.starts_at)
    slots = await availability(session, service, request.municipality_id, [start.date()])
    candidates = [] if request.starts_at <= now else [
        o for o in slots.candidates(start.date(), start.time()) if o.provider_id not in tried]
    await give_back_capacity(session, request.offering_id, start.date())
    decision = await take_best(session, candidates, start.date())
    if decision is not None:
        request.provider_id = decision.offering.provider_id
        request.offering_id = decision.offering.id
        request.tried_provider_ids = tried
        session.add(request)
        await record(session, request, None, request.status, request.status,
                     f"inoltrata ({reason}): {decision.reason}", now)
        name = (await session.get(Organisation, request.provider_id)).name
        await send_offers(session, request, now)
        return name
    await transition(session, request, RequestStatus.UNSERVED,
                     expected=(RequestStatus.PENDING,), actor_id=None,
                     reason=f"nessuna cooperativa disponibile ({reason})", now=now,
                     provider_id=None, offering_id=None, tried_provider_ids=tried,
                     offered_at=None)
    facts = {"request_id": request.id, "reason": reason}
    await queue_for_role(session, Role.COORDINATOR, kind="coordinator.escalated",
                         params=facts, dedupe_key=f"escalated:{request.id}:{request.offer_round}",
                         now=now)
    await queue_notice(session, person_id=request.worker_id, kind="worker.unserved",
                       params={"request_id": request.id},
                       dedupe_key=f"unserved-worker:{request.id}:{request.offer_round}", now=now)
    return None


async def open_jobs(session: AsyncSession, operator: Person) -> list[ServiceRequest]:
    """The cooperative's jobs waiting for an operator that this operator may still take:
    not declined by them in this round, and not a moved job asked of a colleague alone."""
    pending = (await session.exec(
        select(ServiceRequest)
        .where(ServiceRequest.provider_id == operator.organisation_id,
               ServiceRequest.status == RequestStatus.PENDING,
               ServiceRequest.offered_at.is_not(None))
        .order_by(ServiceRequest.starts_at))).all()
    rounds = {(r.id, r.offer_round) for r in pending}
    offers = (await session.exec(select(Offer).where(
        Offer.request_id.in_([r.id for r in pending])))).all()
    current = [o for o in offers if (o.request_id, o.round) in rounds]
    barred = {o.request_id for o in current
              if (o.operator_id == operator.id and o.status != "open")
              or (o.kind == "move" and o.operator_id != operator.id)}
    return [r for r in pending if r.id not in barred]


async def open_offer(session: AsyncSession, request_id: int, operator: Person) -> Offer | None:
    """The operator's open offer for this job (the latest round's), if any."""
    return (await session.exec(select(Offer).where(
        Offer.request_id == request_id, Offer.operator_id == operator.id,
        Offer.status == "open").order_by(Offer.round.desc()))).first()


async def join_round(session: AsyncSession, request: ServiceRequest, operator: Person,
                     now: datetime) -> Offer | None:
    """The operator's open offer for this job, adding them to the current round when the
    job is open to them (e.g. they joined the bot after the offers went out)."""
    existing = await open_offer(session, request.id, operator)
    if existing is not None:
        return existing
    if request.id not in {r.id for r in await open_jobs(session, operator)}:
        return None
    offer = Offer(request_id=request.id, operator_id=operator.id, round=request.offer_round,
                  kind="new", created_at=now)
    session.add(offer)
    await session.flush()
    return offer


async def overdue(session: AsyncSession, now: datetime) -> list[ServiceRequest]:
    """Pending requests whose round of offers has had its time (in working hours)."""
    rows = await session.exec(
        select(ServiceRequest, Organisation.escalation_minutes)
        .join(Organisation, Organisation.id == ServiceRequest.provider_id)
        .where(ServiceRequest.status == RequestStatus.PENDING,
               ServiceRequest.offered_at.is_not(None)))
    return [request for request, minutes in rows.all()
            if add_working_minutes(request.offered_at, minutes) <= now
            or request.starts_at <= now]


async def escalate_overdue(session: AsyncSession, now: datetime) -> int:
    """The clock's job: escalate every request nobody accepted in time."""
    late = await overdue(session, now)
    for request in late:
        asked = (await session.exec(select(Offer.operator_id).where(
            Offer.request_id == request.id, Offer.round == request.offer_round,
            Offer.kind == "move"))).all()
        if asked and request.starts_at > now:
            # the operator asked to confirm a moved job did not answer: their colleagues next
            await close_open_offers(session, request.id, now)
            await record(session, request, None, request.status, request.status,
                         "nessuna risposta sullo spostamento: ai colleghi", now)
            await send_offers(session, request, now, exclude=set(asked))
        else:
            await escalate(session, request, "nessuna risposta entro il tempo previsto", now)
    return len(late)
