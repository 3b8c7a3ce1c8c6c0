"""The coordinator's figures on a known data set, on SQLite and on PostgreSQL: the digest
(with a day with nothing), a period, per cooperative and per employer, uptake, the men's
share of care, satisfaction, the fund and its run-out date, unreachable people, and the
daily series bucketed by local day across a daylight-saving change.

The data set is tests/support/figures.py's (its docstring tells it day by day).
"""

from datetime import date, datetime, timedelta

import pytest
import pytest_asyncio
from sqlmodel import select, update

from bot.runtime import start_runtime
from bot.settings import Settings
from models.catalog import load_catalog, read_catalog
from models.db import transaction
from models.figures import (
    RUNWAY_HORIZON_YEARS,
    CareShare,
    Delivery,
    OrgLine,
    Runway,
    Satisfaction,
    Uptake,
    Waiting,
    daily_series,
    runway,
)
from models.tables import (
    Fund,
    LedgerEntry,
    Municipality,
    Notice,
    Service,
    ServiceRequest,
)
from tests.support.booking import THURSDAY
from tests.support.catalogs import MINI
from tests.support.figures import (
    DataSet,
    build,
    digest_of,
    period_of,
    rome,
    row_id,
)
from tests.support.people import make_person


@pytest_asyncio.fixture
async def data(database_url, clock) -> DataSet:
    """The data set of tests/support/figures.py, on SQLite and on PostgreSQL."""
    runtime = await start_runtime(Settings(database_url=database_url, _env_file=None),
                                  clock=clock)
    async with transaction(runtime.sessions) as session:
        await load_catalog(session, read_catalog(MINI))
    yield await build(runtime, clock)
    await runtime.close()


def zeros(**counts) -> dict[str, int]:
    return {"errand": 0, "childcare": 0, "eldercare": 0} | counts


# --- the digest ---------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_digest_of_a_busy_day(data):
    fig = await digest_of(data.runtime, THURSDAY)
    assert fig.received == {
        "pending": zeros(childcare=1), "unserved": zeros(), "assigned": zeros(),
        "done": zeros(), "no_show": zeros(), "cancelled": zeros(errand=1)}
    # r3 waits since Wednesday 09:00 (33 hours), r5 since Thursday 11:00; r4 is unserved
    assert fig.waiting == Waiting(pending=2, longest_wait=timedelta(hours=33), unserved=1)
    assert fig.delivered == {"errand": Delivery(1, 55, 60), "childcare": Delivery(1, 130, 130),
                             "eldercare": Delivery()}
    assert (fig.jobs_done, fig.delivered_minutes) == (2, 185)
    # the last 30 days: r1's survey (score 2) and r2's (no answer); October's is too old
    assert fig.satisfaction == Satisfaction(sent=2, answered=1, average=2.0, low_scores=1)
    assert fig.satisfaction.response_rate == 0.5
    assert (fig.unreachable, fig.held_notices) == (2, 1)  # w2, w3; the unserved notice


@pytest.mark.asyncio
async def test_held_notices_counts_only_those_with_no_recipient(data):
    """A notice held for a known person (outside WhatsApp's window, opted out) waits on
    them: it is not one "held with no recipient"."""
    async with transaction(data.runtime.sessions) as session:
        for n, reason in enumerate(("whatsapp_window", "opted_out")):
            session.add(Notice(dedupe_key=f"held-{n}", person_id=data.people["w2"].id,
                               kind="worker.done", params={"request_id": 1}, status="held",
                               held_reason=reason))
    fig = await digest_of(data.runtime, THURSDAY)
    assert fig.held_notices == 1  # still only the unserved notice for the coordinators


@pytest.mark.asyncio
async def test_digest_per_cooperative_and_per_employer(data):
    fig = await digest_of(data.runtime, THURSDAY)
    # coop-b had nothing today, so it is left out
    assert fig.cooperatives == [OrgLine("coop-a", "Cooperativa A", received=2, done=2,
                                        minutes=185)]
    assert fig.employers == [OrgLine("coop-a", "Cooperativa A", received=1),
                             OrgLine("employer", "Datore", received=1, done=2, minutes=185)]


@pytest.mark.asyncio
async def test_digest_fund_and_its_run_out_date(data):
    fig = await digest_of(data.runtime, THURSDAY)
    assert (fig.fund.total_cents, fig.fund.reserved_cents, fig.fund.committed_cents,
            fig.fund.remaining_cents) == (5000, 2000, 3000, 0)
    assert fig.fund.committed_in_period_cents == 3000  # the last 30 days
    # reserved 10 + 20 + 20 € since Wednesday (2 days), nothing released: used up, so "today"
    wednesday = date(2026, 11, 25)
    assert fig.runway == Runway(daily_cents=2500, runs_out_on=THURSDAY, since=wednesday)
    async with transaction(data.runtime.sessions) as session:
        await session.exec(update(Fund).values(total_cents=12345))
    fig = await digest_of(data.runtime, THURSDAY)
    # 73.45 € left at 25 € a day: 2.94 days, so the 3rd day from today
    assert fig.fund.remaining_cents == 7345
    assert fig.runway == Runway(daily_cents=2500, runs_out_on=date(2026, 11, 29),
                                since=wednesday)


@pytest.mark.asyncio
async def test_digest_series_is_the_last_30_days(data):
    fig = await digest_of(data.runtime, THURSDAY)
    assert {category: len(counts) for category, counts in fig.series.items()} == {
        "errand": 30, "childcare": 30, "eldercare": 30}
    assert {c: counts[-2:] for c, counts in fig.series.items()} == {
        "errand": [1, 1], "childcare": [1, 1], "eldercare": [2, 0]}
    assert sum(map(sum, fig.series.values())) == 6  # r0 (20 October) is older


@pytest.mark.asyncio
async def test_digest_of_a_day_with_nothing(data):
    sunday = date(2026, 11, 29)
    fig = await digest_of(data.runtime, sunday, rome(2026, 11, 29, 18))
    assert fig.total_received == 0 and fig.jobs_done == 0
    assert fig.cooperatives == [] and fig.employers == []
    assert fig.waiting.pending == 2 and fig.waiting.unserved == 1  # still waiting
    assert fig.series["eldercare"][-5:] == [2, 0, 0, 0, 0]


@pytest.mark.asyncio
async def test_digest_of_an_empty_store(mini):
    fig = await digest_of(mini, THURSDAY)
    assert fig.total_received == 0 and fig.jobs_done == 0 and fig.delivered_minutes == 0
    assert fig.waiting == Waiting(0, None, 0)
    assert fig.satisfaction == Satisfaction() and fig.satisfaction.response_rate is None
    assert fig.fund.remaining_cents == 5000 and fig.runway == Runway(0, None)
    assert (fig.unreachable, fig.held_notices) == (0, 0)
    assert set(map(sum, fig.series.values())) == {0}


# --- a period -----------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_figures_of_november(data):
    fig = await period_of(data.runtime, date(2026, 11, 1), date(2026, 11, 30))
    assert fig.received == {
        "pending": zeros(childcare=1, eldercare=1), "unserved": zeros(eldercare=1),
        "assigned": zeros(), "done": zeros(errand=1, childcare=1), "no_show": zeros(),
        "cancelled": zeros(errand=1)}
    assert fig.total_received == 6
    assert fig.received_by_category == zeros(errand=2, childcare=2, eldercare=2)
    assert fig.by_municipality == {"Alfa": zeros(errand=2, childcare=2),
                                   "Beta": zeros(eldercare=1), "Gamma": zeros(eldercare=1)}
    assert fig.employers == [OrgLine("coop-a", "Cooperativa A", received=2),
                             OrgLine("employer", "Datore", received=4, done=2, minutes=185)]
    assert fig.cooperatives == [OrgLine("coop-a", "Cooperativa A", received=4, done=2,
                                        minutes=185),
                                OrgLine("coop-b", "Cooperativa B", received=1)]
    assert fig.delivered == {"errand": Delivery(1, 55, 60), "childcare": Delivery(1, 130, 130),
                             "eldercare": Delivery()}
    assert (fig.jobs_done, fig.delivered_minutes, fig.saved_minutes) == (2, 185, 190)


@pytest.mark.asyncio
async def test_uptake_by_employer_and_by_gender(data):
    fig = await period_of(data.runtime, date(2026, 11, 1), date(2026, 11, 30))
    assert fig.uptake_by_employer == [Uptake("coop-a", "Cooperativa A", enrolled=2, users=1),
                                      Uptake("employer", "Datore", enrolled=2, users=2)]
    assert fig.uptake_by_gender == [Uptake("f", "f", 2, 1), Uptake("m", "m", 1, 1),
                                    Uptake("other", "other", 0, 0), Uptake("none", "none", 1, 1)]
    assert (fig.enrolled, fig.users) == (4, 3)
    # nobody was enrolled before the 25th (the day they were all created)
    before = await period_of(data.runtime, date(2026, 10, 1), date(2026, 10, 31))
    assert before.enrolled == 0 and before.users == 1  # r0 was booked "before" enrolment


@pytest.mark.asyncio
async def test_mens_share_of_care_satisfaction_and_fund(data):
    fig = await period_of(data.runtime, date(2026, 11, 1), date(2026, 11, 30))
    # care: r2 and r4 by w2 (m), r3 and r5 by w3 (not said)
    assert fig.care == CareShare(requests={"f": 0, "m": 2, "other": 0, "none": 2},
                                 workers={"f": 0, "m": 1, "other": 0, "none": 1})
    assert fig.care.men_share == 0.5
    assert fig.satisfaction == Satisfaction(sent=2, answered=1, average=2.0, low_scores=1)
    assert fig.fund.committed_in_period_cents == 3000
    autumn = await period_of(data.runtime, date(2026, 10, 1), date(2026, 11, 30))
    assert autumn.satisfaction == Satisfaction(sent=3, answered=2, average=3.0, low_scores=1)
    assert autumn.delivered["errand"] == Delivery(2, 100, 120)
    assert autumn.cooperatives[1] == OrgLine("coop-b", "Cooperativa B", received=2, done=1,
                                             minutes=45)


@pytest.mark.asyncio
async def test_a_single_day_period_is_that_local_day(data):
    fig = await period_of(data.runtime, THURSDAY, THURSDAY)
    assert fig.total_received == 2 and fig.jobs_done == 2
    assert fig.fund.committed_in_period_cents == 3000
    wednesday = await period_of(data.runtime, date(2026, 11, 25), date(2026, 11, 25))
    assert wednesday.total_received == 4 and wednesday.jobs_done == 0
    assert wednesday.fund.committed_in_period_cents == 0


# --- pure parts and the series ------------------------------------------------------------

def test_runway_rounds_up_and_needs_spending():
    today = date(2026, 11, 26)
    since = date(2026, 10, 28)  # 30 days ending today
    assert runway(10_000, 0, 30, today) == Runway(0, None)
    assert runway(10_000, -500, 30, today) == Runway(0, None)  # more released than reserved
    assert runway(10_000, 3_000, 30, today) == Runway(100, today + timedelta(days=100), since)
    assert runway(10_001, 3_000, 30, today) == Runway(100, today + timedelta(days=101), since)
    assert runway(0, 3_000, 30, today) == Runway(100, today, since)
    assert runway(1_000, 500, 1, today) == Runway(500, today + timedelta(days=2), today)


def test_runway_gives_no_date_years_away():
    today = date(2026, 11, 26)
    # 40,000 € at 10 € a day: almost 11 years, past the horizon (and no overflow either)
    assert runway(4_000_000, 30_000, 30, today) == Runway(
        1000, None, date(2026, 10, 28), beyond_horizon=True)
    assert runway(4_000_000, 1, 30, today).beyond_horizon
    days = int(RUNWAY_HORIZON_YEARS * 365)
    assert runway(days * 100, 3_000, 30, today).runs_out_on == today + timedelta(days=days)


async def spend(runtime, cents: int, at: datetime, kind: str = "reserve") -> None:
    """A movement of the fund straight in its ledger."""
    async with transaction(runtime.sessions) as session:
        fund_id = (await session.exec(select(Fund.id))).one()
        session.add(LedgerEntry(fund_id=fund_id, kind=kind, amount_cents=cents, at=at))


@pytest.mark.asyncio
async def test_the_pace_counts_the_days_since_the_first_spending(mini):
    """A new fund's first day: 10 € reserved today is 10 € a day, not 10 € a month."""
    await spend(mini, 1000, rome(2026, 11, 26, 9))
    fig = await digest_of(mini, THURSDAY)
    # 50 € left in the fund (the ledger alone moved): 5 days at 10 € a day
    assert fig.runway == Runway(1000, THURSDAY + timedelta(days=5), since=THURSDAY)
    await spend(mini, 700, rome(2026, 11, 24, 23, 30))  # Tuesday: three days of spending
    await spend(mini, 200, rome(2026, 11, 25, 12), kind="release")
    fig = await digest_of(mini, THURSDAY)
    assert fig.runway == Runway(500, THURSDAY + timedelta(days=10), since=date(2026, 11, 24))


@pytest.mark.asyncio
async def test_the_pace_looks_back_thirty_days_at_most(mini):
    await spend(mini, 99_999, rome(2026, 9, 1, 10))  # long ago: the pace forgets it
    await spend(mini, 1500, rome(2026, 11, 16, 10))
    fig = await digest_of(mini, THURSDAY)
    # 15 € over the 30 days 28/10..26/11: 50 cents a day, 100 days for the 50 € left
    assert fig.runway == Runway(50, THURSDAY + timedelta(days=100), since=date(2026, 10, 28))


@pytest.mark.asyncio
async def test_series_buckets_by_local_day_across_the_clock_change(mini):
    worker_person = await make_person(mini, "employer")
    # 25 October 2026: Rome goes from UTC+2 to UTC+1 at 03:00
    moments = [rome(2026, 10, 24, 23, 59), rome(2026, 10, 25, 0, 30),  # 22:30 UTC on the 24th
               rome(2026, 10, 25, 23, 30), rome(2026, 10, 26, 0, 10)]
    async with transaction(mini.sessions) as session:
        service_id = await row_id(session, Service, code="baby")
        place_id = await row_id(session, Municipality, name="Alfa")
        for moment in moments:
            session.add(ServiceRequest(
                worker_id=worker_person.id, service_id=service_id, municipality_id=place_id,
                starts_at=moment + timedelta(days=2), duration_minutes=120, status="pending",
                price_cents=3000, created_at=moment, updated_at=moment))
    async with transaction(mini.sessions) as session:
        series = await daily_series(session, date(2026, 10, 26), days=3)
        with pytest.raises(ValueError):
            await daily_series(session, date(2026, 10, 26), days=0)
    assert series == {"errand": [0, 0, 0], "childcare": [1, 2, 1], "eldercare": [0, 0, 0]}


@pytest.mark.asyncio
async def test_figures_hold_no_personal_data(data):
    """The figures carry counts, hours and organisation names: no person's name, no
    address, no note."""
    digest = await digest_of(data.runtime, THURSDAY)
    period = await period_of(data.runtime, date(2026, 11, 1), date(2026, 11, 30))
    dumped = repr(digest) + repr(period)
    for secret in ("W1", "W2", "W3", "OpA", "Via Roma"):
        assert secret not in dumped
