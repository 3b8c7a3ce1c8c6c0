"""The coordinator's figures on a synthetic year: 1,000,000 requests and 100,000 workers.

Builds the year (deterministic, seeded) in a temporary SQLite file and in a temporary
PostgreSQL database (created on postgresql://postgres@127.0.0.1:5432 — INTEMPO_BENCH_PG to
change — and dropped after; skipped with a message when the server does not answer), both
migrated with the project's Alembic migrations and loaded with the Crema catalogue, then
bulk-loaded (sqlite3 executemany in one transaction; asyncpg COPY). Then it times
`digest_figures` (one day) and `period_figures` for a month and for a year, best of 3,
and prints the query plan of every statement they run (EXPLAIN QUERY PLAN on SQLite,
EXPLAIN on PostgreSQL) with the indexes each one uses and its time in one more run (a
cold-ish one: the run that captures the statements). Target: < 1 s on PostgreSQL.

The year: workers of the 6 alliance employers and 24 companies (78 % women), requests
spread over the 48 municipalities (Crema busiest), 55 % errands, 30 % childcare, 15 %
eldercare, booked 2 hours to 2 weeks ahead; past ones mostly done (some cancelled, not
done, unserved), future ones taken or waiting; fund reservations, commits and releases;
a survey after each job (65 % answered); chats (3 % unreachable or opted out); notices.

    .venv/bin/python bench/digest_queries.py [--requests 1000000] [--workers 100000]
        [--only sqlite|postgres] [--revision head] [--runs 3] [--plans full|summary|none]

`--revision 0003` builds the schema without the report indexes of migration 0004, to see
what they are for. The whole run takes about 3.5 minutes on 2 cores (each database:
~20 s to generate the year, ~1 min to load it, ~30 s of queries and plans); a smaller
year for a quick look: --requests 100000 --workers 10000.
"""

import argparse
import asyncio
import contextlib
import functools
import inspect
import json
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy import inspect as sa_inspect  # noqa: E402
from sqlmodel import select  # noqa: E402

from models import figures, migrate  # noqa: E402
from models.catalog import load_catalog, read_catalog  # noqa: E402
from models.db import make_engine, make_sessions, transaction  # noqa: E402
from models.tables import Fund, Municipality, Organisation, Service  # noqa: E402

PG_ADMIN = os.environ.get("INTEMPO_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
CATALOG = ROOT / "data" / "crema.toml"
ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 25, 18, 0, tzinfo=ROME).astimezone(UTC)
TODAY = NOW.astimezone(ROME).date()
YEAR_START = NOW - timedelta(days=365)
SEED = 2026
EXTRA_EMPLOYERS, EXTRA_PROVIDERS = 24, 2
OPERATORS_PER_PROVIDER, COORDINATORS = 60, 3
NOTICES_PER_REQUEST = 0.2  # a sample of the outbox: enough rows for its indexes to matter
CATEGORY_MIX = {"errand": 55, "childcare": 30, "eldercare": 15}
GENDERS = (("f", 78), ("m", 18), ("other", 1), (None, 3))
SCORES = ((1, 3), (2, 4), (3, 13), (4, 35), (5, 45))


# --- the synthetic year -------------------------------------------------------------------

@dataclass
class Catalogue:
    """What the loaded catalogue gave each database (ids), plus the synthetic companies."""

    employers: list[int]
    providers: list[int]
    municipalities: list[int]
    services: dict[str, list[tuple[int, int, int]]]  # category → (id, minutes, price)
    share: dict[str, int]
    fund_id: int


@dataclass
class Year:
    """Rows per table, as (columns, rows); datetimes are naive UTC."""

    tables: dict[str, tuple[list[str], list[tuple]]] = field(default_factory=dict)
    fund: dict[str, int] = field(default_factory=dict)

    def count(self, table: str) -> int:
        return len(self.tables[table][1])


def naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def weighted(rng: random.Random, pairs) -> object:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


class YearBuilder:
    """Generates the year with one seeded random generator (same data on both databases)."""

    def __init__(self, catalogue: Catalogue, requests: int, workers: int):
        self.cat, self.n_requests, self.n_workers = catalogue, requests, workers
        self.rng = random.Random(SEED)
        self.year = Year()
        self.operators: dict[int, list[int]] = defaultdict(list)
        self.worker_employer: list[int] = []
        # Crema first, then a long tail: a Zipf-like spread over the 48 municipalities
        self.place_weights = [1 / (n + 1) ** 1.1 for n in range(len(catalogue.municipalities))]

    def build(self) -> Year:
        self._people()
        self._identities()
        self._requests()
        return self.year

    def _people(self) -> None:
        rng, start = self.rng, naive(YEAR_START)
        employer_weights = [30 if n < 6 else 8 for n in range(len(self.cat.employers))]
        rows = []
        for person_id in range(1, self.n_workers + 1):
            employer = rng.choices(self.cat.employers, employer_weights)[0]
            self.worker_employer.append(employer)
            enrolled = start + timedelta(seconds=rng.uniform(-2, 1) * 365 * 86400)
            rows.append((person_id, "worker", employer, f"W{person_id}", weighted(rng, GENDERS),
                         "it" if rng.random() < 0.95 else "en", enrolled, rng.random() > 0.03,
                         enrolled))
        person_id = self.n_workers
        for provider in self.cat.providers:
            for _ in range(OPERATORS_PER_PROVIDER):
                person_id += 1
                self.operators[provider].append(person_id)
                rows.append((person_id, "operator", provider, f"O{person_id}", None, "it",
                             start, True, start))
        for _ in range(COORDINATORS):
            person_id += 1
            rows.append((person_id, "coordinator", self.cat.employers[0], f"C{person_id}",
                         None, "it", start, True, start))
        self.year.tables["person"] = (
            ["id", "role", "organisation_id", "first_name", "gender", "language", "consent_at",
             "active", "created_at"], rows)

    def _identities(self) -> None:
        rng, rows, stamp = self.rng, [], naive(NOW - timedelta(days=3))
        identity_id = 0
        for person in self.year.tables["person"][1]:
            channels = ["telegram", "whatsapp"] if rng.random() < 0.25 else [
                rng.choice(["telegram", "whatsapp"])]
            lost = rng.random()  # 2 % unreachable everywhere, 1 % opted out everywhere
            for channel in channels:
                identity_id += 1
                rows.append((identity_id, channel, f"{channel}-{person[0]}", person[0],
                             stamp if lost < 0.02 else None,
                             stamp if 0.02 <= lost < 0.03 else None, person[8]))
        self.year.tables["chatidentity"] = (
            ["id", "channel", "external_id", "person_id", "unreachable_at", "opted_out_at",
             "created_at"], rows)

    def _requests(self) -> None:
        requests, ledger, surveys, notices = [], [], [], []
        totals = {"reserve": 0, "release": 0, "commit": 0}
        now, start = naive(NOW), naive(YEAR_START)
        span = (now - start).total_seconds()
        rng = self.rng
        for request_id in range(1, self.n_requests + 1):
            created = start + timedelta(seconds=rng.random() * span)
            row, moves, survey = self._one_request(request_id, created, now)
            requests.append(row)
            for kind, amount, at in moves:
                ledger.append((len(ledger) + 1, self.cat.fund_id, request_id, row[1], kind,
                               amount, at))
                totals[kind] += amount
            if survey:
                surveys.append((len(surveys) + 1, request_id, row[1], row[7], *survey))
            if rng.random() < NOTICES_PER_REQUEST:
                notices.append(self._notice(len(notices) + 1, row[1], created))
        for n in range(40):  # held for a coordinator, or outside WhatsApp's window
            notices.append((len(notices) + 1, f"bench-held:{n}", None, "coordinator",
                            "coordinator.unserved", "{}", "[]", "held", 0, now, now))
        self.year.tables["service_request"] = (REQUEST_COLUMNS, requests)
        self.year.tables["ledger_entry"] = (
            ["id", "fund_id", "request_id", "person_id", "kind", "amount_cents", "at"], ledger)
        self.year.tables["survey"] = (
            ["id", "request_id", "worker_id", "provider_id", "due_at", "sent_at", "answered_at",
             "closed_at", "score"], surveys)
        self.year.tables["notice"] = (
            ["id", "dedupe_key", "person_id", "audience", "kind", "params", "choices", "status",
             "attempts", "next_attempt_at", "created_at"], notices)
        committed = totals["commit"]
        reserved = totals["reserve"] - totals["release"] - totals["commit"]
        # what is left: about four months at this year's pace, within the INTEGER column
        left = min(2**31 - 1 - committed - reserved, (totals["reserve"] - totals["release"]) // 3)
        self.year.fund = {"committed_cents": committed, "reserved_cents": reserved,
                          "total_cents": committed + reserved + max(0, left)}

    def _one_request(self, request_id: int, created: datetime, now: datetime):
        rng, cat = self.rng, self.cat
        category = weighted(rng, CATEGORY_MIX.items())
        service_id, minutes, price = rng.choice(cat.services[category])
        worker = 1 + int(self.n_workers * rng.random() ** 2.5)  # some workers use it a lot
        place = rng.choices(cat.municipalities, self.place_weights)[0]
        lead = timedelta(hours=min(14 * 24, max(2, rng.expovariate(1 / 72))))
        starts = (created + lead).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        fund_cents = price * cat.share.get(category, 0) // 100
        provider = rng.choice(cat.providers)
        status, done_at, actual = self._outcome(starts, minutes, now)
        operator = rng.choice(self.operators[provider]) if status in (
            "assigned", "done", "no_show") else None
        provider_id = None if status == "unserved" else provider
        offered = None if status == "unserved" else created + timedelta(minutes=1)
        ended = done_at or min(starts, now)
        row = (request_id, worker, service_id, place, starts, minutes, status, provider_id,
               operator, price, fund_cents, 1, offered, "[]", actual, done_at, created,
               ended if status in ("done", "no_show", "cancelled") else created)
        return row, self._moves(status, fund_cents, created, ended), \
            self._survey(status, done_at, now)

    def _outcome(self, starts: datetime, minutes: int, now: datetime):
        rng = self.rng
        if starts > now:
            return weighted(rng, (("pending", 12), ("assigned", 78), ("unserved", 3),
                                  ("cancelled", 7))), None, None
        status = weighted(rng, (("done", 80), ("cancelled", 11), ("no_show", 3),
                                ("unserved", 4), ("assigned", 2)))
        if status == "done":
            actual = max(5, minutes + rng.randint(-10, 20))
            done_at = starts + timedelta(minutes=actual)
            return ("done", done_at, actual) if done_at <= now else ("assigned", None, None)
        return status, (starts if status == "no_show" else None), None

    @staticmethod
    def _moves(status: str, amount: int, created: datetime, ended: datetime):
        if amount <= 0:
            return []
        moves = [("reserve", amount, created)]
        if status == "done":
            moves.append(("commit", amount, ended))
        elif status in ("cancelled", "no_show", "unserved"):
            moves.append(("release", amount, ended if status != "unserved" else created))
        return moves

    def _survey(self, status: str, done_at: datetime | None, now: datetime):
        if status != "done":
            return None
        due = done_at + timedelta(hours=2)
        if due > now:
            return (due, None, None, None, None)
        rng = self.rng
        if rng.random() < 0.65:
            answered = min(now, due + timedelta(minutes=rng.expovariate(1 / 240)))
            return (due, due, answered, None, weighted(rng, SCORES))
        return (due, due, None, due + timedelta(days=7) if due + timedelta(days=7) <= now
                else None, None)

    def _notice(self, notice_id: int, person_id: int, created: datetime) -> tuple:
        return (notice_id, f"bench:{notice_id}", person_id, None, "worker.assigned",
                json.dumps({"request_id": notice_id}), "[]", "sent", 1, created, created)


REQUEST_COLUMNS = [
    "id", "worker_id", "service_id", "municipality_id", "starts_at", "duration_minutes",
    "status", "provider_id", "operator_id", "price_cents", "fund_cents", "offer_round",
    "offered_at", "tried_provider_ids", "actual_minutes", "done_at", "created_at",
    "updated_at"]
LOAD_ORDER = ["person", "chatidentity", "service_request", "ledger_entry", "survey", "notice"]


# --- the databases ------------------------------------------------------------------------

async def prepare(url: str) -> Catalogue:
    """The Crema catalogue plus the synthetic companies and cooperatives; their ids."""
    engine = make_engine(url)
    sessions = make_sessions(engine)
    try:
        async with transaction(sessions) as session:
            await load_catalog(session, read_catalog(CATALOG))
            for n in range(1, EXTRA_EMPLOYERS + 1):
                session.add(Organisation(code=f"azienda-{n:02d}", name=f"Azienda {n:02d}",
                                         roles=["employer"]))
            for n in range(1, EXTRA_PROVIDERS + 1):
                session.add(Organisation(code=f"coop-{n:02d}", name=f"Cooperativa {n:02d}",
                                         roles=["provider"]))
        async with transaction(sessions) as session:
            return await read_catalogue(session)
    finally:
        await engine.dispose()


async def read_catalogue(session) -> Catalogue:
    orgs = (await session.exec(select(Organisation).order_by(Organisation.id))).all()
    services: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for service in (await session.exec(select(Service).order_by(Service.id))).all():
        services[service.category].append(
            (service.id, service.duration_minutes, service.price_cents))
    fund = (await session.exec(select(Fund))).one()
    places = (await session.exec(select(Municipality.id).order_by(Municipality.id))).all()
    crema = (await session.exec(select(Municipality.id).where(
        Municipality.name == "Crema"))).one()
    return Catalogue(
        employers=[o.id for o in orgs if "employer" in o.roles],
        providers=[o.id for o in orgs if "provider" in o.roles],
        municipalities=[crema] + [p for p in places if p != crema],
        services=dict(services), share=dict(fund.share_percent), fund_id=fund.id)


async def check_columns(url: str, year: Year) -> None:
    """Every NOT NULL column without a default must be filled by the generator (the
    schema may have grown since this benchmark was written)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            for table, (columns, _rows) in year.tables.items():
                described = await connection.run_sync(
                    lambda sync, name=table: sa_inspect(sync).get_columns(name))
                missing = [c["name"] for c in described if not c["nullable"]
                           and c["default"] is None and c["name"] not in columns]
                if missing:
                    raise SystemExit(f"{table}: the benchmark does not fill {missing}")
    finally:
        await engine.dispose()


def sqlite_value(value):
    if isinstance(value, datetime):  # as SQLAlchemy writes it: microseconds always present
        return value.isoformat(sep=" ", timespec="microseconds")
    return value


def load_sqlite(path: str, year: Year) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-400000")
        connection.execute("BEGIN")
        for table in LOAD_ORDER:
            columns, rows = year.tables[table]
            marks = ", ".join("?" * len(columns))
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                ([sqlite_value(v) for v in row] for row in rows))
        connection.execute("UPDATE fund SET committed_cents = ?, reserved_cents = ?, "
                           "total_cents = ?", (year.fund["committed_cents"],
                                               year.fund["reserved_cents"],
                                               year.fund["total_cents"]))
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
    finally:
        connection.close()


async def load_postgres(dsn: str, year: Year) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            # the generator writes consistent keys: skip the per-row foreign-key triggers
            await connection.execute("SET LOCAL session_replication_role = replica")
            for table in LOAD_ORDER:
                columns, rows = year.tables[table]
                await connection.copy_records_to_table(table, records=rows, columns=columns)
            await connection.execute(
                "UPDATE fund SET committed_cents = $1, reserved_cents = $2, total_cents = $3",
                year.fund["committed_cents"], year.fund["reserved_cents"],
                year.fund["total_cents"])
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


# --- timings and plans --------------------------------------------------------------------

@dataclass
class Captured:
    label: str
    statement: str
    parameters: object
    seconds: float = 0.0


class Labels:
    """Names each statement after the function of models/figures.py that runs it: every
    coroutine function of that module is wrapped, for the capture only, to say so."""

    current = "?"

    @classmethod
    @contextlib.contextmanager
    def installed(cls):
        originals = dict(inspect.getmembers(figures, inspect.iscoroutinefunction))
        for name, function in originals.items():
            setattr(figures, name, cls._wrap(name, function))
        try:
            yield
        finally:
            for name, function in originals.items():
                setattr(figures, name, function)

    @classmethod
    def _wrap(cls, name, function):
        @functools.wraps(function)
        async def labelled(*args, **kwargs):
            outer, cls.current = cls.current, name
            try:
                return await function(*args, **kwargs)
            finally:
                cls.current = outer
        return labelled


CASES = {  # looked up in the module at call time, so the capture sees the wrappers
    "digest_figures (one day)": lambda s: figures.digest_figures(s, TODAY, NOW),
    "period_figures (a month)": lambda s: figures.period_figures(
        s, TODAY.replace(day=1), TODAY, NOW),
    "period_figures (a year)": lambda s: figures.period_figures(
        s, (NOW - timedelta(days=364)).astimezone(ROME).date(), TODAY, NOW),
}


async def time_cases(url: str, runs: int) -> dict[str, list[float]]:
    engine = make_engine(url)
    sessions = make_sessions(engine)
    timings: dict[str, list[float]] = {}
    try:
        for name, case in CASES.items():
            timings[name] = []
            for _ in range(runs):
                async with sessions() as session:
                    started = time.perf_counter()
                    await case(session)
                    timings[name].append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    return timings


async def capture_statements(url: str) -> dict[str, list[Captured]]:
    engine = make_engine(url)
    sessions = make_sessions(engine)
    captured: list[Captured] = []

    def before(_conn, _cursor, statement, parameters, _context, _many):
        captured.append(Captured(Labels.current, statement, parameters, time.perf_counter()))

    def after(_conn, _cursor, _statement, _parameters, _context, _many):
        captured[-1].seconds = time.perf_counter() - captured[-1].seconds

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    by_case: dict[str, list[Captured]] = {}
    try:
        for name, case in CASES.items():
            captured.clear()
            with Labels.installed():
                async with sessions() as session:
                    await case(session)
            by_case[name] = [c for c in captured if c.label != "?"
                             and c.statement.lstrip().upper().startswith(("SELECT", "WITH"))]
        event.remove(engine.sync_engine, "before_cursor_execute", before)
        event.remove(engine.sync_engine, "after_cursor_execute", after)
        return await explain_all(engine, by_case)
    finally:
        await engine.dispose()


async def explain_all(engine, by_case: dict[str, list[Captured]]) -> dict[str, list]:
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    plans: dict[str, list] = {}
    async with engine.connect() as connection:
        for name, statements in by_case.items():
            plans[name] = []
            for item in statements:
                result = await connection.exec_driver_sql(prefix + item.statement,
                                                          item.parameters)
                lines = [" | ".join(str(v) for v in row[-1:]) for row in result.all()]
                plans[name].append((item.label, item.seconds, lines))
    return plans


INDEX_PATTERNS = [
    re.compile(r"USING (?:COVERING )?INDEX (\w+)"),  # SQLite
    re.compile(r"Index (?:Only )?Scan (?:Backward )?using (\w+)"),  # PostgreSQL
    re.compile(r"Bitmap Index Scan on (\w+)"),
]
SCAN_PATTERNS = [re.compile(r"^SCAN (\w+)$"), re.compile(r"Seq Scan on (\w+)")]


def summary(lines: list[str]) -> str:
    indexes, scans = [], []
    for line in lines:
        stripped = line.strip(" |-`>")
        for pattern in INDEX_PATTERNS:
            indexes += pattern.findall(stripped)
        for pattern in SCAN_PATTERNS:  # anon_n: a subquery's own rows, not a table
            scans += [t for t in pattern.findall(stripped) if not t.startswith("anon_")]
    parts = []
    if indexes:
        parts.append("index " + ", ".join(dict.fromkeys(indexes)))
    if scans:
        parts.append("full scan " + ", ".join(dict.fromkeys(scans)))
    return "; ".join(parts) or "-"


def report(title: str, load_seconds: float, year: Year, timings, plans, mode: str) -> None:
    print(f"\n=== {title} ===")
    sizes = ", ".join(f"{table} {year.count(table):,}" for table in LOAD_ORDER)
    print(f"loaded in {load_seconds:.1f} s: {sizes}")
    for name, runs in timings.items():
        shown = ", ".join(f"{t:.3f}" for t in runs)
        print(f"  {name:<28} best {min(runs):7.3f} s   (runs: {shown})")
    if mode == "none":
        return
    for name, items in plans.items():
        print(f"\n  plans of {name}:")
        for label, seconds, lines in items:
            print(f"    {label:<28} {seconds * 1000:8.1f} ms  {summary(lines)}")
            if mode == "full":
                for line in lines:
                    print(f"        {line}")


# --- the two runs -------------------------------------------------------------------------

async def run_sqlite(args) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "year.db")
        url = f"sqlite+aiosqlite:///{path}"
        await asyncio.to_thread(migrate.upgrade, url, args.revision)
        catalogue = await prepare(url)
        started = time.perf_counter()
        year = YearBuilder(catalogue, args.requests, args.workers).build()
        await check_columns(url, year)
        generated = time.perf_counter()
        await asyncio.to_thread(load_sqlite, path, year)
        loaded = time.perf_counter() - generated
        print(f"\n(SQLite: year generated in {generated - started:.1f} s)")
        timings = await time_cases(url, args.runs)
        plans = await capture_statements(url) if args.plans != "none" else {}
        report(f"SQLite {sqlite3.sqlite_version} (a file, WAL)", loaded, year, timings, plans,
               args.plans)


@dataclass
class ScratchDatabase:
    """A PostgreSQL database made for one benchmark run: its server's version, its asyncpg
    DSN and its SQLAlchemy URL."""

    version: str
    dsn: str
    url: str


@contextlib.asynccontextmanager
async def scratch_postgres(revision: str) -> AsyncIterator[ScratchDatabase | None]:
    """A new database on the server at PG_ADMIN, migrated to `revision`, dropped afterwards;
    None (and a line saying so) when the server does not answer."""
    try:
        admin = await asyncpg.connect(PG_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        print(f"\nPostgreSQL skipped: {PG_ADMIN} does not answer ({error})")
        yield None
        return
    name = f"intempo_bench_{uuid.uuid4().hex[:10]}"
    version = await admin.fetchval("SHOW server_version")
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")
    try:
        await asyncio.to_thread(migrate.upgrade, url, revision)
        yield ScratchDatabase(version, dsn, url)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run_postgres(args) -> None:
    async with scratch_postgres(args.revision) as database:
        if database is None:
            return
        version, dsn, url = database.version, database.dsn, database.url
        catalogue = await prepare(url)
        started = time.perf_counter()
        year = YearBuilder(catalogue, args.requests, args.workers).build()
        await check_columns(url, year)
        generated = time.perf_counter()
        await load_postgres(dsn, year)
        loaded = time.perf_counter() - generated
        print(f"\n(PostgreSQL: year generated in {generated - started:.1f} s)")
        timings = await time_cases(url, args.runs)
        plans = await capture_statements(url) if args.plans != "none" else {}
        report(f"PostgreSQL {version}", loaded, year, timings, plans, args.plans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=100_000)
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--revision", default="head", help="migrate to this revision")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--plans", choices=("full", "summary", "none"), default="full")
    args = parser.parse_args()
    if not 1_000 <= args.requests <= 5_000_000 or not 100 <= args.workers <= 1_000_000:
        parser.error("--requests 1,000..5,000,000 and --workers 100..1,000,000")
    print(f"a synthetic year to {TODAY}: {args.requests:,} requests, {args.workers:,} workers, "
          f"schema at {args.revision}, best of {args.runs}")
    if args.only in (None, "sqlite"):
        asyncio.run(run_sqlite(args))
    if args.only in (None, "postgres"):
        asyncio.run(run_postgres(args))


if __name__ == "__main__":
    main()
