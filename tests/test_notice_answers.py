"""A typed number answers what the person last saw. A notice with choices becomes the
chat's current step only once it is on the screen (console: printed; WhatsApp: sent), and
«indietro» goes back to where the person was; numbers with a sign or out of range are not
choices."""

from datetime import time, timedelta

import pytest
from sqlmodel import select

from bot.console import show_inbox
from models import offers
from models.base import RequestStatus, Role
from models.db import transaction
from models.tables import Offer, Person, ServiceRequest
from tests.support.booking import THURSDAY, book, book_in_alfa
from tests.support.chat import enrolled
from tests.support.people import person_named
from tests.support.surveys import done_job, surveys_now


async def on_screen(runtime, chat) -> str:
    """Print the chat's console inbox as `intempo chat` does between two answers."""
    lines: list[str] = []
    await show_inbox(runtime, chat.external_id, lines.append)
    return "\n".join(lines)


async def request_status(runtime, request_id: int = 1) -> str:
    async with transaction(runtime.sessions) as session:
        return (await session.get(ServiceRequest, request_id)).status


@pytest.mark.asyncio
async def test_a_number_answers_the_screen_until_the_notice_is_printed(mini):
    worker = await enrolled(mini, "+393336660001", org="employer")
    luca = await enrolled(mini, "+393336660002", org="coop-a", role=Role.OPERATOR, name="Luca")
    await book_in_alfa(worker)
    operator = await person_named(mini, "Luca")
    async with transaction(mini.sessions) as session:
        offer_id = (await session.exec(select(Offer.id))).first()
        await offers.accept(session, offer_id, await session.get(Person, operator.id),
                            mini.clock())
    await worker.say("menu")
    await worker.press("Le mie richieste")  # «1.» is request 1 here
    await luca.say("menu")
    await luca.press("I miei lavori")
    await luca.press("Spesa")
    await luca.press("Scrivi al lavoratore")
    await luca.say("Arrivo alle 10")
    await mini.dispatcher().run_once()  # delivered into the console inbox, not printed yet
    opened = await worker.say("1")
    assert "Richiesta n. 1" in opened and "Scrivi il messaggio" not in opened
    printed = await on_screen(mini, worker)
    assert "Messaggio da Luca" in printed and "1. ✍️ Rispondi" in printed
    assert "«indietro» per tornare a dove eri" in printed
    # now the notice is what the worker last saw: «1» answers it
    assert "Scrivi il messaggio per Luca" in await worker.say("1")
    assert "inoltrato" in await worker.say("Perfetto")


@pytest.mark.asyncio
async def test_back_from_a_notice_returns_to_the_step_with_its_draft(mini):
    worker = await enrolled(mini, "+393336660011", org="employer")
    await enrolled(mini, "+393336660012", org="coop-a", role=Role.OPERATOR, name="Luca")
    await book_in_alfa(worker)
    async with transaction(mini.sessions) as session:
        offer_id = (await session.exec(select(Offer.id))).first()
        luca = (await session.exec(select(Person).where(Person.first_name == "Luca"))).one()
        await offers.accept(session, offer_id, luca, mini.clock())
        from models import jobs
        request = await session.get(ServiceRequest, 1)
        await jobs.relay(session, request, luca, "Ci sono", mini.clock())
    await worker.say("menu")
    await worker.press("Nuova richiesta")
    await worker.press("Commissioni")
    await worker.press("Spesa")
    await mini.dispatcher().run_once()
    await on_screen(mini, worker)
    back = await worker.say("indietro")
    assert "In quale comune" in back  # the half-written request, as it was
    assert "Comune: Alfa" not in back
    assert "Scrivi il messaggio" not in await worker.say("1")


@pytest.mark.asyncio
async def test_two_offers_on_screen_are_answered_one_after_the_other(mini):
    await two_requests_of_giulia(mini)
    luca = await enrolled(mini, "+393336660022", org="coop-a", role=Role.OPERATOR, name="Luca")
    async with transaction(mini.sessions) as session:
        from models.offers import send_offers
        for request in (await session.exec(select(ServiceRequest))).all():
            await send_offers(session, request, mini.clock())  # Luca enrolled after booking
    await mini.dispatcher().run_once()
    printed = await on_screen(mini, luca)
    assert printed.count("1. ✅ Accetto") == 2
    # the hint agrees with the numbered choices: they answer now, the menu is for later
    assert "Per decidere più tardi" in printed and "Per accettare: scrivi" not in printed
    declined = await luca.say("2")  # the newest offer: job 2
    assert "rifiutato" in declined and "lavoro n. 2" in declined.lower()
    assert "Nuovo lavoro n. 1" in declined  # the earlier offer is the current step again
    assert "è tuo" in await luca.say("1")
    assert await request_status(mini, 1) == RequestStatus.ASSIGNED
    assert await request_status(mini, 2) == RequestStatus.UNSERVED  # declined by all


async def two_requests_of_giulia(mini) -> None:
    await enrolled(mini, "+393336660021", org="employer")
    giulia = await person_named(mini, "Giulia")
    for day in (THURSDAY + timedelta(days=1), THURSDAY + timedelta(days=5)):  # Fri, Tue
        await book(mini, giulia.id, "spesa", "Alfa", day, time(10))  # only A works then


@pytest.mark.asyncio
async def test_a_survey_on_screen_takes_only_1_to_5(mini, clock):
    worker, _, _, _ = await done_job(mini, clock)
    clock.set_local(2026, 11, 26, 13, 0)
    await surveys_now(mini)
    await mini.dispatcher().run_once()
    assert "Com'è andata" in await on_screen(mini, worker)
    assert "da 1 (male) a 5" in await worker.say("6")
    assert "da 1 (male) a 5" in await worker.say("-5")
    assert "da 1 (male) a 5" in await worker.say("👍")
    assert "Grazie del voto" in await worker.say("⭐⭐⭐⭐")
    async with transaction(mini.sessions) as session:
        from models.tables import Survey
        assert (await session.exec(select(Survey))).one().score == 4


@pytest.mark.asyncio
async def test_numbers_with_a_sign_are_not_choices(mini):
    worker = await enrolled(mini, "+393336660031", org="employer")
    await book_in_alfa(worker)
    await worker.say("menu")
    await worker.press("Le mie richieste")
    await worker.press("Spesa")
    assert "non è tra le scelte" in await worker.say("-2")
    assert "Quale giorno" not in worker.last.text  # «Sposta» was not opened
    assert "non è tra le scelte" in await worker.say("9")
    assert await request_status(mini) == RequestStatus.PENDING


@pytest.mark.asyncio
async def test_offers_for_a_cancelled_request_or_an_erased_worker_are_not_shown(mini):
    worker = await enrolled(mini, "+393336660041", org="employer")
    luca = await enrolled(mini, "+393336660042", org="coop-a", role=Role.OPERATOR, name="Luca")
    await book_in_alfa(worker)  # request 1: cancelled before its offer is sent
    await worker.say("menu")
    await worker.press("Le mie richieste")
    await worker.press("Spesa")
    await worker.press("Annulla")
    await worker.press("Non mi serve")
    await mini.dispatcher().run_once()
    async with transaction(mini.sessions) as session:
        from models.tables import Notice
        offer = (await session.exec(select(Notice).where(
            Notice.kind == "operator.new_offer"))).one()
    assert offer.status == "withdrawn" and offer.sent_at is None
    assert "Nuovo lavoro" not in await on_screen(mini, luca)
    # request 2: its offer reaches the console inbox, then the worker's data is erased
    await book_in_alfa(worker)
    await mini.dispatcher().run_once()
    giulia = await person_named(mini, "Giulia")
    async with transaction(mini.sessions) as session:
        from models.privacy import erase_person
        await erase_person(session, await session.get(Person, giulia.id), mini.clock())
    assert "Nuovo lavoro" not in await on_screen(mini, luca)
    await luca.say("menu")
    assert "non ci sono lavori disponibili" in await luca.press("Lavori disponibili")
