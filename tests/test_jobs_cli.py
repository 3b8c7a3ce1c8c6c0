"""`intempo jobs run --at …`: the clock's jobs at a chosen moment, refused while a clock
runs on the same database unless --yes (real processes, a real SQLite file)."""

import asyncio
from datetime import UTC, datetime

from sqlmodel import select

from bot.runtime import start_runtime
from bot.settings import Settings
from models.base import RequestStatus, Role
from models.db import transaction
from models.tables import (
    ClockMark,
    Municipality,
    Organisation,
    Person,
    Service,
    ServiceRequest,
)
from scheduler.clock import HEARTBEAT
from tests.support.cli import intempo
from tests.support.clock import ROME


def in_store(folder, work):
    async def run():
        runtime = await start_runtime(Settings(
            database_url=f"sqlite+aiosqlite:///{folder / 'cli.db'}", _env_file=None))
        try:
            async with transaction(runtime.sessions) as session:
                return await work(session)
        finally:
            await runtime.close()

    return asyncio.run(run())


async def an_unserved_request(session) -> int:
    """A worker's request nobody could take, for 10 December at 10:00."""
    org = (await session.exec(select(Organisation).where(Organisation.code == "ali"))).one()
    worker = Person(role=Role.WORKER, organisation_id=org.id, first_name="Marta")
    session.add(worker)
    await session.flush()
    service = (await session.exec(select(Service))).first()
    place = (await session.exec(select(Municipality))).first()
    request = ServiceRequest(
        worker_id=worker.id, service_id=service.id, municipality_id=place.id,
        starts_at=datetime(2026, 12, 10, 10, tzinfo=ROME).astimezone(UTC),
        duration_minutes=60, status=RequestStatus.UNSERVED, price_cents=1000)
    session.add(request)
    await session.flush()
    return request.id


def test_jobs_run_at_a_moment_and_refused_while_a_clock_runs(ready):
    request_id = in_store(ready, an_unserved_request)
    early = intempo(ready, "jobs", "run", "--at", "2026-12-10 09:00")
    assert early.returncode == 0, early.stderr
    assert "clock jobs at 10/12/2026 09:00" in early.stdout and "expired: 0" in early.stdout
    late = intempo(ready, "jobs", "run", "--at", "10/12/2026 10:30")
    assert "expired: 1" in late.stdout and "digest:" in late.stdout

    async def status(session):
        return (await session.get(ServiceRequest, request_id)).status

    assert in_store(ready, status) == RequestStatus.CANCELLED

    async def heartbeat(session):
        session.add(ClockMark(name=HEARTBEAT, value="running", updated_at=datetime.now(UTC)))

    in_store(ready, heartbeat)
    refused = intempo(ready, "jobs", "run", "--at", "2026-12-11 09:00")
    assert refused.returncode == 1 and "add --yes" in refused.stderr
    assert "expired" not in refused.stdout
    forced = intempo(ready, "jobs", "run", "--at", "2026-12-11 09:00", "--yes")
    assert forced.returncode == 0 and "expired: 0" in forced.stdout
    wrong = intempo(ready, "jobs", "run", "--at", "domani")
    assert wrong.returncode == 1 and "2026-12-03 14:00" in wrong.stderr
