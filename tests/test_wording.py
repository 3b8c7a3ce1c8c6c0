"""What people read: greetings that fit who they are, the summary's end time, the
reminder's address and service, durations in hours and minutes, '1°' for the first of the
month, a sentence opening with a weekday capitalised, one status without two colons."""

from datetime import date, time

import pytest

from handlers import formatting
from models.base import Role
from scheduler import jobs
from tests.support.booking import THURSDAY, book, book_in_alfa
from tests.support.chat import Chatter, new_code, plain
from tests.support.people import make_person, team
from tests.support.senders import console_inbox, deliver
from tests.support.surveys import done_job, surveys_now


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
    inbox = console_inbox()
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
    people = await team(mini)
    await book_in_alfa(people["worker"])
    inbox = console_inbox()
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
    people = await team(mini)
    await book_in_alfa(people["worker"])
    inbox = console_inbox()
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


@pytest.mark.asyncio
async def test_digests_missed_while_down_make_one_catch_up_in_the_morning(mini, clock):
    from sqlmodel import select

    from models.db import transaction
    from models.tables import ClockMark, Notice
    from scheduler.digest import MARK, queue_digests

    paola = Chatter(mini, "+393339990041")
    await enrol_as(mini, paola, org="employer", role=Role.COORDINATOR, name="Paola")
    async with transaction(mini.sessions) as session:
        session.add(ClockMark(name=MARK, value="2026-11-22"))
    ctx = jobs.JobContext(mini.sessions, jobs.ClockRules(), clock)
    clock.set_local(2026, 11, 25, 3, 30)  # the worker comes back in the night
    assert await queue_digests(ctx) == [date(2026, 11, 23), date(2026, 11, 24)]
    assert await queue_digests(ctx) == []
    async with transaction(mini.sessions) as session:
        digests = (await session.exec(select(Notice).where(
            Notice.kind == "coordinator.digest"))).all()
    assert len(digests) == 1
    text = plain(digests[0].params["text"])
    assert text.startswith("⏪ Riepilogo in ritardo")
    assert "Le cifre sono quelle di martedì 24 novembre, 18:00" in text
    assert "riepiloghi di lunedì 23 novembre" in text and "/stats 23/11-23/11" in text
    assert "Riepilogo di martedì 24 novembre" in text
    from models.calendar import local
    assert local(digests[0].next_attempt_at).hour == 8  # after the quiet hours
    clock.set_local(2026, 11, 25, 18, 1)  # back on time: a plain digest
    assert await queue_digests(ctx) == [date(2026, 11, 25)]
    async with transaction(mini.sessions) as session:
        today = (await session.exec(select(Notice).where(
            Notice.dedupe_key.startswith("digest:2026-11-25")))).one()
    assert "ritardo" not in today.params["text"]


@pytest.mark.asyncio
async def test_survey_comments_are_seen_counted_and_exported_only_when_shared(mini, clock):
    from sqlmodel import select

    from handlers.reports import digest_text, indicators_csv
    from models import surveys
    from models.db import transaction
    from models.figures import digest_figures, period_figures
    from models.tables import Survey

    worker, _luca, paola, inbox = await done_job(mini, clock)
    clock.set_local(2026, 11, 26, 13, 0)
    await surveys_now(mini)
    await deliver(mini, inbox)
    question = inbox.received[worker.external_id][-1]
    await worker.send_payload(question.choices[1].payload)  # 2
    assert "senza il tuo nome" in await worker.say("Arrivato tardi, ma gentile")
    assert "ci aiuta a migliorare" in await worker.press("No, resta riservato")
    await paola.say("menu")
    await paola.press("Segnalazioni")
    assert paola.labels[0].startswith("💬")
    view = await paola.press("Spesa")
    assert "Questionario: voto 2 su 5 · commento: «Arrivato tardi, ma gentile»" in view
    clock.set_local(2026, 11, 26, 18, 0)
    async with transaction(mini.sessions) as session:
        today = await digest_figures(session, date(2026, 11, 26), clock())
        month = await period_figures(session, date(2026, 11, 1), date(2026, 11, 30), clock())
    assert "Commenti: 1." in digest_text(today, "it")
    private = indicators_csv(month, date(2026, 11, 1), date(2026, 11, 30)).decode("utf-8-sig")
    assert "soddisfazione;commenti ricevuti;;1" in private and "Arrivato tardi" not in private
    async with transaction(mini.sessions) as session:
        survey = (await session.exec(select(Survey))).one()
        await surveys.share_comment(session, survey, True)
    async with transaction(mini.sessions) as session:
        month = await period_figures(session, date(2026, 11, 1), date(2026, 11, 30), clock())
    shared = indicators_csv(month, date(2026, 11, 1), date(2026, 11, 30)).decode("utf-8-sig")
    assert "commento (condiviso dal lavoratore);;Arrivato tardi, ma gentile" in shared
    assert "Giulia" not in shared


@pytest.mark.asyncio
async def test_periods_by_month_name_and_backwards(mini):
    paola = Chatter(mini, "+393339990051")
    await enrol_as(mini, paola, org="employer", role=Role.COORDINATOR, name="Paola")
    assert "Dati dal 1° novembre 2026 al 30 novembre 2026" in await paola.say("/stats novembre")
    assert "scritto al contrario" in await paola.say("30/11-01/11")
    assert "Non ho capito il periodo" in await paola.say("boh")
    assert "Dati del 24 novembre 2026" in await paola.say("ieri")


@pytest.mark.asyncio
async def test_date_examples_are_always_ahead(mini, clock):
    worker = Chatter(mini, "+393339990061")
    await enrol_as(mini, worker, org="employer", gender="Donna")
    clock.set_local(2026, 12, 20, 9, 0)
    await worker.say("menu")
    await worker.press("Nuova richiesta")
    await worker.press("Commissioni")
    await worker.press("Spesa")
    asked = await worker.say("Alfa")
    assert "22/12" in asked
    assert "27/11" not in asked and "27/11" not in await worker.say("aiuto")


@pytest.mark.asyncio
async def test_ieri_as_a_day_is_understood_and_said_to_be_past(mini):
    worker = Chatter(mini, "+393339990071")
    await enrol_as(mini, worker, org="employer", gender="Donna")
    await worker.press("Nuova richiesta")
    await worker.press("Commissioni")
    await worker.press("Spesa")
    await worker.say("Alfa")
    answer = await worker.say("ieri alle 10")
    assert "Questa data è già passata" in answer and "posti liberi" not in answer
