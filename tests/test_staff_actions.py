"""The staff's operations on a stuck request (models/staff_actions.py), on SQLite and on
PostgreSQL: assign an unserved request to a cooperative, cancel it with a reason, write to
its worker, handle a complaint, and the clock closing unserved requests whose time came."""

import asyncio
from datetime import time, timedelta

import pytest
from sqlmodel import select

from models import jobs, staff_actions
from models import requests as store
from models.base import RequestStatus, Role
from models.db import transaction
from models.fund import the_fund
from models.offers import NotAllowed
from models.tables import (
    LedgerEntry,
    Notice,
    Offer,
    Person,
    RelayMessage,
    ServiceRequest,
)
from tests.support.booking import THURSDAY, book
from tests.support.people import make_person, org_id


async def unserved_in_gamma(runtime):
    """A worker's shopping in Gamma, where no cooperative offers it: unserved at once."""
    worker = await make_person(runtime, "employer", name="Giulia")
    confirmation = await book(runtime, worker.id, "spesa", "Gamma", THURSDAY, time(10))
    assert confirmation.request.status == RequestStatus.UNSERVED
    return worker, confirmation.request


async def notices_of(runtime, person_id: int) -> list[Notice]:
    async with transaction(runtime.sessions) as session:
        return list((await session.exec(select(Notice).where(
            Notice.person_id == person_id).order_by(Notice.id))).all())


async def events(runtime, request_id: int):
    async with transaction(runtime.sessions) as session:
        return await store.events_of(session, request_id)


@pytest.mark.asyncio
async def test_assign_an_unserved_request_to_a_cooperative(both_minis):
    runtime = both_minis
    worker, request = await unserved_in_gamma(runtime)
    paola = await make_person(runtime, "employer", Role.COORDINATOR, "Paola")
    ivo = await make_person(runtime, "coop-b", Role.OPERATOR, "Ivo")
    async with transaction(runtime.sessions) as session:
        row = await session.get(ServiceRequest, request.id)
        names = [o.name for o in await staff_actions.cooperatives_for(session, row)]
    assert names == ["Cooperativa A", "Cooperativa B"]  # both offer shopping (not in Gamma)
    coop_b = await org_id(runtime, "coop-b")
    async with transaction(runtime.sessions) as session:
        outcome = await staff_actions.assign_to_cooperative(
            session, request.id, coop_b, paola, runtime.clock())
    assert outcome.ok and outcome.request.status == RequestStatus.PENDING
    assert outcome.request.provider_id == coop_b and outcome.request.offered_at is not None
    offer = [n for n in await notices_of(runtime, ivo.id) if n.kind == "operator.new_offer"]
    assert len(offer) == 1 and offer[0].choices[0]["value"].startswith("offer:accept:")
    told = [n.kind for n in await notices_of(runtime, worker.id)]
    assert "worker.staff_assigned" in told
    last = (await events(runtime, request.id))
    assert any(e.actor_id == paola.id and e.from_status == "unserved"
               and e.to_status == "pending" and "Cooperativa B" in e.reason for e in last)
    # the operator takes it like any routed job
    async with transaction(runtime.sessions) as session:
        offer_id = (await session.exec(select(Offer.id).where(
            Offer.request_id == request.id))).one()
        operator = await session.get(Person, ivo.id)
        from models import offers
        assert (await offers.accept(session, offer_id, operator, runtime.clock())).outcome == "won"
    # a second assignment finds it no longer unserved and changes nothing
    async with transaction(runtime.sessions) as session:
        again = await staff_actions.assign_to_cooperative(
            session, request.id, coop_b, paola, runtime.clock())
    assert (again.ok, again.why) == (False, "moved_on")


@pytest.mark.asyncio
async def test_assign_refuses_what_cannot_be(mini, clock):
    worker, request = await unserved_in_gamma(mini)
    paola = await make_person(mini, "employer", Role.COORDINATOR, "Paola")
    employer = await org_id(mini, "employer")
    async with transaction(mini.sessions) as session:
        outcome = await staff_actions.assign_to_cooperative(
            session, request.id, employer, paola, clock())
    assert outcome.why == "not_offered"
    with pytest.raises(NotAllowed):  # only the coordinator acts
        async with transaction(mini.sessions) as session:
            await staff_actions.cancel_unserved(session, request.id, worker, "no", clock())
    clock.set_local(2026, 11, 26, 10, 0)
    async with transaction(mini.sessions) as session:
        past = await staff_actions.assign_to_cooperative(
            session, request.id, await org_id(mini, "coop-a"), paola, clock())
    assert past.why == "past"
    async with transaction(mini.sessions) as session:
        assert (await staff_actions.cancel_unserved(
            session, request.id, paola, "   ", clock())).why == "empty"
        assert (await staff_actions.cancel_unserved(
            session, 999, paola, "x", clock())).why == "gone"


@pytest.mark.asyncio
async def test_cancel_with_a_reason_releases_the_money_and_tells_the_worker(both_minis):
    runtime = both_minis
    worker, request = await unserved_in_gamma(runtime)
    paola = await make_person(runtime, "employer", Role.COORDINATOR, "Paola")
    async with transaction(runtime.sessions) as session:
        assert (await the_fund(session)).reserved_cents == 1000
        outcome = await staff_actions.cancel_unserved(
            session, request.id, paola, "Il servizio non è disponibile a Gamma", runtime.clock())
    assert outcome.ok and outcome.request.status == RequestStatus.CANCELLED
    async with transaction(runtime.sessions) as session:
        fund = await the_fund(session)
        kinds = (await session.exec(select(LedgerEntry.kind).where(
            LedgerEntry.request_id == request.id).order_by(LedgerEntry.id))).all()
    assert fund.reserved_cents == 0 and kinds == ["reserve", "release"]
    told = [n for n in await notices_of(runtime, worker.id) if n.kind == "worker.staff_cancelled"]
    assert told[0].params["reason"] == "Il servizio non è disponibile a Gamma"
    assert (await events(runtime, request.id))[-1].actor_id == paola.id


@pytest.mark.asyncio
async def test_two_coordinators_at_once_make_one_change(both_minis):
    runtime = both_minis
    _worker, request = await unserved_in_gamma(runtime)
    paola = await make_person(runtime, "employer", Role.COORDINATOR, "Paola")
    marco = await make_person(runtime, "employer", Role.COORDINATOR, "Marco")
    coop_a = await org_id(runtime, "coop-a")

    async def assign():
        async with transaction(runtime.sessions) as session:
            return await staff_actions.assign_to_cooperative(
                session, request.id, coop_a, paola, runtime.clock())

    async def cancel():
        async with transaction(runtime.sessions) as session:
            return await staff_actions.cancel_unserved(
                session, request.id, marco, "doppione", runtime.clock())

    results = await asyncio.gather(assign(), cancel())
    assert sorted(r.ok for r in results) == [False, True]
    assert [r.why for r in results if not r.ok] == ["moved_on"]
    after = await events(runtime, request.id)
    assert len([e for e in after if e.from_status == "unserved"]) == 1


@pytest.mark.asyncio
async def test_write_to_the_worker_and_the_answer_comes_back(both_minis):
    runtime = both_minis
    worker, request = await unserved_in_gamma(runtime)
    paola = await make_person(runtime, "employer", Role.COORDINATOR, "Paola")
    async with transaction(runtime.sessions) as session:
        outcome = await staff_actions.write_to_worker(
            session, request.id, paola, "Possiamo spostarla a venerdì?", runtime.clock())
    assert outcome.ok
    sent = [n for n in await notices_of(runtime, worker.id) if n.kind == "relay.from_staff"]
    assert sent[0].params["message"] == "Possiamo spostarla a venerdì?"
    assert sent[0].choices[0]["value"].startswith("relay:staff:")
    message_id = int(sent[0].choices[0]["value"].rsplit(":", 1)[1])
    async with transaction(runtime.sessions) as session:
        giulia = await session.get(Person, worker.id)
        assert (await staff_actions.answer_staff(
            session, message_id, giulia, "Sì, grazie", runtime.clock())).ok
        with pytest.raises(NotAllowed):  # only the one written to may answer
            await staff_actions.answer_staff(session, message_id, paola, "io", runtime.clock())
    back = [n for n in await notices_of(runtime, paola.id) if n.kind == "relay.to_staff"]
    assert back[0].params["message"] == "Sì, grazie"
    async with transaction(runtime.sessions) as session:
        relay = (await session.exec(select(RelayMessage).order_by(RelayMessage.id))).all()
    assert [(m.sender_id, m.recipient_id) for m in relay] == [(paola.id, worker.id),
                                                              (worker.id, paola.id)]


@pytest.mark.asyncio
async def test_a_complaint_is_handled_once_with_a_note(both_minis):
    runtime = both_minis
    worker = await make_person(runtime, "employer", name="Giulia")
    luca = await make_person(runtime, "coop-a", Role.OPERATOR, "Luca")
    paola = await make_person(runtime, "employer", Role.COORDINATOR, "Paola")
    confirmation = await book(runtime, worker.id, "spesa", "Alfa", THURSDAY, time(10))
    async with transaction(runtime.sessions) as session:
        offer_id = (await session.exec(select(Offer.id))).one()
        from models import offers
        await offers.accept(session, offer_id, await session.get(Person, luca.id),
                            runtime.clock())
        request = await session.get(ServiceRequest, confirmation.request.id)
        await jobs.complain(session, request, await session.get(Person, worker.id),
                            "Nessuno è venuto", runtime.clock())
    alert = [n for n in await notices_of(runtime, paola.id) if n.kind == "coordinator.complaint"]
    assert alert[0].params["cooperative"] == "Cooperativa A"
    assert alert[0].params["operator_name"] == "Luca"
    async with transaction(runtime.sessions) as session:
        request = await session.get(ServiceRequest, confirmation.request.id)
        assert await staff_actions.complaint_parties(session, request) == ("Cooperativa A",
                                                                           "Luca")
        outcome = await staff_actions.handle_complaint(
            session, request.id, paola, "Parlato con la cooperativa: verrà rimborsata",
            runtime.clock())
    assert outcome.ok and outcome.request.complaint_handled_by == paola.id
    async with transaction(runtime.sessions) as session:
        again = await staff_actions.handle_complaint(session, request.id, paola, "bis",
                                                     runtime.clock() + timedelta(minutes=1))
    assert again.why == "handled"
    told = [n for n in await notices_of(runtime, worker.id)
            if n.kind == "worker.complaint_handled"]
    assert len(told) == 1 and "rimborsata" in told[0].params["note"]
    assert "segnalazione gestita" in (await events(runtime, request.id))[-1].reason


@pytest.mark.asyncio
async def test_the_clock_closes_unserved_requests_whose_time_came(both_minis, clock):
    runtime = both_minis
    worker, request = await unserved_in_gamma(runtime)
    async with transaction(runtime.sessions) as session:
        assert await staff_actions.close_expired_unserved(session, clock()) == 0
    clock.set_local(2026, 11, 26, 10, 0)
    from scheduler import jobs as clock_jobs
    ctx = clock_jobs.JobContext(runtime.sessions, clock_jobs.ClockRules(), clock)
    assert await clock_jobs.close_expired(ctx) == 1
    assert await clock_jobs.close_expired(ctx) == 0  # idempotent
    async with transaction(runtime.sessions) as session:
        row = await session.get(ServiceRequest, request.id)
        fund = await the_fund(session)
    assert row.status == RequestStatus.CANCELLED and fund.reserved_cents == 0
    last = (await events(runtime, request.id))[-1]
    assert last.actor_id is None and last.reason.startswith("scaduta")
    assert "worker.unserved_expired" in [n.kind for n in await notices_of(runtime, worker.id)]
