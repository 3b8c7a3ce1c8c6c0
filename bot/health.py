"""`GET /health/ready`: whether this process can do its work, for a load balancer and a
person. 503 when a dependency is down (the database does not answer, or is not at the
code's migrations); 200 otherwise, with what else is worth knowing: the outbox's backlog
and the age of its oldest due notice, whether this process runs the clock and when each
clock job last succeeded, each channel's last delivery and last webhook. A database
*ahead* of the code (a newer release migrated it during a rolling upgrade) is not a
failure. `/health` stays the plain liveness check. `install` adds this, `/metrics` and
the request timing to the web app."""

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot import metrics
from models.calendar import local
from models.db import transaction
from models.upgrade import check
from models.watch import StoreState, store_state

log = logging.getLogger(__name__)
DIGEST_GRACE = timedelta(minutes=30)


def install(app: Starlette, runtime) -> None:
    """Add /health/ready, /metrics (with METRICS_TOKEN) and request timing to `app`."""
    app.router.routes.extend([Route("/health/ready", ready, methods=["GET"]),
                              *metrics.metrics_route(runtime)])
    app.add_middleware(metrics.TimedRequests)


async def store_snapshot(runtime) -> tuple[StoreState | None, bool | None]:
    """The store's state and whether today's digest is overdue; (None, None) when the
    database cannot be read."""
    now = runtime.clock()
    try:
        async with transaction(runtime.sessions) as session:
            state = await store_state(session, now)
    except Exception as problem:  # the point is to say so, not to crash the scrape
        log.warning("cannot read the store's state: %s", type(problem).__name__)
        return None, None
    return state, digest_overdue(state, now, runtime.rules.digest_at)


def digest_overdue(state: StoreState, now: datetime, digest_at) -> bool:
    there = local(now)
    due_by = there.replace(hour=digest_at.hour, minute=digest_at.minute, second=0,
                           microsecond=0) + DIGEST_GRACE
    return there >= due_by and state.digest_day != there.date()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def ready(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    body: dict = {"status": "ok"}
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        migration = await check(runtime.engine)
    except Exception as problem:
        log.warning("readiness: the database does not answer: %s", type(problem).__name__)
        return JSONResponse({"status": "down", "database": type(problem).__name__},
                            status_code=503)
    body["database"] = "ok"
    # behind the code: not ready; ahead of it (a newer release's additive migrations,
    # during a rolling upgrade): this process still works, and says so
    body["migration"] = {"current": "+".join(migration.current) or None,
                         "head": "+".join(migration.heads), "ok": migration.up_to_date,
                         "ahead": bool(migration.unknown)}
    if migration.pending and not migration.unknown:
        body["status"] = "unmigrated"
        return JSONResponse(body, status_code=503)
    state, overdue = await store_snapshot(runtime)
    if state is None:
        return JSONResponse({**body, "status": "down", "database": "unreadable"},
                            status_code=503)
    inbound = metrics.last_inbound()
    body["outbox"] = {"due": state.due, "oldest_due_seconds": round(state.oldest_due_seconds)}
    body["clock"] = {"this_process_leads": metrics.leads(),
                     "jobs_last_success": {job: _iso(at) for job, at in sorted(
                         state.jobs.items())},
                     "digest_overdue": overdue}
    body["channels"] = {
        channel: {"last_sent": _iso(state.last_sent.get(channel)),
                  "last_webhook_seconds_ago": (round(time.time() - inbound[channel])
                                               if channel in inbound else None)}
        for channel in sorted(runtime.senders)}
    return JSONResponse(body)
