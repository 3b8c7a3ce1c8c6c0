"""The clock: one leader on PostgreSQL (which survives losing its connection), stable jobs,
restart safety, and the dispatcher's rate limits under a burst (simulated time)."""

import asyncio
import bisect
import itertools
import logging
from datetime import date, time

import pytest
from sqlalchemy import text
from sqlmodel import select

from models.base import Role
from models.db import transaction
from models.outbox import queue_notice
from models.tables import ChatIdentity, Notice
from scheduler import clock as clock_module
from scheduler import jobs
from scheduler.digest import days_due
from scheduler.dispatcher import Dispatcher
from tests.support.booking import book
from tests.support.clock import ROME
from tests.support.people import make_person
from tests.support.senders import LimitedSender


@pytest.mark.asyncio
async def test_two_clocks_on_postgres_one_runs(pg_runtime):
    first = clock_module.Leadership(pg_runtime.engine)
    second = clock_module.Leadership(pg_runtime.engine)
    assert await first.try_acquire() is True
    assert await second.try_acquire() is False
    assert await first.still_held()
    await first.release()
    assert await second.try_acquire() is True  # the standby takes over
    await second.release()


@pytest.fixture
def started(monkeypatch) -> list:
    """The schedulers run_clock builds (one each time this process becomes the leader)."""
    built = []
    original = clock_module.build_scheduler

    def counting_build(ctx, timezone="Europe/Rome", extra=None):
        built.append(original(ctx, timezone, extra))
        return built[-1]

    monkeypatch.setattr(clock_module, "build_scheduler", counting_build)
    return built


def clock_task(runtime) -> asyncio.Task:
    return asyncio.create_task(clock_module.run_clock(runtime.engine, runtime.job_context(),
                                                      standby_seconds=0.05))


async def until(condition, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    assert condition()


async def stop(*tasks: asyncio.Task) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.asyncio
async def test_run_clock_standby_takes_over_when_the_leader_stops(pg_runtime, started):
    both = clock_task(pg_runtime), clock_task(pg_runtime)
    await until(lambda: len(started) >= 1)
    await asyncio.sleep(0.5)
    assert len(started) == 1  # two clocks started at once: one runs
    await stop(*both)
    started.clear()
    leader = clock_task(pg_runtime)
    await until(lambda: len(started) == 1)  # (started first, so that it is the one leading)
    standby = clock_task(pg_runtime)
    try:
        await asyncio.sleep(0.5)
        assert len(started) == 1  # a second clock started: it stands by
        await stop(leader)
        await until(lambda: len(started) == 2)  # the standby took over
    finally:
        await stop(leader, standby)


async def clock_leader_pid(engine) -> int | None:
    """The server process of the connection that holds the clock's lock."""
    async with engine.connect() as connection:
        return (await connection.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = 0 AND objid = :key AND database ="
            " (SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"key": clock_module.LOCK_KEY})).scalar()


@pytest.mark.asyncio
async def test_the_leader_survives_losing_its_connection_and_leads_again(pg_runtime,
                                                                         started):
    clock = clock_task(pg_runtime)
    try:
        await until(lambda: len(started) == 1)
        lost = await clock_leader_pid(pg_runtime.engine)
        async with pg_runtime.engine.connect() as connection:
            assert (await connection.execute(text("SELECT pg_terminate_backend(:pid)"),
                                             {"pid": lost})).scalar()
        await until(lambda: len(started) == 2)  # it noticed, stood by, and leads again
        assert not clock.done()
        assert not started[0].running and started[1].running  # the old jobs stopped
        assert await clock_leader_pid(pg_runtime.engine) not in (None, lost)
    finally:
        await stop(clock)


@pytest.mark.asyncio
async def test_jobs_have_stable_ids_and_generous_grace(runtime):
    scheduler = clock_module.build_scheduler(runtime.job_context(),
                                             extra={"digest": jobs.retention})
    scheduler.start(paused=True)
    try:
        found = {job.id: job for job in scheduler.get_jobs()}
        assert set(found) == {"escalations", "expired", "reminders", "surveys", "retention",
                              "digest"}
        assert all(job.misfire_grace_time >= 3600 and job.coalesce for job in found.values())
        assert str(scheduler.timezone) == "Europe/Rome"
        assert logging.getLogger("apscheduler").getEffectiveLevel() == logging.WARNING
        # building it again replaces rather than duplicates
        clock_module.build_scheduler(runtime.job_context())
    finally:
        scheduler.shutdown(wait=False)


def test_digest_days_catch_up_without_repeating():
    at = time(18)
    def now(*args):
        from datetime import datetime
        return datetime(*args, tzinfo=ROME)
    assert days_due(None, now(2026, 11, 25, 17, 0), at) == []
    assert days_due(None, now(2026, 11, 25, 18, 5), at) == [date(2026, 11, 25)]
    assert days_due(date(2026, 11, 25), now(2026, 11, 25, 19, 0), at) == []
    assert days_due(date(2026, 11, 24), now(2026, 11, 25, 10, 0), at) == []
    # down for a day: yesterday's digest is sent when the process comes back
    assert days_due(date(2026, 11, 23), now(2026, 11, 25, 10, 0), at) == [date(2026, 11, 24)]
    # down for a fortnight: only the last three days
    assert days_due(date(2026, 11, 1), now(2026, 11, 25, 19, 0), at) == [
        date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)]


async def people_with_notices(runtime, people: int, each: int) -> None:
    async with transaction(runtime.sessions) as session:
        from models.tables import Organisation, Person

        org = (await session.exec(select(Organisation).where(
            Organisation.code == "employer"))).one()
        for n in range(people):
            person = Person(role=Role.COORDINATOR, organisation_id=org.id, first_name=f"P{n}")
            session.add(person)
            await session.flush()
            session.add(ChatIdentity(channel="telegram", external_id=str(1000 + n),
                                     person_id=person.id))
            for k in range(each):
                await queue_notice(session, person_id=person.id, kind="coordinator.digest",
                                   params={"text": f"avviso {k}"},
                                   dedupe_key=f"burst:{n}:{k}", now=runtime.clock())


@pytest.mark.asyncio
@pytest.mark.looptime  # simulated time: the limiter's sleeps take no real time
async def test_a_burst_of_a_thousand_notices_keeps_telegrams_limits(mini):
    await people_with_notices(mini, people=200, each=5)
    loop = asyncio.get_running_loop()
    sender = LimitedSender("telegram", loop.time)
    dispatcher = Dispatcher(mini.sessions, {"telegram": sender}, clock=mini.clock,
                            batch=1000, timer=loop.time, sleep=asyncio.sleep)
    while await dispatcher.run_once():
        pass
    times = sorted(sender.times)
    assert len(times) == 1000
    busiest = max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))
    assert busiest <= 30
    per_chat: dict[str, list[float]] = {}
    for t, (chat, _) in zip(sender.times, sender.sent, strict=True):
        per_chat.setdefault(chat, []).append(t)
    gaps = [b - a for ts in per_chat.values() for a, b in itertools.pairwise(ts)]
    assert min(gaps) >= 1.0
    rate = len(times) / (times[-1] - times[0])
    assert rate >= 0.9 * 30  # the limit is used, not just respected


@pytest.mark.asyncio
async def test_a_restart_between_queueing_and_sending_sends_each_notice_once(mini, clock):
    await make_person(mini, "employer", Role.COORDINATOR)
    worker = await make_person(mini, "employer")
    await book(mini, worker.id, "spesa", "Alfa", date(2026, 11, 27), time(10))
    ctx = jobs.JobContext(mini.sessions, jobs.ClockRules(), clock)
    clock.set_local(2026, 11, 26, 10, 0)
    await jobs.send_reminders(ctx)
    # "restart": the clock runs again before anything was sent, then a new dispatcher
    await jobs.send_reminders(ctx)
    async with transaction(mini.sessions) as session:
        session.add(ChatIdentity(channel="telegram", external_id="42", person_id=worker.id))
    sender = LimitedSender("telegram", lambda: 0.0)
    await Dispatcher(mini.sessions, {"telegram": sender}, clock=clock).run_once()
    await jobs.send_reminders(ctx)
    await Dispatcher(mini.sessions, {"telegram": sender}, clock=clock).run_once()
    async with transaction(mini.sessions) as session:
        reminders = (await session.exec(select(Notice).where(
            Notice.kind == "worker.reminder"))).all()
    assert len(reminders) == 1 and len(sender.sent) == 1
