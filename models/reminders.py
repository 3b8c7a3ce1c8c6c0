"""Reminders before a service, to the worker and to the operator who took it: read from
the store each time the clock asks, deduplicated by key, so nothing is sent twice."""

from datetime import datetime, time, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import RequestStatus
from models.calendar import before, in_window
from models.outbox import queue_notice
from models.tables import ServiceRequest

STILL_USEFUL = timedelta(minutes=15)  # a reminder this close to the start is pointless


def reminder_choices(request_id: int) -> list[dict[str, str]]:
    return [{"key": f"reminder.{action}", "value": f"reminder:{action}:{request_id}"}
            for action in ("ok", "move", "cancel")]


def due_offset(request: ServiceRequest, offsets: list[float], now: datetime) -> float | None:
    """The reminder due now for this request: the nearest offset whose time has come (a
    24-hour reminder missed during quiet hours or downtime gives way to the 1-hour one),
    none if the request was made after that time or the start is too close."""
    due = [hours for hours in offsets if before(request.starts_at, hours) <= now]
    if not due or request.starts_at - now < STILL_USEFUL:
        return None
    nearest = min(due)
    if request.created_at > before(request.starts_at, nearest):
        return None
    return nearest


async def queue_due_reminders(session: AsyncSession, now: datetime, offsets: list[float],
                              quiet: tuple[time, time]) -> int:
    """Queue the reminders due now (none during quiet hours: they wait for the end)."""
    if not offsets or in_window(now, quiet):
        return 0
    horizon = now + timedelta(hours=max(offsets) + 24)
    requests = (await session.exec(select(ServiceRequest).where(
        ServiceRequest.status.in_((RequestStatus.PENDING, RequestStatus.ASSIGNED)),
        ServiceRequest.starts_at > now, ServiceRequest.starts_at <= horizon))).all()
    queued = 0
    for request in requests:
        hours = due_offset(request, offsets, now)
        if hours is None:
            continue
        key = f"reminder:{request.id}:{request.starts_at:%Y%m%d%H%M}:{hours:g}"
        await queue_notice(session, person_id=request.worker_id, kind="worker.reminder",
                           params={"request_id": request.id},
                           choices=reminder_choices(request.id), dedupe_key=key, now=now)
        if request.operator_id is not None:
            await queue_notice(session, person_id=request.operator_id,
                               kind="operator.reminder", params={"request_id": request.id},
                               dedupe_key=f"{key}:operator", now=now)
        queued += 1
    return queued
