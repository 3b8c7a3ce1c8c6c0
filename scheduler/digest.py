"""The coordinator's daily digest: queued once a day after DIGEST_TIME for every
coordinator (in their language, with the chart of the last 30 days attached). A mark in
the store remembers the last day done, so a restart or a day of downtime neither skips a
digest nor sends one twice."""

from datetime import date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from models.calendar import after_quiet, local, to_utc
from models.db import transaction
from models.tables import ClockMark
from scheduler import jobs
from scheduler.digest_notice import CatchUp, queue_digest_for_day

MARK = "digest"
LATE = timedelta(minutes=30)  # queued later than this after its time: a catch-up digest
CATCH_UP_DAYS = 3  # after a long outage, only the last few days' digests are worth sending


def days_due(last_done: date | None, now: datetime, at) -> list[date]:
    """The days whose digest is due now and not yet queued."""
    there = local(now)
    latest = there.date() if there.time() >= at else there.date() - timedelta(days=1)
    if last_done is None:  # a new installation starts with today's digest, not the past
        return [latest] if latest == there.date() else []
    first = last_done + timedelta(days=1)
    first = max(first, latest - timedelta(days=CATCH_UP_DAYS - 1))
    return [first + timedelta(days=n) for n in range((latest - first).days + 1)]


async def last_digest_day(session: AsyncSession) -> date | None:
    mark = await session.get(ClockMark, MARK)
    return date.fromisoformat(mark.value) if mark else None


async def queue_digests(ctx: jobs.JobContext) -> list[date]:
    """The clock's job: queue what is due, then move the mark, in one transaction. On time,
    today's digest; late (the process was down), ONE catch-up digest: the last missed day's,
    its figures as of that day's digest time, naming the other days missed, and held until
    the quiet hours end if it is night."""
    now = ctx.clock()
    async with transaction(ctx.sessions) as session:
        due = days_due(await last_digest_day(session), now, ctx.rules.digest_at)
        if due:
            day = due[-1]
            its_time = to_utc(day, ctx.rules.digest_at)
            catch_up = None
            if len(due) > 1 or now - its_time > LATE:
                catch_up = CatchUp(as_of=min(now, its_time), missed=tuple(due[:-1]),
                                   not_before=after_quiet(now, ctx.rules.quiet))
            await queue_digest_for_day(session, day, now, catch_up)
        if due:
            mark = await session.get(ClockMark, MARK) or ClockMark(name=MARK, value="")
            mark.value, mark.updated_at = due[-1].isoformat(), now
            session.add(mark)
    return due


def clock_extras() -> dict:
    """Jobs checked every minute beside the fixed ones (the digest: one row read)."""
    return {"digest": queue_digests}
