"""What people read: greetings that fit who they are, the summary's end time, the
reminder's address and service, durations in hours and minutes, '1°' for the first of the
month, a sentence opening with a weekday capitalised, one status without two colons."""

from datetime import date, time

import pytest

from handlers import formatting
from models.base import Role
from scheduler import jobs
from tests.support import Chatter, new_code, plain
from tests.test_operators import Inbox, book_in_alfa, deliver


async def enrol_as(runtime, phone: str | Chatter, *, org: str, role: Role = Role.WORKER,
                   gender: str | None = None, name: str = "Sam") -> str:
    chat = phone if isinstance(phone, Chatter) else Chatter(runtime, phone)
    await chat.say(await new_code(runtime, org, role))
    await chat.press("Italiano")
    await chat.press("Accetto")
    text = await chat.say(name)
    return await chat.press(gender) if gender else text


@pytest.mark.asyncio
async def test_the_welcome_fits_who_enrolled(mini):
    assert "sei iscritta a IN...TEMPO" in await enrol_as(mini, "+393339990001", org="employer",
                                                         gender="Donna")
    assert "sei iscritto a IN...TEMPO" in await enrol_as(mini, "+393339990002", org="employer",
                                                         gender="Uomo")
    neutral = await enrol_as(mini, "+393339990003", org="employer", gender="Preferisco")
    assert "benvenuto o benvenuta" in neutral and "iscritta/o" not in neutral
    operator = await enrol_as(mini, "+393339990004", org="coop-a", role=Role.OPERATOR)
    assert "ricevi i lavori di Cooperativa A" in operator and "/" not in operator
    coordinator = await enrol_as(mini, "+393339990005", org="employer", role=Role.COORDINATOR)
    assert "coordinatrice / coordinatore del programma" in coordinator
    assert "registrata/o" not in coordinator


@pytest.mark.asyncio
async def test_summary_end_time_reminder_address_and_durations(mini, clock):
    worker = Chatter(mini, "+393339990011")
    await enrol_as(mini, worker, org="employer", gender="Donna", name="Giulia")
    await worker.press("Nuova richiesta")
    await worker.press("Commissioni")
    assert any("Spesa · 1 ora · 20,00" in plain(label) for label in worker.labels), worker.labels
    await worker.press("Spesa")
    await worker.say("Alfa")
    await worker.say("giovedì alle 10")
    await worker.say("Via Verdi 7")
    summary = await worker.say("Citofono Bianchi")
    assert "Quando: giovedì 26 novembre, dalle 10:00 alle 11:00" in summary
    await worker.press("Conferma")
    await worker.say("menu")
    listed = await worker.press("Le mie richieste")
    assert "prima quelle in corso, dalla più vicina; poi le concluse" in listed
    clock.set_local(2026, 11, 25, 10, 0)  # 24 hours before
    ctx = jobs.JobContext(mini.sessions, jobs.ClockRules(), clock)
    assert await jobs.send_reminders(ctx) == 1
    inbox = Inbox()
    await deliver(mini, inbox)
    reminder = inbox.texts(worker)
    assert "Promemoria: richiesta n. 1, Spesa, giovedì 26 novembre, 10:00 in Via Verdi 7, Alfa" \
        in reminder


@pytest.mark.asyncio
async def test_a_holiday_opens_the_sentence_capitalised(mini):
    worker = Chatter(mini, "+393339990021")
    await enrol_as(mini, worker, org="employer", gender="Uomo")
    await worker.press("Nuova richiesta")
    await worker.press("Figli")
    await worker.press("Babysitting")
    await worker.say("Alfa")
    assert "Martedì 8 dicembre è un giorno festivo" in await worker.say("8/12")


@pytest.mark.asyncio
async def test_an_unserved_request_reads_waiting_with_one_colon(mini):
    from tests.support import make_person
    from tests.test_routing import THURSDAY, book

    worker = await make_person(mini, "employer", name="Giulia")
    await book(mini, worker.id, "spesa", "Gamma", THURSDAY, time(10))
    chat = Chatter(mini, "+393339990031")
    await enrol_as(mini, chat, org="employer", role=Role.COORDINATOR)
    await chat.press("Richieste senza cooperativa")
    view = await chat.press("Spesa")
    assert "Stato: in attesa — nessuna cooperativa disponibile" in view
    assert "Durata prevista: 1 ora" in view


def test_durations_and_the_first_of_the_month():
    assert [formatting.duration(m, "it") for m in (45, 60, 90, 180, 185)] == [
        "45 min", "1 ora", "1 ora e 30 min", "3 ore", "3 ore e 5 min"]
    assert formatting.duration(90, "en") == "1 hour 30 min"
    assert formatting.day(date(2026, 12, 1), "it") == "martedì 1° dicembre"
    assert formatting.day(date(2026, 12, 2), "it") == "mercoledì 2 dicembre"


@pytest.mark.asyncio
async def test_the_job_done_step_speaks_in_hours(mini, clock):
    from tests.test_operators import team

    people = await team(mini)
    await book_in_alfa(people["worker"])
    inbox = Inbox()
    await deliver(mini, inbox)
    luca = people["Luca"]
    await luca.send_payload(inbox.received[luca.external_id][-1].choices[0].payload)
    clock.set_local(2026, 11, 26, 11, 30)
    await luca.say("menu")
    await luca.press("I miei lavori")
    await luca.press("Spesa")
    asked = await luca.press("Fatto")
    assert "prevista: 1 ora" in asked and "1 ora e 30 min" in luca.labels
    assert "svolto (1 ora e 30 min)" in await luca.press("1 ora e 30")


@pytest.mark.asyncio
async def test_an_operator_sees_the_jobs_done_in_the_last_30_days(mini, clock):
    from tests.test_operators import team

    people = await team(mini)
    await book_in_alfa(people["worker"])
    inbox = Inbox()
    await deliver(mini, inbox)
    luca = people["Luca"]
    await luca.send_payload(inbox.received[luca.external_id][-1].choices[0].payload)
    await luca.say("menu")
    await luca.press("I miei lavori")
    assert "Negli ultimi 30 giorni non risultano" in await luca.press("Svolti")
    clock.set_local(2026, 11, 26, 11, 30)
    await luca.say("menu")
    await luca.press("I miei lavori")
    await luca.press("Spesa")
    await luca.press("Fatto")
    await luca.say("1h15")
    await luca.say("menu")
    await luca.press("I miei lavori")
    done = await luca.press("Svolti")
    assert "Lavori svolti negli ultimi 30 giorni: 1, per 1 ora e 15 min in tutto" in done
    assert "Spesa · Alfa · 1 ora e 15 min" in done
    clock.set_local(2026, 12, 27, 9, 0)  # a month later: no longer listed
    await luca.say("menu")
    await luca.press("I miei lavori")
    assert "non risultano" in await luca.press("Svolti")
