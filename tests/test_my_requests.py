"""'Le mie richieste': a worker sees, cancels and moves only their own requests."""

import pytest
from sqlmodel import select

from models.base import RequestStatus
from models.db import transaction
from models.fund import the_fund
from models.tables import CapacityUse, RequestEvent, ServiceRequest
from tests.support.booking import book, book_through_dialogue
from tests.support.chat import Chatter, enrolled
from tests.support.people import make_person


async def booked_and_opened(runtime, phone: str) -> Chatter:
    """A worker who booked a Spesa, now looking at it in «Le mie richieste»."""
    chat = await enrolled(runtime, phone)
    await book_through_dialogue(chat)
    await chat.press("Le mie richieste")
    await chat.press("Spesa")
    return chat


async def only_request(runtime) -> ServiceRequest:
    async with transaction(runtime.sessions) as session:
        return (await session.exec(select(ServiceRequest))).one()


@pytest.mark.asyncio
async def test_list_and_details(runtime):
    chat = await enrolled(runtime, "+393332220001")
    assert "Non hai ancora richieste" in await chat.press("Le mie richieste")
    await chat.say("menu")
    await book_through_dialogue(chat)
    text = await chat.press("Le mie richieste")
    assert "Le tue richieste" in text
    assert chat.labels[0] == "gio 26 nov 15:00 · Spesa a domicilio · in attesa di un operatore"
    detail = await chat.press("Spesa")
    assert "Richiesta n. 1" in detail and "Via Mazzini 12, Crema" in detail
    assert "a tuo carico: 9,00 €" in detail
    assert chat.labels[:2] == ["🕒 Sposta", "❌ Annulla la richiesta"]


@pytest.mark.asyncio
async def test_cancel_with_a_reason_releases_fund_and_capacity(runtime):
    chat = await enrolled(runtime, "+393332220002")
    await book_through_dialogue(chat)
    async with transaction(runtime.sessions) as session:
        assert (await the_fund(session)).reserved_cents == 900
    await chat.press("Le mie richieste")
    await chat.press("Spesa")
    assert "Perché vuoi annullare" in await chat.press("Annulla la richiesta")
    back = await chat.say("indietro")  # the way back leaves it as it was
    assert "Stato: in attesa di un operatore" in back
    assert (await only_request(runtime)).status == RequestStatus.PENDING
    await chat.press("Annulla la richiesta")
    text = await chat.say("Mi ha aiutato mia sorella")
    assert "La richiesta n. 1 è annullata" in text
    request = await only_request(runtime)
    assert request.status == RequestStatus.CANCELLED
    async with transaction(runtime.sessions) as session:
        assert (await the_fund(session)).reserved_cents == 0
        used = (await session.exec(select(CapacityUse))).one()
        reasons = (await session.exec(select(RequestEvent.reason))).all()
    assert used.used == 0
    assert "annullata: Mi ha aiutato mia sorella" in reasons
    await chat.press("Le mie richieste")
    await chat.press("Spesa")
    assert "annullata" in chat.last.text and "🕒 Sposta" not in chat.labels


@pytest.mark.asyncio
async def test_move_to_another_slot(runtime):
    chat = await booked_and_opened(runtime, "+393332220003")
    assert "Che giorno" in await chat.press("Sposta")
    await chat.say("venerdì alle 11")
    assert "Spostare la richiesta da giovedì 26 novembre, 15:00 a venerdì 27 novembre, 11:00" \
        in chat.last.text
    assert "spostata e affidata" in await chat.press("Sì, sposta")
    request = await only_request(runtime)
    assert request.status == RequestStatus.PENDING and request.provider_id is not None
    async with transaction(runtime.sessions) as session:
        uses = {u.day.isoformat(): u.used for u in (await session.exec(select(CapacityUse)))}
    assert uses == {"2026-11-26": 0, "2026-11-27": 1}


@pytest.mark.asyncio
async def test_nobody_sees_or_touches_another_workers_request(runtime):
    giulia = await enrolled(runtime, "+393332220004")
    marco = await enrolled(runtime, "+393332220005", name="Marco")
    await book_through_dialogue(giulia)
    await giulia.press("Le mie richieste")
    detail_payload = giulia.last.choices[0].payload
    await marco.press("Le mie richieste")
    assert "Non hai ancora richieste" in marco.last.text
    assert "non è più valida" in await marco.send_payload(detail_payload)
    assert (await only_request(runtime)).status == RequestStatus.PENDING


@pytest.mark.asyncio
async def test_typing_annulla_on_a_request_asks_why_and_another_reason_is_typed(runtime):
    chat = await booked_and_opened(runtime, "+393332220003")
    assert "Perché vuoi annullare" in await chat.say("annulla")  # the option, not the command
    assert "Scrivi in poche parole il motivo" in await chat.press("Altro motivo")
    assert (await only_request(runtime)).status == RequestStatus.PENDING
    assert "è annullata" in await chat.say("Trasloco anticipato")
    async with transaction(runtime.sessions) as session:
        reasons = (await session.exec(select(RequestEvent.reason))).all()
    assert "annullata: Trasloco anticipato" in reasons
    await chat.say("annulla")  # at the main menu «annulla» is the command again
    assert any("Nuova richiesta" in label for label in chat.labels)


@pytest.mark.asyncio
async def test_open_requests_come_first_soonest_first_however_many_ended_ones(runtime):
    from datetime import date, time

    from models import requests as store

    worker = await make_person(runtime, "koala")
    booked = [await book(runtime, worker.id, "babysitting", "Crema", date(2026, 12, day),
                         time(18)) for day in (1, 2, 3, 4, 5)]
    async with transaction(runtime.sessions) as session:
        for confirmation in booked[3:]:  # the two latest are cancelled
            request = await session.get(ServiceRequest, confirmation.request.id)
            await store.cancel(session, request, worker.id, "prova", runtime.clock())
        listed = await store.requests_of(session, worker.id, limit=4)
    assert [r.starts_at.day for r in listed] == [1, 2, 3, 5]
    assert [r.status for r in listed][:3] == [RequestStatus.PENDING] * 3
