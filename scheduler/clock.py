"""APScheduler as the clock, not the memory: a few periodic jobs with stable ids ask the
store what is due. On PostgreSQL only one process runs the clock at a time (a session
advisory lock held on a dedicated connection); the others wait as standbys and take over
if the leader's connection goes. A leader whose connection goes stops its jobs and stands
by in turn: losing the database never ends the clock. Dispatchers are not part of the
clock: several may run."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.db import transaction
from models.tables import ClockMark
from scheduler import jobs

log = logging.getLogger(__name__)
LOCK_KEY = 7_310_402  # the advisory lock that says "this process runs the clock"
STANDBY_SECONDS = 30
GRACE = 6 * 3600  # a job missed by up to six hours still runs (then the store catches up)
LOST = (SQLAlchemyError, OSError)  # the database, or the link to it, went away
HEARTBEAT = "clock_heartbeat"  # a ClockMark the running clock touches (bot/jobs_cli.py)
HEARTBEAT_FRESH = timedelta(seconds=3 * STANDBY_SECONDS)
LOCK = text("SELECT pg_try_advisory_lock(:key)")
UNLOCK = text("SELECT pg_advisory_unlock(:key)")


class Leadership:
    """Who runs the clock. SQLite means one process by design: always the leader. On
    PostgreSQL, whoever holds the advisory lock; no method raises when the database or
    the link to it goes (they log it, and the lock is then not held)."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.connection: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        """Take the lock if it is free; False when another process holds it or the
        database cannot be reached."""
        if self.engine.dialect.name != "postgresql":
            return True
        connection = None
        try:
            connection = await self.engine.connect()
            if (await connection.execute(LOCK, {"key": LOCK_KEY})).scalar():
                self.connection = connection
                return True
            await connection.close()  # another process holds it
        except LOST as error:
            log.warning("cannot take the clock's lock: %s", error)
            if connection is not None:
                await discard(connection)
        return False

    async def still_held(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        try:
            await self.connection.execute(text("SELECT 1"))
            return True
        except LOST as error:  # the connection is gone, and with it the lock
            log.warning("lost the clock's lock connection: %s", error)
            return False

    async def release(self) -> None:
        """Give the lock back (a broken connection has already taken it with it)."""
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            if not connection.invalidated:
                await connection.execute(UNLOCK, {"key": LOCK_KEY})
        except LOST as error:
            log.warning("cannot give the clock's lock back: %s", error)
        await discard(connection)


async def discard(connection: AsyncConnection) -> None:
    """Close `connection` for good, not back into the pool: a session lock it may still
    hold on the server ends with it."""
    try:
        await connection.invalidate()
        await connection.close()
    except LOST as error:
        log.warning("closing the clock's lock connection: %s", error)


async def beat(ctx: jobs.JobContext) -> None:
    """Say in the store that a clock runs now (real time), for `intempo jobs run`."""
    try:
        async with transaction(ctx.sessions) as session:
            mark = await session.get(ClockMark, HEARTBEAT) or ClockMark(name=HEARTBEAT,
                                                                         value="")
            mark.value, mark.updated_at = "running", datetime.now(UTC)
            session.add(mark)
    except LOST as error:
        log.warning("cannot record the clock's heartbeat: %s", error)


def build_scheduler(ctx: jobs.JobContext, timezone: str = "Europe/Rome",
                    extra: dict[str, Callable[[jobs.JobContext], Awaitable]] | None = None
                    ) -> AsyncIOScheduler:
    """The periodic jobs, each with a stable id (replace_existing), coalescing missed runs
    into one and allowing generous lateness."""
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not 3 lines a minute
    zone = ZoneInfo(timezone)
    scheduler = AsyncIOScheduler(timezone=zone)
    every_minute = IntervalTrigger(minutes=1, timezone=zone)
    plan = {
        "escalations": (jobs.escalations, every_minute),
        "expired": (jobs.close_expired, every_minute),
        "reminders": (jobs.send_reminders, every_minute),
        "surveys": (jobs.run_surveys, IntervalTrigger(minutes=5, timezone=zone)),
        "retention": (jobs.retention, CronTrigger(hour=3, minute=30, timezone=zone)),
    }
    for job_id, job in (extra or {}).items():  # cheap checks: on time to the minute
        plan[job_id] = (job, every_minute)
    for job_id, (job, trigger) in plan.items():
        scheduler.add_job(_logged(job_id, job), trigger, args=[ctx], id=job_id,
                          name=job_id, replace_existing=True, coalesce=True,
                          max_instances=1, misfire_grace_time=GRACE)
    return scheduler


def _logged(job_id: str, job):
    async def run(ctx: jobs.JobContext):
        try:
            return await job(ctx)
        except Exception:  # a failing job must not stop the clock; the next run retries
            log.exception("clock job %s failed", job_id)

    run.__name__ = job_id
    return run


async def run_clock(engine: AsyncEngine, ctx: jobs.JobContext, timezone: str = "Europe/Rome",
                    extra=None, standby_seconds: float = STANDBY_SECONDS) -> None:
    """Run the clock for as long as this task lives, as leader or as standby: a leader
    that loses its lock stops the jobs and tries to take the lock again."""
    leadership = Leadership(engine)
    while True:
        if not await leadership.try_acquire():
            await asyncio.sleep(standby_seconds)
            continue
        log.info("this process runs the clock")
        scheduler = build_scheduler(ctx, timezone, extra)
        scheduler.start()
        try:
            while await leadership.still_held():  # polls the lock's link
                await beat(ctx)
                await asyncio.sleep(standby_seconds)
            log.warning("the clock stands by until it can take the lock again")
        finally:
            scheduler.shutdown(wait=False)
            await leadership.release()
