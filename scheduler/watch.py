"""The clock watched: each job's run counted and its last success kept in the store (so
any process can say when the clock last worked), and whether this process leads."""

import logging

from bot import metrics
from models.db import transaction
from models.watch import record_job_success
from scheduler.jobs import JobContext

log = logging.getLogger(__name__)


async def job_done(ctx: JobContext, job_id: str, *, ok: bool) -> None:
    metrics.job_ran(job_id, ok)
    if not ok:
        return
    try:
        async with transaction(ctx.sessions) as session:
            await record_job_success(session, job_id, ctx.clock())
    except Exception as problem:  # the job did its work; only the mark is missing
        log.warning("clock job %s: cannot record its success: %s", job_id,
                    type(problem).__name__)


def leading(leads: bool) -> None:
    metrics.leads_clock(leads)
