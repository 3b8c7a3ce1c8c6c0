"""Routing on the tiny alliance (tests/data/mini.toml): who can serve which municipality,
weekday and hours; holidays; capacity; the least-loaded-then-rotation rule."""

from datetime import date, time

import pytest
from sqlmodel import select

from models import requests as store
from models.base import RequestStatus, Role
from models.calendar import availability
from models.db import transaction
from models.tables import (
    Notice,
    Organisation,
    RequestEvent,
    ServiceRequest,
)
from tests.support.booking import THURSDAY, book, ids
from tests.support.chat import enrolled
from tests.support.people import make_person
from tests.support.senders import console_inbox, deliver


async def provider_of(runtime, confirmation: store.Confirmation) -> str | None:
    async with transaction(runtime.sessions) as session:
        request = await session.get(ServiceRequest, confirmation.request.id)
        org = await session.get(Organisation, request.provider_id or 0)
        return org.code if org else None


async def starts(runtime, service_code: str, place: str, day: date) -> list[time]:
    service, place_id = await ids(runtime, service_code, place)
    async with transaction(runtime.sessions) as session:
        slots = await availability(session, service, place_id)
        return slots.starts(day, runtime.clock())


@pytest.mark.asyncio
async def test_hours_weekdays_and_municipalities_of_each_offering(mini):
    # Thursday in Alfa: A (09-12, so starts 09..11) and B (10-18, so starts 10..17)
    assert await starts(mini, "spesa", "Alfa", THURSDAY) == [time(h) for h in range(9, 18)]
    # Beta is served by A only; Saturday by nobody there (A works Monday to Friday)
    assert await starts(mini, "spesa", "Beta", THURSDAY) == [time(9), time(10), time(11)]
    assert await starts(mini, "spesa", "Beta", date(2026, 11, 28)) == []
    # Gamma has no spesa at all
    service, gamma = await ids(mini, "spesa", "Gamma")
    async with transaction(mini.sessions) as session:
        assert (await availability(session, service, gamma)).offerings == ()


@pytest.mark.asyncio
async def test_today_only_from_two_hours_ahead(mini, clock):
    clock.set_local(2026, 11, 26, 9, 30)  # Thursday 09:30
    assert (await starts(mini, "spesa", "Alfa", THURSDAY))[0] == time(12)


@pytest.mark.asyncio
async def test_public_holidays_are_closed(mini):
    immacolata = date(2026, 12, 8)  # a Tuesday
    assert await starts(mini, "baby", "Alfa", immacolata) == []
    assert await starts(mini, "baby", "Alfa", date(2026, 12, 9)) != []
    service, alfa = await ids(mini, "baby", "Alfa")
    async with transaction(mini.sessions) as session:
        days = (await availability(session, service, alfa)).open_days(mini.clock(), 14)
    assert immacolata not in days and date(2026, 12, 7) in days


@pytest.mark.asyncio
async def test_least_loaded_then_rotation(mini, clock):
    workers = [await make_person(mini, "employer") for _ in range(3)]
    chosen = []
    for n, worker in enumerate(workers):
        clock.advance(minutes=1)
        confirmation = await book(mini, worker.id, "spesa", "Alfa", THURSDAY, time(10 + n % 2))
        chosen.append(await provider_of(mini, confirmation))
    # both idle → the first by rotation (A); then B is less loaded; then both carry one and
    # A was chosen longer ago
    assert chosen == ["coop-a", "coop-b", "coop-a"]
    async with transaction(mini.sessions) as session:
        reasons = (await session.exec(select(RequestEvent.reason).where(
            RequestEvent.reason.startswith("assegnata")))).all()
    assert len(reasons) == 3 and "carico" in reasons[1] and "Cooperativa B" in reasons[1]


@pytest.mark.asyncio
async def test_capacity_is_never_exceeded_and_then_nobody_serves(mini):
    workers = [await make_person(mini, "employer") for _ in range(5)]
    results = [await book(mini, w.id, "spesa", "Alfa", THURSDAY, time(11)) for w in workers]
    providers = [await provider_of(mini, r) for r in results]
    assert sorted(p for p in providers if p) == ["coop-a", "coop-a", "coop-b", "coop-b"]
    assert providers[-1] is None
    async with transaction(mini.sessions) as session:
        last = await session.get(ServiceRequest, results[-1].request.id)
        notices = (await session.exec(select(Notice))).all()
    assert last.status == RequestStatus.UNSERVED
    # no coordinator enrolled yet: the notice is held for the role, not lost
    assert [(n.kind, n.status, n.audience) for n in notices] == [
        ("coordinator.unserved", "held", "coordinator")]
    assert await starts(mini, "spesa", "Alfa", THURSDAY) == []


@pytest.mark.asyncio
async def test_unserved_notice_goes_to_every_coordinator(mini):
    coordinators = [await make_person(mini, "employer", Role.COORDINATOR) for _ in range(2)]
    worker = await make_person(mini, "employer")
    result = await book(mini, worker.id, "anziani", "Gamma", date(2026, 11, 30), time(9))
    assert await provider_of(mini, result) == "coop-b"
    result = await book(mini, worker.id, "anziani", "Gamma", date(2026, 11, 30), time(10))
    assert await provider_of(mini, result) is None
    async with transaction(mini.sessions) as session:
        notices = (await session.exec(select(Notice).order_by(Notice.person_id))).all()
    assert [n.person_id for n in notices] == [c.id for c in coordinators]
    assert {n.status for n in notices} == {"pending"}


@pytest.mark.asyncio
async def test_a_service_missing_in_a_municipality_is_reported_to_the_coordinator(mini):
    async def ask_spesa_in_gamma(phone: str) -> str:
        chat = await enrolled(mini, phone, org="employer")
        await chat.press("Nuova richiesta")
        await chat.press("Commissioni")
        await chat.press("Spesa")
        return await chat.say("Gamma")  # nobody offers spesa in Gamma

    text = await ask_spesa_in_gamma("+393339990001")
    assert "non è ancora disponibile a Gamma" in text and "Ho segnalato" in text
    await ask_spesa_in_gamma("+393339990002")  # the same demand, the same day: one notice
    async with transaction(mini.sessions) as session:
        flagged = (await session.exec(select(Notice).where(
            Notice.kind == "coordinator.unmet_not_offered"))).all()
    assert len(flagged) == 1 and flagged[0].params["place"] == "Gamma"
    assert flagged[0].status == "held"  # until a coordinator enrols
    from models.base import Role

    coordinator = await enrolled(mini, "+393339990099", org="employer",
                                 role=Role.COORDINATOR, name="Paola")
    inbox = console_inbox()
    await deliver(mini, inbox)
    assert "Domanda non coperta: «Spesa» chiesto a Gamma, dove nessuna cooperativa lo offre" \
        in inbox.texts(coordinator)
