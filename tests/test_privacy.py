"""Retention and a person's rights: erased details, intact figures."""

import json

import pytest
from sqlmodel import func, select

from models import privacy
from models.base import RequestStatus
from models.db import transaction
from models.fund import the_fund
from models.tables import (
    ChatIdentity,
    LedgerEntry,
    Person,
    RelayMessage,
    RequestEvent,
    ServiceRequest,
)
from tests.test_operators import taken_by_luca


async def figures(runtime) -> tuple:
    """What the programme's figures are made of: counts, statuses, minutes, money."""
    async with transaction(runtime.sessions) as session:
        requests = (await session.exec(select(
            ServiceRequest.status, ServiceRequest.service_id, ServiceRequest.municipality_id,
            ServiceRequest.actual_minutes, ServiceRequest.fund_cents)
            .order_by(ServiceRequest.id))).all()
        events = (await session.exec(select(func.count()).select_from(RequestEvent))).one()
        ledger = (await session.exec(select(LedgerEntry.kind, LedgerEntry.amount_cents)
                                     .order_by(LedgerEntry.id))).all()
        fund = await the_fund(session)
        return (list(requests), events, list(ledger), fund.committed_cents)


async def finish_with_relay(mini):
    people, _ = await taken_by_luca(mini)
    luca = people["Luca"]
    await luca.press("Scrivi al lavoratore")
    await luca.say("Arrivo alle 10, citofono Bianchi giusto?")
    mini.clock.set_local(2026, 11, 26, 11, 30)
    await luca.say("menu")
    await luca.press("I miei lavori")
    await luca.press("Spesa")
    await luca.press("Fatto")
    await luca.say("60")
    return people


@pytest.mark.asyncio
async def test_retention_erases_details_after_ninety_days_keeping_figures(mini, clock):
    await finish_with_relay(mini)
    before = await figures(mini)
    async with transaction(mini.sessions) as session:
        assert await privacy.erase_expired(session, clock.advance(days=89), 90) == 0
    async with transaction(mini.sessions) as session:
        assert await privacy.erase_expired(session, clock.advance(days=2), 90) == 1
        request = (await session.exec(select(ServiceRequest))).one()
        messages = (await session.exec(select(RelayMessage.text))).all()
    assert (request.address, request.notes, request.erased_at) == (None, None, clock())
    assert messages == [None]
    assert await figures(mini) == before
    async with transaction(mini.sessions) as session:
        assert await privacy.erase_expired(session, clock.advance(days=1), 90) == 0


@pytest.mark.asyncio
async def test_export_own_data_from_the_chat(mini):
    people = await finish_with_relay(mini)
    worker = people["worker"]
    await worker.say("menu")
    await worker.press("Privacy e dati")
    text = await worker.press("Scarica i miei dati")
    assert "copia di tutti i dati" in text
    file = worker.last.file
    assert file.filename.endswith(".json") and file.content_type == "application/json"
    data = json.loads(file.data)
    assert data["person"]["first_name"] == "Giulia"
    assert data["requests"][0]["address"] == "Via Verdi 7"
    assert data["relay_messages"][0]["text"].startswith("Arrivo alle 10")
    assert [c["channel"] for c in data["chats"]] == ["console"]


@pytest.mark.asyncio
async def test_erasure_from_the_chat_keeps_the_fund_accounts_anonymous(mini):
    people = await finish_with_relay(mini)
    worker = people["worker"]
    before = await figures(mini)
    await worker.say("menu")
    await worker.press("Privacy e dati")
    await worker.press("Cancella i miei dati")
    assert "sono stati cancellati" in await worker.press("Sì, cancella tutto")
    async with transaction(mini.sessions) as session:
        giulia = (await session.exec(select(Person).where(Person.role == "worker"))).one()
        chats = (await session.exec(select(ChatIdentity).where(
            ChatIdentity.person_id == giulia.id))).all()
        request = (await session.exec(select(ServiceRequest))).one()
        ledger = (await session.exec(select(LedgerEntry))).all()
    assert (giulia.first_name, giulia.active, chats) == (None, False, [])
    assert request.address is None and request.status == RequestStatus.DONE
    assert {entry.person_id for entry in ledger} == {giulia.id}
    assert await figures(mini) == before
    # writing again from the same phone starts over: a code is needed
    assert "codice" in await worker.say("ciao")


@pytest.mark.asyncio
async def test_erasure_cancels_open_requests_and_releases_the_fund(mini):
    await taken_by_luca(mini)
    async with transaction(mini.sessions) as session:
        giulia = (await session.exec(select(Person).where(Person.first_name == "Giulia"))).one()
        await privacy.erase_person(session, giulia, mini.clock())
    async with transaction(mini.sessions) as session:
        request = (await session.exec(select(ServiceRequest))).one()
        fund = await the_fund(session)
    assert request.status == RequestStatus.CANCELLED and fund.reserved_cents == 0


@pytest.mark.asyncio
async def test_erasing_an_operator_gives_their_jobs_back(mini):
    await taken_by_luca(mini)
    async with transaction(mini.sessions) as session:
        luca = (await session.exec(select(Person).where(Person.first_name == "Luca"))).one()
        await privacy.erase_person(session, luca, mini.clock())
    async with transaction(mini.sessions) as session:
        request = (await session.exec(select(ServiceRequest))).one()
    assert (request.status, request.operator_id) == (RequestStatus.PENDING, None)


@pytest.mark.asyncio
async def test_old_update_ids_are_forgotten_after_thirty_days(mini, clock):
    from models.tables import ProcessedUpdate

    async with transaction(mini.sessions) as session:
        session.add(ProcessedUpdate(channel="telegram", update_id="1", at=clock()))
        session.add(ProcessedUpdate(channel="telegram", update_id="2",
                                    at=clock.advance(days=20)))
    async with transaction(mini.sessions) as session:
        await privacy.erase_expired(session, clock.advance(days=11), 90)
        left = (await session.exec(select(ProcessedUpdate.update_id))).all()
    assert left == ["2"]
