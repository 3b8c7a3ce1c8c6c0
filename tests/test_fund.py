"""The fund on the tiny alliance: 50 € in all, 20 € per worker a year, errands at 50 %,
childcare at 100 %, elder care not eligible."""

import asyncio
from datetime import date, time

import pytest
from sqlmodel import select

from models import fund
from models import requests as store
from models.db import transaction
from models.tables import Fund, LedgerEntry, ServiceRequest, WorkerFundUse
from tests.support.booking import book, ids
from tests.support.people import make_person

MONDAY = date(2026, 11, 30)


async def quote_for(runtime, worker_id: int, service_code: str) -> fund.Quote:
    service, _ = await ids(runtime, service_code, "Alfa")
    async with transaction(runtime.sessions) as session:
        return await fund.quote(session, worker_id, service, 2026)


async def fund_row(runtime) -> Fund:
    async with transaction(runtime.sessions) as session:
        return await fund.the_fund(session)


@pytest.mark.asyncio
async def test_share_cap_and_category(mini):
    worker = await make_person(mini, "employer")
    assert await quote_for(mini, worker.id, "spesa") == fund.Quote(2000, 1000, "")
    assert await quote_for(mini, worker.id, "baby") == fund.Quote(3000, 2000, "cap")
    assert await quote_for(mini, worker.id, "anziani") == fund.Quote(1000, 0, "category")
    assert (await quote_for(mini, worker.id, "spesa")).worker_cents == 1000


@pytest.mark.asyncio
async def test_confirm_reserves_cancel_releases_completion_commits(mini):
    worker = await make_person(mini, "employer")
    first = await book(mini, worker.id, "spesa", "Alfa", MONDAY, time(9))
    assert first.request.fund_cents == 1000
    assert (await fund_row(mini)).reserved_cents == 1000
    # the yearly cap counts what is reserved: 10 € left of 20 €
    assert await quote_for(mini, worker.id, "baby") == fund.Quote(3000, 1000, "cap")
    async with transaction(mini.sessions) as session:
        request = await session.get(ServiceRequest, first.request.id)
        assert await store.cancel(session, request, worker.id, "non serve", mini.clock())
        assert not await store.cancel(session, request, worker.id, "di nuovo", mini.clock())
    row = await fund_row(mini)
    assert (row.reserved_cents, row.committed_cents) == (0, 0)
    assert await quote_for(mini, worker.id, "baby") == fund.Quote(3000, 2000, "cap")
    second = await book(mini, worker.id, "baby", "Alfa", MONDAY, time(14))
    async with transaction(mini.sessions) as session:
        request = await session.get(ServiceRequest, second.request.id)
        await fund.commit(session, request, mini.clock())
        kinds = (await session.exec(select(LedgerEntry.kind).order_by(LedgerEntry.id))).all()
    row = await fund_row(mini)
    assert (row.reserved_cents, row.committed_cents) == (0, 2000)
    assert kinds == ["reserve", "release", "reserve", "commit"]


@pytest.mark.asyncio
async def test_when_the_fund_runs_out_the_worker_sees_the_full_price(mini):
    workers = [await make_person(mini, "employer") for _ in range(4)]
    for worker in workers[:2]:
        await book(mini, worker.id, "baby", "Alfa", MONDAY, time(8))  # 20 € each
    assert await quote_for(mini, workers[2].id, "baby") == fund.Quote(3000, 1000, "fund")
    await book(mini, workers[2].id, "baby", "Alfa", MONDAY, time(10))
    full = await quote_for(mini, workers[3].id, "baby")
    assert full == fund.Quote(3000, 0, "fund") and full.worker_cents == 3000
    confirmed = await book(mini, workers[3].id, "baby", "Alfa", MONDAY, time(12))
    assert confirmed.request is not None and confirmed.request.fund_cents == 0


@pytest.mark.asyncio
async def test_a_quote_that_changed_is_not_confirmed(mini):
    worker, other = [await make_person(mini, "employer") for _ in range(2)]
    service, alfa = await ids(mini, "baby", "Alfa")
    shown = await quote_for(mini, worker.id, "baby")
    for _ in range(2):  # another worker (and the same one) drain the fund meanwhile
        await book(mini, other.id, "baby", "Alfa", MONDAY, time(8))
    await book(mini, (await make_person(mini, "employer")).id, "baby", "Alfa", MONDAY, time(9))
    async with transaction(mini.sessions) as session:
        draft = store.Draft(service.id, alfa, MONDAY, time(16), "Via Roma 1", None)
        outcome = await store.confirm(session, worker.id, draft, shown, mini.clock())
    assert outcome.request is None and outcome.quote.fund_cents < shown.fund_cents


async def race(runtime, workers, service_code: str) -> list[store.Confirmation]:
    """Every worker confirms at the same moment, each with the quote shown before."""
    service, alfa = await ids(runtime, service_code, "Alfa")
    quotes = [await quote_for(runtime, w.id, service_code) for w in workers]

    async def confirm(worker, shown, hour):
        async with transaction(runtime.sessions) as session:
            draft = store.Draft(service.id, alfa, MONDAY, time(hour), "Via Roma 1", None)
            return await store.confirm(session, worker.id, draft, shown, runtime.clock())

    return await asyncio.gather(*(confirm(w, q, 8 + n % 10)
                                  for n, (w, q) in enumerate(zip(workers, quotes, strict=True))))


@pytest.mark.asyncio
async def test_racing_confirmations_never_overspend_the_fund_on_postgres(pg_mini):
    workers = [await make_person(pg_mini, "employer") for _ in range(5)]
    results = await race(pg_mini, workers, "baby")  # 5 × 20 € wanted, 50 € in the fund
    row = await fund_row(pg_mini)
    granted = [r.request.fund_cents for r in results if r.request is not None]
    assert sum(granted) == row.reserved_cents <= row.total_cents
    assert len(granted) == 2  # 2 × 20 € fit; the others saw their quote change
    assert all(r.quote.fund_cents in (0, 1000) for r in results if r.request is None)


@pytest.mark.asyncio
async def test_racing_confirmations_of_one_worker_respect_the_cap_on_postgres(pg_mini):
    worker = await make_person(pg_mini, "employer")
    results = await race(pg_mini, [worker] * 4, "spesa")  # 4 × 10 € wanted, cap 20 €
    async with transaction(pg_mini.sessions) as session:
        use = (await session.exec(select(WorkerFundUse))).one()
    granted = sum(r.request.fund_cents for r in results if r.request is not None)
    assert use.used_cents == granted <= 2000
    assert granted == 2000


@pytest.mark.asyncio
async def test_a_worker_past_the_yearly_cap_is_told_so_before_confirming(mini):
    from tests.support.chat import enrolled

    chat = await enrolled(mini, "+393338880001", org="employer")
    for attempt in range(2):
        await chat.say("menu")
        await chat.press("Nuova richiesta")
        await chat.press("figli")
        await chat.press("Babysitting")
        await chat.say("Alfa")
        await chat.say(f"giovedì alle {10 + 3 * attempt}")
        await chat.say("Via Verdi 7")
        summary = await chat.press("Nessuna nota")
        if attempt == 0:
            assert "Paga il fondo IN...TEMPO: 20,00 €" in summary.replace("\xa0", " ")
            await chat.press("Conferma")
    assert "Paga il fondo IN...TEMPO: 0,00 €" in summary.replace("\xa0", " ")
    assert "Hai già usato tutto il contributo annuale" in summary
    assert summary.rstrip().endswith("Confermi?")  # the note comes before the question
