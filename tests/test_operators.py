"""Operators take the jobs (tiny alliance: spesa in Alfa by Cooperativa A and B)."""

import asyncio
from datetime import UTC, datetime, time

import pytest
from sqlmodel import select

from models import jobs, offers
from models import requests as store
from models.base import RequestStatus, Role
from models.calendar import add_working_minutes
from models.db import transaction
from models.fund import the_fund
from models.tables import Notice, Offer, Person, RelayMessage, ServiceRequest
from tests.support.booking import (
    THURSDAY,
    book,
    book_in_alfa,
    offered_to_the_team,
    taken_by_luca,
    the_request,
)
from tests.support.chat import Chatter, enrolled
from tests.support.people import make_person, team
from tests.support.senders import console_inbox, deliver


@pytest.mark.asyncio
async def test_offer_accept_details_done(mini):
    people = await team(mini)
    inbox = console_inbox()
    assert "affidata a Cooperativa A" in await book_in_alfa(people["worker"])
    await deliver(mini, inbox)
    offer_text = inbox.texts(people["Luca"])
    assert "Nuovo lavoro n. 1: Spesa" in offer_text and "Comune: Alfa" in offer_text
    assert "Via Verdi" not in offer_text and "Giulia" not in offer_text  # privacy
    assert "Nuovo lavoro n. 1" in inbox.texts(people["Sara"])
    assert inbox.texts(people["Ivo"]) == ""  # another cooperative
    luca = people["Luca"]
    await luca.say("menu")
    await luca.press("Lavori disponibili")
    detail = await luca.press("Spesa")
    assert "Via Verdi" not in detail and "Sostenuto dal fondo: sì" in detail
    taken = await luca.press("Accetto")
    assert "è tuo" in taken and "Via Verdi 7" in taken and "Citofono Bianchi" in taken
    assert "Lavoratore: Giulia" in taken
    await deliver(mini, inbox)
    assert "presa in carico da Cooperativa A: se ne occuperà Luca" in inbox.texts(
        people["worker"])
    assert "già stato preso da un collega" in inbox.texts(people["Sara"])
    sara = people["Sara"]
    await sara.say("menu")
    assert "non ci sono lavori disponibili" in await sara.press("Lavori disponibili")
    # before the job's time: no "Fatto", no "non c'era", and the store refuses them too
    await luca.say("menu")
    await luca.press("I miei lavori")
    assert "non è ancora cominciato" in await luca.press("Spesa")
    assert not any("Fatto" in label or "non c'era" in label for label in luca.labels)
    async with transaction(mini.sessions) as session:
        request = await session.get(ServiceRequest, 1)
        operator = await session.get(Person, request.operator_id)
        with pytest.raises(jobs.NotStarted):
            await jobs.complete(session, request, operator, 60, mini.clock())
        with pytest.raises(jobs.NotStarted):
            await jobs.no_show(session, request, operator, mini.clock())
    # Luca's jobs after it started, then done with the real duration
    mini.clock.set_local(2026, 11, 26, 11, 30)
    await luca.say("menu")
    await luca.press("I miei lavori")
    await luca.press("Spesa")
    assert "Quanto è durato" in await luca.press("Fatto")
    assert "tra 5 e 720" in await luca.say("mille")
    assert "segnato come svolto (1 ora e 15 min)" in await luca.say("1h15")
    request = await the_request(mini)
    assert (request.status, request.actual_minutes) == (RequestStatus.DONE, 75)
    async with transaction(mini.sessions) as session:
        fund = await the_fund(session)
    assert (fund.reserved_cents, fund.committed_cents) == (0, 1000)
    await deliver(mini, inbox)
    assert "risulta svolta" in inbox.texts(people["worker"])


@pytest.mark.asyncio
async def test_accept_from_the_offer_button_and_a_stale_button(mini):
    people, inbox = await offered_to_the_team(mini)
    [luca_offer] = inbox.received[people["Luca"].external_id]
    [sara_offer] = inbox.received[people["Sara"].external_id]
    assert [c.label for c in luca_offer.choices] == ["✅ Accetto", "❌ Rifiuto"]
    assert luca_offer.notice and "Lavori disponibili" in luca_offer.hint
    assert "è tuo" in await people["Luca"].send_payload(luca_offer.choices[0].payload)
    assert "già stato preso" in await people["Sara"].send_payload(
        sara_offer.choices[0].payload)
    # someone else's button: Ivo (another cooperative) presses Sara's
    assert "non è più valida" in await people["Ivo"].send_payload(
        sara_offer.choices[0].payload)
    assert (await the_request(mini)).operator_id is not None


@pytest.mark.asyncio
async def test_declined_by_all_escalates_then_the_coordinator_is_told(mini):
    people, inbox = await offered_to_the_team(mini)
    for name in ("Luca", "Sara"):
        offer = inbox.received[people[name].external_id][-1]
        assert "rifiutato" in await people[name].send_payload(offer.choices[1].payload)
    request = await the_request(mini)
    assert request.status == RequestStatus.PENDING and request.offer_round == 2
    await deliver(mini, inbox)
    assert "Nuovo lavoro n. 1" in inbox.texts(people["Ivo"])
    for name in ("Ivo", "Eva"):
        offer = inbox.received[people[name].external_id][-1]
        await people[name].send_payload(offer.choices[1].payload)
    request = await the_request(mini)
    assert request.status == RequestStatus.UNSERVED
    await deliver(mini, inbox)
    coordinator = inbox.texts(people["coordinator"])
    assert "Richiesta n. 1 senza cooperativa: Spesa, Alfa, giovedì 26 novembre, 10:00" \
        in coordinator and "tutti gli operatori hanno rifiutato" in coordinator
    assert "Via Verdi" not in coordinator and "Giulia" not in coordinator
    assert "nessuna cooperativa è riuscita" in inbox.texts(people["worker"])
    # the notice names nobody; the coordinator's own view says whom to get back to
    await people["coordinator"].say("menu")
    await people["coordinator"].press("Richieste senza cooperativa")
    view = await people["coordinator"].press("Spesa")
    assert "Da ricontattare: Giulia, dipendente di Datore" in view and "Via Verdi" not in view
    async with transaction(mini.sessions) as session:
        events = await store.events_of(session, request.id)
    reasons = " | ".join(e.reason for e in events)
    assert "rifiutata da Luca" in reasons and "inoltrata" in reasons
    assert events[-1].to_status == "unserved"


@pytest.mark.asyncio
async def test_silence_escalates_after_sixty_working_minutes(mini, clock):
    people = await team(mini)
    await book_in_alfa(people["worker"])
    async with transaction(mini.sessions) as session:
        assert await offers.escalate_overdue(session, clock.advance(minutes=59)) == 0
    async with transaction(mini.sessions) as session:
        assert await offers.escalate_overdue(session, clock.advance(minutes=2)) == 1
    request = await the_request(mini)
    assert request.status == RequestStatus.PENDING and request.tried_provider_ids
    async with transaction(mini.sessions) as session:
        opened = (await session.exec(select(Offer).where(Offer.status == "open"))).all()
        ivo = (await session.exec(select(Person).where(Person.first_name == "Ivo"))).one()
    assert {o.operator_id for o in opened} >= {ivo.id} and len(opened) == 2


def test_working_minutes_skip_nights_sundays_and_holidays():
    def rome(*args):
        from zoneinfo import ZoneInfo

        return datetime(*args, tzinfo=ZoneInfo("Europe/Rome")).astimezone(UTC)

    assert add_working_minutes(rome(2026, 11, 25, 10, 0), 60) == rome(2026, 11, 25, 11, 0)
    assert add_working_minutes(rome(2026, 11, 28, 19, 30), 60) == rome(2026, 11, 30, 8, 30)
    assert add_working_minutes(rome(2026, 12, 7, 21, 0), 60) == rome(2026, 12, 9, 9, 0)
    assert add_working_minutes(rome(2026, 3, 28, 19, 45), 30) == rome(2026, 3, 30, 8, 15)


async def all_answer_at_once(runtime, how_many: int, answer) -> tuple[list, list[str]]:
    """`how_many` operators of Cooperativa A, each with an offer of one job, all giving
    `answer` (offers.accept or offers.decline) at the same moment; their outcomes."""
    worker = await make_person(runtime, "employer")
    operators = [await make_person(runtime, "coop-a", Role.OPERATOR, f"Op{n}")
                 for n in range(how_many)]
    await book(runtime, worker.id, "spesa", "Alfa", THURSDAY, time(10))
    async with transaction(runtime.sessions) as session:
        open_offers = {o.operator_id: o.id for o in (await session.exec(select(Offer))).all()}
    assert len(open_offers) == how_many

    async def press(operator):
        async with transaction(runtime.sessions) as session:
            return (await answer(session, open_offers[operator.id], operator,
                                 runtime.clock())).outcome

    return operators, await asyncio.gather(*(press(o) for o in operators))


@pytest.mark.asyncio
async def test_many_operators_accept_at_once_one_wins_on_postgres(pg_mini):
    operators, outcomes = await all_answer_at_once(pg_mini, 8, offers.accept)
    assert outcomes.count("won") == 1
    assert set(outcomes) <= {"won", "taken", "closed"}
    request = await the_request(pg_mini)
    winner = operators[outcomes.index("won")]
    assert request.operator_id == winner.id and request.status == RequestStatus.ASSIGNED
    async with transaction(pg_mini.sessions) as session:
        statuses = sorted(o.status for o in (await session.exec(select(Offer))).all())
        assigned = (await session.exec(select(Notice).where(
            Notice.kind == "worker.assigned"))).all()
    assert statuses.count("accepted") == 1 and len(assigned) == 1


async def open_the_request(worker: Chatter) -> str:
    """The worker opens their request from the main menu."""
    await worker.say("menu")
    await worker.press("Le mie richieste")
    return await worker.press("Spesa")


async def move_to(worker: Chatter, when: str) -> str:
    await open_the_request(worker)
    await worker.press("Sposta")
    await worker.say(when)
    return await worker.press("Sì, sposta")


@pytest.mark.asyncio
async def test_release_goes_back_to_colleagues_and_the_worker_is_told(mini):
    people, inbox = await taken_by_luca(mini)
    luca = people["Luca"]
    await luca.press("Non posso più")
    assert "torna ai tuoi colleghi" in await luca.press("Sì, confermo")
    request = await the_request(mini)
    assert (request.status, request.operator_id) == (RequestStatus.PENDING, None)
    await deliver(mini, inbox)
    assert "non può più venire" in inbox.texts(people["worker"])
    assert inbox.texts(people["Sara"]).count("Nuovo lavoro n. 1") == 2
    assert inbox.texts(luca).count("Nuovo lavoro n. 1") == 1  # not offered back to Luca


@pytest.mark.asyncio
async def test_worker_cancels_a_taken_job_and_the_operator_is_told(mini):
    people, inbox = await taken_by_luca(mini)
    worker = people["worker"]
    await open_the_request(worker)
    assert "Operatore: Luca" in worker.last.text
    await worker.press("Annulla la richiesta")
    await worker.press("Non mi serve più")
    await deliver(mini, inbox)
    assert "ha annullato il lavoro n. 1" in inbox.texts(people["Luca"])


@pytest.mark.asyncio
async def test_a_move_is_offered_to_the_same_operator_then_to_colleagues(mini):
    people, inbox = await taken_by_luca(mini)
    worker = people["worker"]
    assert "spostata e affidata a Cooperativa A" in await move_to(worker, "venerdì alle 11")
    await deliver(mini, inbox)
    move_offer = inbox.received[people["Luca"].external_id][-1]
    assert "spostato dal lavoratore a venerdì 27 novembre, 11:00" in move_offer.text
    assert "Nuovo lavoro" not in inbox.texts(people["Sara"]).split("già stato preso")[-1]
    await people["Luca"].send_payload(move_offer.choices[1].payload)  # cannot
    await deliver(mini, inbox)
    assert inbox.texts(people["Sara"]).count("Nuovo lavoro n. 1") == 2


@pytest.mark.asyncio
async def test_relay_both_ways_then_closed_after_completion(mini):
    people, inbox = await taken_by_luca(mini)
    worker, luca = people["worker"], people["Luca"]
    await open_the_request(worker)
    assert "per Luca" in await worker.press("Scrivi all'operatore")
    assert "inoltrato" in await worker.say("Il citofono è rotto, chiamami dal cancello")
    await luca.press("Scrivi al lavoratore")
    await luca.say("Va bene, arrivo alle 10")
    await deliver(mini, inbox)
    assert "Messaggio da Giulia per la richiesta n. 1:\n«Il citofono è rotto" in inbox.texts(luca)
    assert "Messaggio da Luca" in inbox.texts(worker)
    assert "+39333" not in inbox.texts(luca) + inbox.texts(worker)
    # the message comes with a reply button: one tap to answer
    from_giulia = next(r for r in inbox.received[luca.external_id] if "Messaggio da" in r.text)
    assert "Scrivi il messaggio per Giulia" in await luca.send_payload(
        from_giulia.choices[0].payload)
    await luca.say("Perfetto, grazie")
    await deliver(mini, inbox)
    assert "Perfetto, grazie" in inbox.texts(worker)
    assert "non è più valida" in await people["Sara"].send_payload(
        from_giulia.choices[0].payload)
    mini.clock.set_local(2026, 11, 26, 11, 30)
    await luca.say("menu")
    await luca.press("I miei lavori")
    await luca.press("Spesa")
    await luca.press("Fatto")
    await luca.say("60")
    await open_the_request(worker)
    assert "💬 Scrivi all'operatore" not in worker.labels
    async with transaction(mini.sessions) as session:
        request = await session.get(ServiceRequest, 1)
        worker_person = await session.get(Person, request.worker_id)
        with pytest.raises(jobs.RelayClosed):
            await jobs.relay(session, request, worker_person, "ancora?", mini.clock())
        assert len((await session.exec(select(RelayMessage))).all()) == 3


@pytest.mark.asyncio
async def test_the_coordinator_reads_a_relay_only_after_a_complaint(mini):
    people, inbox = await taken_by_luca(mini)
    worker, coordinator = people["worker"], people["coordinator"]
    await open_the_request(worker)
    await worker.press("Scrivi all'operatore")
    await worker.say("A che ora arrivi?")
    async with transaction(mini.sessions) as session:
        request = await session.get(ServiceRequest, 1)
        paola = (await session.exec(select(Person).where(Person.first_name == "Paola"))).one()
        with pytest.raises(offers.NotAllowed):
            await jobs.transcript(session, request, paola)
    await open_the_request(worker)
    await worker.press("Segnala un problema")
    assert "arrivata al coordinamento" in await worker.say("Nessuno mi ha risposto")
    await deliver(mini, inbox)
    assert "Segnalazione sulla richiesta n. 1" in inbox.texts(coordinator)
    await coordinator.say("menu")
    await coordinator.press("Segnalazioni")
    view = await coordinator.press("Spesa")
    assert "Nessuno mi ha risposto" in view and "Lavoratore (Giulia): A che ora arrivi?" in view


@pytest.mark.asyncio
async def test_authorisation_matrix(mini):
    """Every role × every action on someone else's job is refused and changes nothing."""
    await taken_by_luca(mini)
    async with transaction(mini.sessions) as session:
        by_name = {p.first_name: p for p in (await session.exec(select(Person))).all()}
        request = await session.get(ServiceRequest, 1)
        luca_offer = (await session.exec(select(Offer).where(
            Offer.operator_id == by_name["Luca"].id))).first()
    stranger_worker = await make_person(mini, "employer", name="Mario")
    now = mini.clock()
    job_actions = {
        "complete": lambda s, r, p: jobs.complete(s, r, p, 60, now),
        "no_show": lambda s, r, p: jobs.no_show(s, r, p, now),
        "release": lambda s, r, p: jobs.release(s, r, p, now),
    }
    for name in ("Sara", "Ivo", "Eva", "Paola", "Giulia"):
        person = by_name[name]
        for action in job_actions:
            async with transaction(mini.sessions) as session:
                with pytest.raises(offers.NotAllowed):
                    await jobs.assigned_job(session, request.id, person, action)
        for verb in (offers.accept, offers.decline):
            async with transaction(mini.sessions) as session:
                with pytest.raises(offers.NotAllowed):
                    await verb(session, luca_offer.id, person, now)
    for person in (by_name["Sara"], by_name["Ivo"], by_name["Paola"], stranger_worker):
        async with transaction(mini.sessions) as session:
            with pytest.raises(offers.NotAllowed):
                await jobs.relay(session, request, person, "ciao", now)
            with pytest.raises(offers.NotAllowed):
                await jobs.transcript(session, request, person)
    for person in (stranger_worker, by_name["Luca"], by_name["Paola"]):
        async with transaction(mini.sessions) as session:
            with pytest.raises(offers.NotAllowed):
                await store.own_request(session, request.id, person)
            with pytest.raises(offers.NotAllowed):
                await jobs.complain(session, request, person, "no", now)
    after = await the_request(mini)
    assert (after.status, after.operator_id) == (RequestStatus.ASSIGNED, by_name["Luca"].id)
    # the job's own operator can act (the matrix is not refusing everyone)
    now = mini.clock.set_local(2026, 11, 26, 11, 0)
    async with transaction(mini.sessions) as session:
        job = await jobs.assigned_job(session, request.id, by_name["Luca"], "complete")
        assert await jobs.complete(session, job, by_name["Luca"], 60, now)


@pytest.mark.asyncio
async def test_an_operator_who_joins_later_sees_the_open_job_and_can_take_it(mini):
    worker = await enrolled(mini, "+393335550001", org="employer", name="Giulia")
    await book_in_alfa(worker)  # Cooperativa A has nobody in the bot yet
    late = await enrolled(mini, "+393335550010", org="coop-a", role=Role.OPERATOR,
                          name="Luca")
    other = await enrolled(mini, "+393335550012", org="coop-b", role=Role.OPERATOR,
                           name="Ivo")
    await late.say("menu")
    await late.press("Lavori disponibili")
    assert "Spesa" in await late.press("Spesa")
    assert "è tuo" in await late.press("Accetto")
    assert (await the_request(mini)).status == RequestStatus.ASSIGNED
    await other.say("menu")
    assert "non ci sono lavori disponibili" in await other.press("Lavori disponibili")


@pytest.mark.asyncio
async def test_a_declined_job_is_not_listed_again_to_who_declined_it(mini):
    people, inbox = await offered_to_the_team(mini)
    luca = people["Luca"]
    await luca.send_payload(inbox.received[luca.external_id][-1].choices[1].payload)
    await luca.say("menu")
    assert "non ci sono lavori disponibili" in await luca.press("Lavori disponibili")
    sara = people["Sara"]
    await sara.say("menu")
    await sara.press("Lavori disponibili")
    assert any("Spesa" in label for label in sara.labels)


@pytest.mark.asyncio
async def test_a_stale_offer_view_says_a_colleague_took_it(mini):
    people, inbox = await offered_to_the_team(mini)
    sara = people["Sara"]
    await sara.say("menu")
    await sara.press("Lavori disponibili")
    await sara.press("Spesa")  # Sara looks at the offer…
    luca = people["Luca"]
    await luca.send_payload(inbox.received[luca.external_id][-1].choices[0].payload)
    assert "già stato preso da un collega" in await sara.press("Accetto")  # …Luca was faster


@pytest.mark.asyncio
async def test_a_move_to_a_slot_of_another_cooperative_tells_the_operator(mini):
    people, inbox = await taken_by_luca(mini)
    worker = people["worker"]
    # only Cooperativa B works on Saturdays
    assert "Cooperativa B" in await move_to(worker, "sabato alle 15")
    await deliver(mini, inbox)
    assert "non è più tra i tuoi lavori" in inbox.texts(people["Luca"])
    assert "Nuovo lavoro n. 1" in inbox.texts(people["Ivo"])
    request = await the_request(mini)
    assert request.tried_provider_ids == []  # a new slot: every cooperative may serve it


@pytest.mark.asyncio
async def test_an_unanswered_move_goes_to_the_colleagues_not_to_another_cooperative(mini):
    people, inbox = await taken_by_luca(mini)
    worker = people["worker"]
    await move_to(worker, "venerdì alle 11")
    async with transaction(mini.sessions) as session:
        assert await offers.escalate_overdue(session, mini.clock.advance(minutes=61)) == 1
    await deliver(mini, inbox)
    request = await the_request(mini)
    assert request.status == RequestStatus.PENDING
    assert inbox.texts(people["Sara"]).count("Nuovo lavoro n. 1") == 2
    assert "Nuovo lavoro" not in inbox.texts(people["Ivo"])


@pytest.mark.asyncio
async def test_events_record_the_status_left_and_the_status_reached(mini):
    await taken_by_luca(mini)
    async with transaction(mini.sessions) as session:
        events = await store.events_of(session, 1)
    taken = next(e for e in events if e.reason.startswith("presa da"))
    assert (taken.from_status, taken.to_status) == ("pending", "assigned")


@pytest.mark.asyncio
async def test_the_last_two_declines_at_once_still_escalate_on_postgres(pg_mini):
    _, outcomes = await all_answer_at_once(pg_mini, 2, offers.decline)
    assert outcomes == ["declined", "declined"]
    request = await the_request(pg_mini)
    assert request.offer_round == 2 and request.tried_provider_ids  # on to Cooperativa B
