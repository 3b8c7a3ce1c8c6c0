"""APScheduler as the clock, not the memory: a few periodic jobs with stable ids ask the
store what is due. On PostgreSQL only one process runs the clock at a time (a session
advisory lock held on a dedicated connection); the others wait as standbys and take over
if the leader's connection goes. Dispatchers are not part of the clock: several may run."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from scheduler import jobs

log = logging.getLogger(__name__)
LOCK_KEY = 7_310_402  # the advisory lock that says "this process runs the clock"
STANDBY_SECONDS = 30
GRACE = 6 * 3600  # a job missed by up to six hours still runs (then the store catches up)


class Leadership:
    """Who runs the clock. SQLite means one process by design: always the leader."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.connection: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        connection = await self.engine.connect()
        got = (await connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                        {"key": LOCK_KEY})).scalar()
        if got:
            self.connection = connection
            return True
        await connection.close()
        return False

    async def still_held(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        try:
            await self.connection.execute(text("SELECT 1"))
            return True
        except Exception:  # the connection is gone, and with it the lock
            log.warning("lost the clock's advisory lock connection")
            return False

    async def release(self) -> None:
        if self.connection is not None:
            try:
                await self.connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                              {"key": LOCK_KEY})
            finally:
                await self.connection.close()
                self.connection = None


def build_scheduler(ctx: jobs.JobContext, timezone: str = "Europe/Rome",
                    extra: dict[str, Callable[[jobs.JobContext], Awaitable]] | None = None
                    ) -> AsyncIOScheduler:
    """The periodic jobs, each with a stable id (replace_existing), coalescing missed runs
    into one and allowing generous lateness."""
    zone = ZoneInfo(timezone)
    scheduler = AsyncIOScheduler(timezone=zone)
    every_minute = IntervalTrigger(minutes=1, timezone=zone)
    plan = {
        "escalations": (jobs.escalations, every_minute),
        "reminders": (jobs.send_reminders, every_minute),
        "surveys": (jobs.run_surveys, IntervalTrigger(minutes=5, timezone=zone)),
        "retention": (jobs.retention, CronTrigger(hour=3, minute=30, timezone=zone)),
    }
    for job_id, job in (extra or {}).items():
        plan[job_id] = (job, IntervalTrigger(minutes=10, timezone=zone))
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
    """Run the clock for as long as this task lives, as leader or as standby."""
    leadership = Leadership(engine)
    while True:
        if not await leadership.try_acquire():
            await asyncio.sleep(standby_seconds)
            continue
        log.info("this process runs the clock")
        scheduler = build_scheduler(ctx, timezone, extra)
        scheduler.start()
        try:
            while await leadership.still_held():  # noqa: ASYNC110 (polls the lock's link)
                await asyncio.sleep(standby_seconds)
        finally:
            scheduler.shutdown(wait=False)
            await leadership.release()
