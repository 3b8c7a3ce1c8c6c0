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
CLOSE_NUDGE_AFTER = timedelta(hours=2)  # after a job's planned end, ask to close it
CLOSE_NUDGE_FOR = timedelta(days=2)  # and keep asking the clock for that long, no longer


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


def close_choices(request_id: int) -> list[dict[str, str]]:
    return [{"key": "job.open", "value": f"job:open:{request_id}"}]


async def queue_close_nudges(session: AsyncSession, now: datetime,
                             quiet: tuple[time, time]) -> int:
    """Ask the operator to close a job still open two hours after its planned end: until
    it is marked done the fund's contribution is not committed and no survey goes out.
    Once per job (and slot), never in quiet hours."""
    if in_window(now, quiet):
        return 0
    latest_start = now - CLOSE_NUDGE_AFTER
    jobs = (await session.exec(select(ServiceRequest).where(
        ServiceRequest.status == RequestStatus.ASSIGNED,
        ServiceRequest.starts_at <= latest_start,
        ServiceRequest.starts_at > latest_start - CLOSE_NUDGE_FOR))).all()
    queued = 0
    for job in jobs:
        if job.starts_at + timedelta(minutes=job.duration_minutes) > latest_start:
            continue  # not yet two hours past its end
        await queue_notice(session, person_id=job.operator_id, kind="operator.close_job",
                           params={"request_id": job.id}, choices=close_choices(job.id),
                           dedupe_key=f"close:{job.id}:{job.starts_at:%Y%m%d%H%M}", now=now)
        queued += 1
    return queued
