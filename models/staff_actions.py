"""What the programme's staff do to a request that is stuck: the same operations for the
coordinator's chat views and for the web console (the panel), so both behave alike.

Every operation is one transaction's worth of work (the caller's session): it checks the
request's current status in the same statement that changes it (a conditional update, so
of two coordinators acting at once exactly one wins), records a RequestEvent naming the
acting person, and queues the notices it causes in the outbox. None of them commits.

Stable names (the panel calls them):

- `cooperatives_for(session, request)` → the cooperatives that offer the request's service,
  those covering its municipality first: the choices for `assign_to_cooperative`.
- `assign_to_cooperative(session, request_id, provider_id, actor, now)` → an unserved
  request goes to that cooperative: its operators get the offer through the outbox, as with
  normal routing (and the usual escalation if nobody takes it); the worker is told. The
  coordinator may go beyond the offering's municipalities, hours and daily capacity (that
  is why they are asked); the day's count still records the job.
- `cancel_unserved(session, request_id, actor, reason, now)` → an unserved request is
  cancelled with a reason: the fund's reservation is released, the worker is told why.
- `write_to_worker(session, request_id, actor, text, now)` → a message to the request's
  worker through the relay (they never see each other's number or account); the worker
  can answer with one tap (`answer_staff`); the staff member's copy of the answer carries
  a «Rispondi» whose value is "staff:write:<request id>".
- `answer_staff(session, message_id, worker, text, now)` → the worker's answer to such a
  message goes back to the staff member who wrote it.
- `handle_complaint(session, request_id, actor, note, now)` → a complaint is marked
  handled with a note; the worker is told, with the note.
- `close_expired_unserved(session, now)` → the clock's job: an unserved request whose time
  has come is closed by itself (cancelled, actor none) and its money released; the worker
  is told. Returns how many.
- `complaint_parties(session, request)` → (cooperative, operator) a complaint is about.
- `worker_to_call(session, request)` → (first name, employer) of the request's worker, for
  the office to get back to them about an unserved request.
- `unserved_requests(session, limit)` → the requests nobody could take, the soonest first.
- `complaints_then_comments(session, limit)` → the complaints (to handle first, then the
  handled ones, latest first), then the requests whose survey has a comment.
- `staff_messages(session, request)` → what the staff and the worker wrote to each other.

Each action returns an `Outcome`: `ok`, or why it changed nothing (`why`): "gone" (no such
request, or erased), "moved_on" (its status is no longer the one the action is for:
someone else acted first), "past" (its time has come), "not_offered" (that cooperative
does not offer the service), "handled" (the complaint was already handled), "empty" (no
text). Only a coordinator may act: anyone else raises `offers.NotAllowed` (logged).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import fund
from models.base import RequestStatus, Role
from models.calendar import local
from models.db import insert_ignoring_duplicates
from models.lifecycle import close_open_offers, record, transition
from models.offers import NotAllowed, send_offers
from models.outbox import queue_notice
from models.routing import give_back_capacity
from models.tables import (
    CapacityUse,
    Offering,
    OfferingMunicipality,
    Organisation,
    Person,
    RelayMessage,
    ServiceRequest,
    Survey,
)

MAX_TEXT = 1000
EXPIRED = "scaduta: nessuna cooperativa l'ha presa in carico prima dell'orario"


@dataclass(frozen=True)
class Outcome:
    """What became of a staff action: `ok`, or `why` it changed nothing (module doc)."""

    ok: bool
    why: str = ""
    request: ServiceRequest | None = None


def _check_staff(actor: Person, what: str) -> None:
    if actor is None or actor.role != Role.COORDINATOR or not actor.active:
        raise NotAllowed(actor, what)


async def _live_request(session: AsyncSession, request_id: int) -> ServiceRequest | None:
    """The request as it is now in the database (not a stale copy), unless erased."""
    request = (await session.exec(
        select(ServiceRequest).where(ServiceRequest.id == request_id)
        .execution_options(populate_existing=True))).first()
    if request is None or request.erased_at is not None:
        return None
    worker = await session.get(Person, request.worker_id)
    if worker is None or worker.erased_at is not None:
        return None
    return request


async def cooperatives_for(session: AsyncSession,
                           request: ServiceRequest) -> list[Organisation]:
    """The cooperatives with an active offering of the request's service: those whose
    offering covers its municipality first, then by name."""
    rows = (await session.exec(
        select(Organisation, Offering.id)
        .join(Offering, Offering.provider_id == Organisation.id)
        .where(Offering.service_id == request.service_id, Offering.active.is_(True)))).all()
    covering = set((await session.exec(
        select(OfferingMunicipality.offering_id).where(
            OfferingMunicipality.municipality_id == request.municipality_id))).all())
    ranked = sorted(rows, key=lambda row: (row[1] not in covering, row[0].name))
    return [organisation for organisation, _ in ranked]


async def assign_to_cooperative(session: AsyncSession, request_id: int, provider_id: int,
                                actor: Person, now: datetime) -> Outcome:
    _check_staff(actor, f"assign request {request_id}")
    request = await _live_request(session, request_id)
    if request is None:
        return Outcome(False, "gone")
    if request.status != RequestStatus.UNSERVED:
        return Outcome(False, "moved_on", request)
    if request.starts_at <= now:
        return Outcome(False, "past", request)
    offering = (await session.exec(select(Offering).where(
        Offering.provider_id == provider_id, Offering.service_id == request.service_id,
        Offering.active.is_(True)))).first()
    if offering is None:
        return Outcome(False, "not_offered", request)
    provider = await session.get(Organisation, provider_id)
    moved = await transition(
        session, request, RequestStatus.PENDING, expected=(RequestStatus.UNSERVED,),
        actor_id=actor.id, reason=f"affidata dal coordinamento a {provider.name}", now=now,
        provider_id=provider_id, offering_id=offering.id, operator_id=None, offered_at=None)
    if not moved:
        return Outcome(False, "moved_on", request)
    await _count_the_job(session, offering.id, local(request.starts_at).date())
    await send_offers(session, request, now)
    await queue_notice(session, person_id=request.worker_id, kind="worker.staff_assigned",
                       params={"request_id": request.id, "provider": provider.name},
                       dedupe_key=f"staff-assigned:{request.id}:{request.offer_round}", now=now)
    return Outcome(True, request=request)


async def _count_the_job(session: AsyncSession, offering_id: int, day) -> None:
    """The day's count of the offering grows by one even beyond its capacity (the
    coordinator agreed it with the cooperative), so a later cancellation gives back the
    right amount."""
    await session.exec(insert_ignoring_duplicates(
        session, CapacityUse, offering_id=offering_id, day=day, used=0))
    await session.exec(update(CapacityUse)
                       .where(CapacityUse.offering_id == offering_id, CapacityUse.day == day)
                       .values(used=CapacityUse.used + 1))


async def _close_unserved(session: AsyncSession, request: ServiceRequest,
                          actor_id: int | None, reason: str, kind: str,
                          params: dict, now: datetime) -> bool:
    """Unserved → cancelled (one winner), offers closed, capacity and money given back,
    the worker told with a notice of `kind`."""
    offering_id, day = request.offering_id, local(request.starts_at).date()
    if not await transition(session, request, RequestStatus.CANCELLED,
                            expected=(RequestStatus.UNSERVED,), actor_id=actor_id,
                            reason=reason, now=now):
        return False
    await close_open_offers(session, request.id, now)
    await give_back_capacity(session, offering_id, day)
    await fund.release(session, request, now)
    await queue_notice(session, person_id=request.worker_id, kind=kind,
                       params={"request_id": request.id, **params},
                       dedupe_key=f"{kind}:{request.id}", now=now)
    return True


async def cancel_unserved(session: AsyncSession, request_id: int, actor: Person,
                          reason: str, now: datetime) -> Outcome:
    _check_staff(actor, f"cancel request {request_id}")
    reason = " ".join(reason.split())[:300]
    if not reason:
        return Outcome(False, "empty")
    request = await _live_request(session, request_id)
    if request is None:
        return Outcome(False, "gone")
    closed = await _close_unserved(
        session, request, actor.id, f"annullata dal coordinamento: {reason}",
        "worker.staff_cancelled", {"reason": reason}, now)
    return Outcome(closed, "" if closed else "moved_on", request)


async def close_expired_unserved(session: AsyncSession, now: datetime) -> int:
    """Unserved requests whose time has come are closed and their money released."""
    due = (await session.exec(select(ServiceRequest.id).where(
        ServiceRequest.status == RequestStatus.UNSERVED,
        ServiceRequest.starts_at <= now))).all()
    closed = 0
    for request_id in due:
        request = await session.get(ServiceRequest, request_id)
        closed += await _close_unserved(session, request, None, EXPIRED,
                                        "worker.unserved_expired", {}, now)
    return closed


async def _relay(session: AsyncSession, request: ServiceRequest, sender: Person,
                 recipient_id: int, text: str, kind: str, reply_value: str | None,
                 now: datetime) -> RelayMessage:
    message = RelayMessage(request_id=request.id, sender_id=sender.id,
                           recipient_id=recipient_id, text=text, created_at=now)
    session.add(message)
    await session.flush()
    choices = [{"key": "relay.reply", "value": reply_value.format(id=message.id)}] \
        if reply_value else None
    await queue_notice(session, person_id=recipient_id, kind=kind,
                       params={"request_id": request.id, "sender": sender.first_name or "",
                               "message": text},
                       choices=choices, dedupe_key=f"relay:{message.id}", now=now)
    return message


async def write_to_worker(session: AsyncSession, request_id: int, actor: Person, text: str,
                          now: datetime) -> Outcome:
    _check_staff(actor, f"write to the worker of request {request_id}")
    text = text.strip()[:MAX_TEXT]
    if not text:
        return Outcome(False, "empty")
    request = await _live_request(session, request_id)
    if request is None:
        return Outcome(False, "gone")
    await _relay(session, request, actor, request.worker_id, text, "relay.from_staff",
                 "relay:staff:{id}", now)
    await record(session, request, actor.id, request.status, request.status,
                 "messaggio del coordinamento al lavoratore", now)
    return Outcome(True, request=request)


async def answer_staff(session: AsyncSession, message_id: int, worker: Person, text: str,
                       now: datetime) -> Outcome:
    """The worker answers a staff member's message: it goes back to that person."""
    original = await session.get(RelayMessage, message_id)
    if original is None or original.recipient_id != worker.id:
        raise NotAllowed(worker, f"answer relay message {message_id}")
    text = text.strip()[:MAX_TEXT]
    if not text:
        return Outcome(False, "empty")
    request = await _live_request(session, original.request_id)
    staff = await session.get(Person, original.sender_id)
    if request is None or staff is None or not staff.active or staff.erased_at is not None:
        return Outcome(False, "gone")
    await _relay(session, request, worker, staff.id, text, "relay.to_staff",
                 f"staff:write:{request.id}", now)
    return Outcome(True, request=request)


async def handle_complaint(session: AsyncSession, request_id: int, actor: Person, note: str,
                           now: datetime) -> Outcome:
    _check_staff(actor, f"handle the complaint on request {request_id}")
    note = note.strip()[:MAX_TEXT]
    if not note:
        return Outcome(False, "empty")
    request = await _live_request(session, request_id)
    if request is None or request.complaint_at is None:
        return Outcome(False, "gone")
    marked = await session.exec(
        update(ServiceRequest)
        .where(ServiceRequest.id == request.id, ServiceRequest.complaint_at.is_not(None),
               ServiceRequest.complaint_handled_at.is_(None))
        .values(complaint_handled_at=now, complaint_handled_by=actor.id,
                complaint_note=note, updated_at=now))
    if marked.rowcount != 1:
        return Outcome(False, "handled", request)
    await session.refresh(request)
    await record(session, request, actor.id, request.status, request.status,
                 f"segnalazione gestita: {note}", now)
    await queue_notice(session, person_id=request.worker_id, kind="worker.complaint_handled",
                       params={"request_id": request.id, "note": note},
                       dedupe_key=f"complaint-handled:{request.id}", now=now)
    return Outcome(True, request=request)


async def staff_messages(session: AsyncSession,
                         request: ServiceRequest) -> list[RelayMessage]:
    """What the staff and the request's worker wrote to each other about it."""
    staff = select(Person.id).where(Person.role == Role.COORDINATOR)
    rows = await session.exec(select(RelayMessage).where(
        RelayMessage.request_id == request.id,
        (RelayMessage.sender_id.in_(staff)) | (RelayMessage.recipient_id.in_(staff)))
        .order_by(RelayMessage.id))
    return list(rows.all())


async def complaint_parties(session: AsyncSession,
                            request: ServiceRequest) -> tuple[str | None, str | None]:
    """The cooperative and the operator (first name) a complaint is about, if any."""
    provider = await session.get(Organisation, request.provider_id) \
        if request.provider_id else None
    operator = await session.get(Person, request.operator_id) if request.operator_id else None
    return (provider.name if provider else None,
            (operator.first_name or None) if operator else None)


async def unserved_requests(session: AsyncSession, limit: int) -> list[ServiceRequest]:
    """The requests nobody could take (waiting for the coordinator), the soonest first."""
    return list((await session.exec(
        select(ServiceRequest).where(ServiceRequest.status == RequestStatus.UNSERVED)
        .order_by(ServiceRequest.starts_at).limit(limit))).all())


async def complaints_then_comments(session: AsyncSession,
                                   limit: int) -> list[ServiceRequest]:
    """The complaints still to handle first, then the handled ones, latest first; then the
    requests without a complaint whose survey has a comment, latest first; `limit` in all."""
    complaints = list((await session.exec(
        select(ServiceRequest).where(ServiceRequest.complaint_at.is_not(None))
        .order_by(ServiceRequest.complaint_handled_at.is_not(None),
                  ServiceRequest.complaint_at.desc()).limit(limit))).all())
    commented = (await session.exec(
        select(ServiceRequest).join(Survey, Survey.request_id == ServiceRequest.id)
        .where(Survey.comment.is_not(None), ServiceRequest.complaint_at.is_(None))
        .order_by(Survey.answered_at.desc()).limit(limit))).all()
    return [*complaints, *commented][:limit]


async def worker_to_call(session: AsyncSession,
                         request: ServiceRequest) -> tuple[str | None, str | None]:
    """The first name and the employer of the request's worker, if any."""
    worker = await session.get(Person, request.worker_id)
    employer = await session.get(Organisation, worker.organisation_id) \
        if worker and worker.organisation_id else None
    return ((worker.first_name or None) if worker else None,
            employer.name if employer else None)
