"""The two primitives every status change is made of: a conditional update of the
request's status and the event row that records it."""

from datetime import datetime

from sqlmodel import update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import RequestStatus
from models.tables import Offer, RequestEvent, ServiceRequest


async def record(session: AsyncSession, request: ServiceRequest, actor_id: int | None,
                 from_status: str | None, to_status: str, reason: str, now: datetime) -> None:
    session.add(RequestEvent(request_id=request.id, actor_id=actor_id, from_status=from_status,
                             to_status=to_status, reason=reason[:500], at=now))


async def transition(session: AsyncSession, request: ServiceRequest, to_status: RequestStatus,
                     *, expected: tuple[str, ...], actor_id: int | None, reason: str,
                     now: datetime, **changes) -> bool:
    """Move the request only if its status is still one of `expected` (one statement, so
    of two concurrent attempts exactly one wins), and record the event."""
    from_status = request.status  # before the UPDATE: the ORM syncs the new value in
    result = await session.exec(
        update(ServiceRequest)
        .where(ServiceRequest.id == request.id, ServiceRequest.status.in_(expected))
        .values(status=str(to_status), updated_at=now, **changes))
    if result.rowcount != 1:
        return False
    await session.refresh(request)
    await record(session, request, actor_id, from_status, str(to_status), reason, now)
    return True


async def close_open_offers(session: AsyncSession, request_id: int, now: datetime,
                            except_offer_id: int | None = None) -> list[tuple[int, int]]:
    """End the open offers of a request; returns (operator, offer) of each one ended."""
    query = update(Offer).where(Offer.request_id == request_id, Offer.status == "open")
    if except_offer_id is not None:
        query = query.where(Offer.id != except_offer_id)
    result = await session.exec(query.values(status="closed", answered_at=now)
                                .returning(Offer.operator_id, Offer.id))
    return [(operator_id, offer_id) for operator_id, offer_id in result.all()]
