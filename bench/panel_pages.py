"""The web console's pages on the synthetic year of bench/digest_queries.py, on PostgreSQL.

Builds the same year (same generator, same seed: 1,000,000 requests and 100,000 workers
by default) in a temporary PostgreSQL database (created on 127.0.0.1:5432, dropped
after), signs a coordinator in through the real sign-in link, and times in the same run:

- the digest's own queries (`digest_figures` for today): the baseline;
- the dashboard as the coordinator opens it (`GET /pannello/cruscotto`, today's figures
  with its charts) and with this month as the period;
- the requests list, first page, with several filters (`GET /pannello/richieste?...`),
  and its query alone (to tell the database's share from the page's).

Pages are requested through the real ASGI app in-process (httpx's ASGI transport: the
whole page — session check, queries, templates — without a network), `--runs` times each
after a warm-up, and reported as p50/p95. Targets: the dashboard ≤ 1.5 × the digest's
queries; the filtered requests list ≤ 100 ms.

    .venv/bin/python bench/panel_pages.py [--requests 1000000] [--workers 100000] [--runs 20]
"""

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from digest_queries import (  # noqa: E402
    NOW,
    TODAY,
    YearBuilder,
    check_columns,
    load_postgres,
    prepare,
    scratch_postgres,
)
from sqlmodel import select  # noqa: E402

from bot.panel import security  # noqa: E402
from bot.runtime import start_runtime  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.web import create_app  # noqa: E402
from models import panel_reads  # noqa: E402
from models.db import transaction  # noqa: E402
from models.figures import digest_figures  # noqa: E402
from models.panel import create_link, use_link  # noqa: E402
from models.tables import Municipality, Organisation, Person  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def timed(runs: int, call) -> list[float]:
    await call()  # warm-up: plans cached, pages compiled
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - started)
    return seconds


async def signed_in(runtime) -> httpx.AsyncClient:
    """A coordinator of the synthetic year, signed in through a real link."""
    async with transaction(runtime.sessions) as session:
        coordinator = (await session.exec(select(Person).where(
            Person.role == "coordinator"))).first()
        token = await create_link(session, coordinator, NOW, security.rules_of(runtime.settings))
        opened = await use_link(session, token, NOW, security.rules_of(runtime.settings))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime)),
                               base_url="http://bench")
    client.cookies.set(security.SESSION_COOKIE, opened.token, path="/pannello")
    return client


async def filters(runtime) -> dict[str, str]:
    async with transaction(runtime.sessions) as session:
        crema = (await session.exec(select(Municipality.id).where(
            Municipality.name == "Crema"))).one()
        koala = (await session.exec(select(Organisation.id).where(
            Organisation.code == "koala"))).one()
        ali = (await session.exec(select(Organisation.id).where(
            Organisation.code == "ali"))).one()
    month = f"dal={TODAY.replace(day=1).isoformat()}&al={TODAY.isoformat()}"
    return {
        "no filter": "",
        "status pending": "stato=pending",
        "status unserved": "stato=unserved",
        "cooperative + category": f"cooperativa={koala}&categoria=childcare",
        "employer + this month": f"datore={ali}&{month}",
        "municipality + status done": f"comune={crema}&stato=done",
        "number": "numero=500000",
    }


async def run(args) -> None:
    async with scratch_postgres("heads") as database:
        if database is None:
            return
        version, dsn, url = database.version, database.dsn, database.url
        catalogue = await prepare(url)
        started = time.perf_counter()
        year = YearBuilder(catalogue, args.requests, args.workers).build()
        await check_columns(url, year)
        await load_postgres(dsn, year)
        print(f"PostgreSQL {version}: {args.requests:,} requests, {args.workers:,} workers "
              f"generated and loaded in {time.perf_counter() - started:.0f} s")
        runtime = await start_runtime(Settings(database_url=url, _env_file=None),
                                      clock=lambda: NOW)
        try:
            await measure(runtime, args.runs)
        finally:
            await runtime.close()


async def measure(runtime, runs: int) -> None:
    async def digest():
        async with runtime.sessions() as session:
            await digest_figures(session, TODAY, NOW)

    client = await signed_in(runtime)

    def page(path: str):
        async def get():
            response = await client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        return get

    results = {"digest's queries (baseline)": await timed(runs, digest),
               "dashboard (today)": await timed(runs, page("/pannello/cruscotto")),
               "dashboard (this month)": await timed(runs,
                                                     page("/pannello/cruscotto?periodo=mese"))}
    for label, query in (await filters(runtime)).items():
        results[f"requests list: {label}"] = await timed(runs,
                                                         page(f"/pannello/richieste?{query}"))

    async def list_query():  # the list's own query, without the page around it
        async with runtime.sessions() as session:
            await panel_reads.list_requests(session, panel_reads.RequestFilters())

    results["(the list's query alone, no filter)"] = await timed(runs, list_query)
    await client.aclose()
    baseline = statistics.median(results["digest's queries (baseline)"])
    print(f"\n{'case':<45} {'p50':>9} {'p95':>9} {'p50 / digest':>13}")
    for label, seconds in results.items():
        p50, p95 = statistics.median(seconds), percentile(seconds, 0.95)
        print(f"{label:<45} {p50 * 1000:>7.0f}ms {p95 * 1000:>7.0f}ms {p50 / baseline:>12.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if not 1_000 <= args.requests <= 5_000_000 or not 100 <= args.workers <= 1_000_000 \
            or not 3 <= args.runs <= 200:
        parser.error("--requests 1,000..5,000,000, --workers 100..1,000,000, --runs 3..200")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
