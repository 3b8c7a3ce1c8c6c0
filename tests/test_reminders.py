"""Reminders 24 hours and 1 hour before, to the worker and the assigned operator: at the
right times across daylight-saving changes, never in quiet hours, never for late requests,
each sent once; from the reminder the worker confirms, moves or cancels in one tap."""

from datetime import date, time, timedelta

import pytest
from sqlmodel import select

from models import offers
from models.base import RequestStatus, Role
from models.calendar import before, local, to_utc
from models.db import transaction
from models.tables import Notice, Offer, ServiceRequest
from scheduler import jobs
from tests.support.booking import book, taken_by_luca
from tests.support.chat import enrolled
from tests.support.people import make_person
from tests.support.senders import console_inbox, deliver

QUIET = (time(21), time(8))


async def reminders_now(runtime) -> int:
    ctx = jobs.JobContext(runtime.sessions, jobs.ClockRules(quiet=QUIET), runtime.clock)
    return await jobs.send_reminders(ctx)


async def reminder_notices(runtime) -> list[Notice]:
    async with transaction(runtime.sessions) as session:
        return list(await session.exec(select(Notice).where(
            Notice.kind.in_(("worker.reminder", "operator.reminder"))).order_by(Notice.id)))


def test_whole_days_are_counted_on_the_wall_clock_across_dst():
    spring = to_utc(date(2026, 3, 29), time(10))  # the Sunday the clocks go forward
    assert local(before(spring, 24)).replace(tzinfo=None).isoformat() == "2026-03-28T10:00:00"
    assert spring - before(spring, 24) == timedelta(hours=23)
    autumn = to_utc(date(2026, 10, 25), time(10))  # the Sunday the clocks go back
    assert local(before(autumn, 24)).replace(tzinfo=None).isoformat() == "2026-10-24T10:00:00"
    assert autumn - before(autumn, 24) == timedelta(hours=25)
    assert autumn - before(autumn, 1) == timedelta(hours=1)


@pytest.mark.asyncio
@pytest.mark.parametrize(("booked_at", "day", "expected_local"), [
    # the Sundays the clocks go back (25 October 2026) and forward (29 March 2026)
    ((2026, 10, 22, 9, 0), date(2026, 10, 25), ["2026-10-24 10:00", "2026-10-25 09:00"]),
    ((2026, 3, 26, 9, 0), date(2026, 3, 29), ["2026-03-28 10:00", "2026-03-29 09:00"]),
])
async def test_reminders_at_the_right_local_times_across_dst(mini, clock, booked_at, day,
                                                             expected_local):
    clock.set_local(*booked_at)
    worker = await make_person(mini, "employer")
    await book(mini, worker.id, "baby", "Alfa", day, time(10))  # babysitting runs on Sundays
    sent_at = []
    minute = clock()
    end = to_utc(day, time(10))
    while minute < end:  # the clock's job every five minutes (every minute in production)
        clock.now = minute
        before_count = len(await reminder_notices(mini))
        await reminders_now(mini)
        if len(await reminder_notices(mini)) > before_count:
            sent_at.append(local(minute).strftime("%Y-%m-%d %H:%M"))
        minute += timedelta(minutes=5)
    assert sent_at == expected_local


@pytest.mark.asyncio
async def test_quiet_hours_delay_then_skip_when_no_longer_useful(mini, clock):
    worker = await make_person(mini, "employer")
    clock.set_local(2026, 11, 25, 9, 0)
    await book(mini, worker.id, "spesa", "Alfa", date(2026, 11, 27), time(9))  # Fri 09:00
    clock.set_local(2026, 11, 26, 9, 0)  # 24 h before: outside quiet hours
    assert await reminders_now(mini) == 1
    clock.set_local(2026, 11, 27, 8, 0)  # 1 h before, at the end of the quiet period
    assert await reminders_now(mini) == 1
    # a service at 08:00: its 1-hour reminder falls at 07:00, in quiet hours; when they end
    # the service is starting, so the reminder is skipped rather than sent late
    await book(mini, worker.id, "baby", "Alfa", date(2026, 11, 30), time(8))
    clock.set_local(2026, 11, 30, 7, 0)
    assert await reminders_now(mini) == 0  # quiet
    clock.set_local(2026, 11, 30, 7, 50)
    assert await reminders_now(mini) == 0  # quiet, 10 minutes before
    clock.set_local(2026, 11, 30, 8, 0)
    assert await reminders_now(mini) == 0  # no longer useful
    kinds = [(n.kind, n.dedupe_key.split(":")[-1]) for n in await reminder_notices(mini)]
    assert kinds == [("worker.reminder", "24"), ("worker.reminder", "1")]


@pytest.mark.asyncio
async def test_no_reminder_for_a_request_made_after_its_time(mini, clock):
    worker = await make_person(mini, "employer")
    clock.set_local(2026, 11, 26, 9, 0)  # Thursday 09:00 for Thursday 11:00: the 24 h is gone
    await book(mini, worker.id, "spesa", "Alfa", date(2026, 11, 26), time(11))
    assert await reminders_now(mini) == 0
    clock.set_local(2026, 11, 26, 10, 0)
    assert await reminders_now(mini) == 1
    [notice] = await reminder_notices(mini)
    assert notice.dedupe_key.endswith(":1")


@pytest.mark.asyncio
async def test_sent_once_and_to_the_assigned_operator_too(mini, clock):
    worker = await make_person(mini, "employer")
    operator = await make_person(mini, "coop-a", Role.OPERATOR, "Luca")
    await book(mini, worker.id, "spesa", "Alfa", date(2026, 11, 27), time(9))
    async with transaction(mini.sessions) as session:
        offer = (await session.exec(select(Offer))).one()
        await offers.accept(session, offer.id, operator, clock())
    clock.set_local(2026, 11, 26, 9, 0)
    for _ in range(3):
        await reminders_now(mini)
        clock.advance(minutes=1)
    notices = await reminder_notices(mini)
    assert [(n.kind, n.person_id) for n in notices] == [
        ("worker.reminder", worker.id), ("operator.reminder", operator.id)]


@pytest.mark.asyncio
async def test_one_tap_from_the_reminder(mini, clock):
    chat = await enrolled(mini, "+393336660001", org="employer")
    await chat.press("Nuova richiesta")
    await chat.press("Commissioni")
    await chat.press("Spesa")
    await chat.say("Alfa")
    await chat.say("venerdì alle 10")
    await chat.say("Via Po 1")
    await chat.press("Nessuna")
    await chat.press("Conferma")
    clock.set_local(2026, 11, 26, 10, 0)
    await reminders_now(mini)
    inbox = console_inbox()
    await deliver(mini, inbox)
    [reminder] = inbox.received[chat.external_id]
    assert "Promemoria: richiesta n. 1, Spesa, venerdì 27 novembre, 10:00 in Via Po 1, Alfa" in \
        reminder.text
    assert [c.label for c in reminder.choices] == ["👍 Ci sarò", "🕒 Sposta", "❌ Annulla"]
    assert "Grazie della conferma" in await chat.send_payload(reminder.choices[0].payload)
    assert "Che giorno" in await chat.send_payload(reminder.choices[1].payload)
    await chat.say("menu")
    assert "Perché vuoi annullare" in await chat.send_payload(reminder.choices[2].payload)
    await chat.press("Non mi serve più")
    async with transaction(mini.sessions) as session:
        request = (await session.exec(select(ServiceRequest))).one()
    assert request.status == RequestStatus.CANCELLED
    other = await enrolled(mini, "+393336660002", org="employer", name="Marco")
    assert "non è più valida" in await other.send_payload(reminder.choices[2].payload)


@pytest.mark.asyncio
async def test_ci_saro_is_recorded_and_tells_the_operator(mini, clock):
    from models.tables import Notice, RequestEvent

    people, inbox = await taken_by_luca(mini)
    clock.set_local(2026, 11, 25, 10, 30)  # 24 hours before Thursday 10:00
    await reminders_now(mini)
    await deliver(mini, inbox)
    reminder = inbox.received[people["worker"].external_id][-1]
    assert "Grazie della conferma" in await people["worker"].send_payload(
        reminder.choices[0].payload)
    await people["worker"].send_payload(reminder.choices[0].payload)  # pressed twice
    await deliver(mini, inbox)
    assert inbox.texts(people["Luca"]).count("Il lavoratore ha confermato il lavoro n. 1") == 1
    async with transaction(mini.sessions) as session:
        reasons = (await session.exec(select(RequestEvent.reason))).all()
        told = (await session.exec(select(Notice).where(
            Notice.kind == "operator.worker_confirmed"))).all()
    assert "confermata dal lavoratore dopo il promemoria" in reasons and len(told) == 1


@pytest.mark.asyncio
async def test_a_job_left_open_after_its_time_is_nudged_once_to_its_operator(mini, clock):
    people, inbox = await taken_by_luca(mini)  # Thursday 10:00, 60 minutes
    clock.set_local(2026, 11, 26, 12, 59)
    await reminders_now(mini)
    await deliver(mini, inbox)
    assert "risulta ancora aperto" not in inbox.texts(people["Luca"])
    clock.set_local(2026, 11, 26, 13, 1)  # two hours past its planned end
    for _ in range(3):
        await reminders_now(mini)
        clock.advance(minutes=1)
    await deliver(mini, inbox)
    luca = people["Luca"]
    assert inbox.texts(luca).count("Il lavoro n. 1 (Spesa") == 1
    nudge = inbox.received[luca.external_id][-1]
    assert "Lavoro n. 1" in await luca.send_payload(nudge.choices[0].payload)
    assert any("Fatto" in label for label in luca.labels)  # the job, ready to close
    assert "non è più valida" in await people["Sara"].send_payload(nudge.choices[0].payload)


@pytest.mark.asyncio
async def test_ci_saro_in_the_middle_of_a_new_request_keeps_the_draft(mini, clock):
    people, inbox = await taken_by_luca(mini)
    worker = people["worker"]
    await worker.say("menu")
    await worker.press("Nuova richiesta")
    await worker.press("Commissioni")
    await worker.press("Spesa")
    assert "Che giorno" in await worker.say("Alfa")
    clock.set_local(2026, 11, 25, 10, 30)
    await reminders_now(mini)
    await deliver(mini, inbox)
    reminder = inbox.received[worker.external_id][-1]
    text = await worker.send_payload(reminder.choices[0].payload)
    assert "Grazie della conferma" in text and "Che giorno" in text  # back where it was
    assert "A quale indirizzo" in await worker.say("venerdì alle 11")  # the draft goes on
