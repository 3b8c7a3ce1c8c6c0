"""A taken job's life: done (with the actual duration), the worker was not there, the
operator cannot do it any more; and the relay between worker and operator, with the
complaint that lets the coordinator read it. Only the assigned operator acts on a job;
only the request's worker and its operator write on its relay."""

from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import announcements, fund, surveys
from models.base import RequestStatus, Role
from models.lifecycle import transition
from models.offers import NotAllowed, send_offers
from models.outbox import queue_for_role, queue_notice
from models.tables import Organisation, Person, RelayMessage, ServiceRequest

MIN_MINUTES, MAX_MINUTES = 5, 12 * 60
MAX_TEXT = 1000


class NotStarted(Exception):
    """The job's time has not come yet: it cannot be done, nor can the worker be absent."""


def check_started(request: ServiceRequest, now: datetime) -> None:
    if now < request.starts_at:
        raise NotStarted(request.id)


class RelayClosed(Exception):
    """The job is not (or no longer) taken: there is nobody to pass a message to."""


async def assigned_job(session: AsyncSession, request_id: int, operator: Person,
                       action: str) -> ServiceRequest:
    request = await session.get(ServiceRequest, request_id)
    if request is None or request.operator_id != operator.id \
            or request.provider_id != operator.organisation_id:
        raise NotAllowed(operator, f"{action} request {request_id} not assigned to them")
    return request


async def complete(session: AsyncSession, request: ServiceRequest, operator: Person,
                   minutes: int, now: datetime,
                   survey_rules: surveys.SurveyRules | None = None) -> bool:
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise ValueError(minutes)
    check_started(request, now)
    done = await transition(session, request, RequestStatus.DONE,
                            expected=(RequestStatus.ASSIGNED,), actor_id=operator.id,
                            reason=f"svolta in {minutes} minuti", now=now,
                            actual_minutes=minutes, done_at=now)
    if done:
        await fund.commit(session, request, now)
        await surveys.plan(session, request, now, survey_rules or surveys.SurveyRules())
        await queue_notice(session, person_id=request.worker_id, kind="worker.done",
                           params={"request_id": request.id}, dedupe_key=f"done:{request.id}",
                           now=now)
        await announcements.invite_once(session, request.worker_id, now)
    return done


async def no_show(session: AsyncSession, request: ServiceRequest, operator: Person,
                  now: datetime) -> bool:
    """Nobody was there: the job ends undone and the fund's reservation is released."""
    check_started(request, now)
    ended = await transition(session, request, RequestStatus.NO_SHOW,
                             expected=(RequestStatus.ASSIGNED,), actor_id=operator.id,
                             reason="il lavoratore non c'era", now=now, done_at=now)
    if ended:
        await fund.release(session, request, now)
        await queue_notice(session, person_id=request.worker_id, kind="worker.no_show",
                           params={"request_id": request.id},
                           dedupe_key=f"no-show:{request.id}", now=now)
    return ended


async def release(session: AsyncSession, request: ServiceRequest, operator: Person,
                  now: datetime) -> bool:
    """'Non posso più': the job goes back to the cooperative's other operators."""
    released = await transition(session, request, RequestStatus.PENDING,
                                expected=(RequestStatus.ASSIGNED,), actor_id=operator.id,
                                reason=f"{operator.first_name} non può più", now=now,
                                operator_id=None)
    if released:
        await queue_notice(session, person_id=request.worker_id, kind="worker.reassigning",
                           params={"request_id": request.id},
                           dedupe_key=f"reassigning:{request.id}:{request.offer_round}",
                           now=now)
        await send_offers(session, request, now, exclude={operator.id})
    return released


async def assigned_to(session: AsyncSession, operator: Person) -> list[ServiceRequest]:
    """The jobs this operator took and has still to do, the soonest first («I miei lavori»)."""
    return list((await session.exec(
        select(ServiceRequest).where(ServiceRequest.operator_id == operator.id,
                                     ServiceRequest.status == RequestStatus.ASSIGNED)
        .order_by(ServiceRequest.starts_at))).all())


async def done_since(session: AsyncSession, operator: Person,
                     since: datetime) -> list[ServiceRequest]:
    """The operator's jobs done since `since`, the latest first («Svolti»)."""
    return list((await session.exec(
        select(ServiceRequest).where(ServiceRequest.operator_id == operator.id,
                                     ServiceRequest.status == RequestStatus.DONE,
                                     ServiceRequest.done_at >= since)
        .order_by(ServiceRequest.starts_at.desc()))).all())


def other_party(request: ServiceRequest, person: Person) -> int:
    """Who a relay message from `person` goes to, if they may write on this job."""
    if person.id == request.worker_id and request.operator_id:
        return request.operator_id
    if person.id == request.operator_id and person.role == Role.OPERATOR:
        return request.worker_id
    raise NotAllowed(person, f"write on the relay of request {request.id}")


async def relay(session: AsyncSession, request: ServiceRequest, sender: Person, text: str,
                now: datetime) -> RelayMessage:
    recipient = other_party(request, sender)
    if request.status != RequestStatus.ASSIGNED:
        raise RelayClosed(request.status)
    message = RelayMessage(request_id=request.id, sender_id=sender.id, recipient_id=recipient,
                           text=text[:1000], created_at=now)
    session.add(message)
    await session.flush()
    await queue_notice(session, person_id=recipient, kind="relay.message",
                       params={"request_id": request.id, "sender": sender.first_name or "",
                               "message": message.text},
                       choices=[{"key": "relay.reply", "value": f"relay:reply:{request.id}"}],
                       dedupe_key=f"relay:{message.id}", now=now)
    return message


async def complain(session: AsyncSession, request: ServiceRequest, worker: Person, text: str,
                   now: datetime) -> None:
    """The worker raises a complaint: the coordinator is told and may read the relay."""
    if request.worker_id != worker.id:
        raise NotAllowed(worker, f"complain about request {request.id}")
    request.complaint, request.complaint_at = text[:1000], now
    request.complaint_handled_at = request.complaint_handled_by = None
    request.complaint_note = None  # a new complaint is open again
    session.add(request)
    provider = await session.get(Organisation, request.provider_id) \
        if request.provider_id else None
    operator = await session.get(Person, request.operator_id) if request.operator_id else None
    await queue_for_role(session, Role.COORDINATOR, kind="coordinator.complaint",
                         params={"request_id": request.id, "message": text[:300],
                                 "cooperative": provider.name if provider else "—",
                                 "operator_name": (operator.first_name if operator else None)
                                 or "—"},
                         dedupe_key=f"complaint:{request.id}:{now.isoformat()}", now=now)


async def transcript(session: AsyncSession, request: ServiceRequest,
                     reader: Person) -> list[RelayMessage]:
    """The relay of a job: for its two parties, or the coordinator once a complaint exists."""
    party = reader.id in (request.worker_id, request.operator_id)
    coordinator = reader.role == Role.COORDINATOR and request.complaint_at is not None
    if not (party or coordinator):
        raise NotAllowed(reader, f"read the relay of request {request.id}")
    rows = await session.exec(select(RelayMessage).where(
        RelayMessage.request_id == request.id).order_by(RelayMessage.id))
    return list(rows.all())
