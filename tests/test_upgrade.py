"""Upgrading a store the previous release made (schema 0004, with people, a job done and
its notices) to the code's migrations: nothing lost, and the product goes on with it.
`intempo db check` says when an upgrade is needed."""

import asyncio

import pytest
from sqlalchemy import MetaData, select

from bot.runtime import start_runtime
from bot.settings import Settings
from models import migrate
from models.db import make_engine, transaction
from models.fund import the_fund
from models.upgrade import check
from scheduler import jobs
from scheduler.digest import queue_digests
from tests.data.release_0004 import REVISION, _decode, load_rows, read_fixture
from tests.support.chat import Chatter, plain
from tests.support.clock import Clock
from tests.support.postgres import scratch_database


@pytest.fixture(params=["sqlite", "postgres"])
def bare_url(request, tmp_path):
    """An empty database (nothing migrated) on each kind."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'release.db'}"
        return
    if not request.getfixturevalue("pg_available"):
        pytest.skip("PostgreSQL is not running at 127.0.0.1:5432")
    with scratch_database("intempo_upgrade") as url:
        yield url


async def rows_now(engine, table_name: str) -> tuple[list[str], dict[tuple, dict]]:
    """The table's primary-key columns, and its rows by primary key."""
    metadata = MetaData()
    async with engine.connect() as connection:
        await connection.run_sync(lambda sync: metadata.reflect(sync, only=[table_name]))
        table = metadata.tables[table_name]
        keys = [column.name for column in table.primary_key.columns]
        result = await connection.execute(select(table))
        return keys, {tuple(row._mapping[key] for key in keys): dict(row._mapping)
                      for row in result}


@pytest.mark.asyncio
async def test_a_release_0004_store_with_data_upgrades_to_head(bare_url):
    await asyncio.to_thread(migrate.upgrade, bare_url, REVISION)
    fixture = read_fixture()
    engine = make_engine(bare_url)
    try:
        await load_rows(engine, fixture)
        before = await check(engine)
        assert before.current == [REVISION] and not before.unknown
        assert before.up_to_date == (before.heads == [REVISION])
        await asyncio.to_thread(migrate.upgrade, bare_url)
        after = await check(engine)
        assert after.up_to_date, after.describe()
        assert "up to date" in after.describe()

        # every row of the old store is there, with every value it had
        for table_name, old_rows in fixture.items():
            keys, now = await rows_now(engine, table_name)
            assert len(now) == len(old_rows), table_name
            for old in old_rows:
                match = now.get(tuple(_decode(old[key]) for key in keys))
                assert match is not None, (table_name, old)
                for column, value in old.items():
                    assert match[column] == _decode(value), (table_name, column)
    finally:
        await engine.dispose()

    # the product goes on with the upgraded store: the chat, the clock, the dispatcher
    clock = Clock()
    clock.set_local(2026, 11, 27, 10, 0)
    runtime = await start_runtime(Settings(database_url=bare_url, _env_file=None), clock=clock)
    try:
        worker = Chatter(runtime, "+393335550001")
        assert "Nuova richiesta" in " ".join(
            [await worker.say("menu"), *worker.labels])
        await worker.press("Le mie richieste")
        assert any("Spesa" in plain(label) for label in worker.labels), worker.labels
        assert "Via Verdi 7" in plain(await worker.press("Spesa"))
        ctx = runtime.job_context()
        for job in (jobs.escalations, jobs.send_reminders, jobs.run_surveys, jobs.retention,
                    queue_digests):
            await job(ctx)
        await runtime.dispatcher().run_once()
        async with transaction(runtime.sessions) as session:
            fund = await the_fund(session)
        assert (fund.reserved_cents, fund.committed_cents) == (0, 1000)
        # a new request: new rows get ids after the old ones (sequences carried over)
        await worker.say("menu")
        await worker.press("Nuova richiesta")
        await worker.press("Commissioni")
        await worker.press("Spesa")
        await worker.say("Alfa")
        await worker.say("lunedì alle 10")
        await worker.say("Via Verdi 9")
        await worker.say("nessuna")
        assert "affidata a" in plain(await worker.press("Conferma"))
    finally:
        await runtime.close()


@pytest.mark.asyncio
async def test_db_check_names_what_an_upgrade_applies(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    try:
        assert (await check(engine)).describe().startswith("The database is at migration none")
        await asyncio.to_thread(migrate.upgrade, url, "0002")
        behind = await check(engine)
        assert not behind.up_to_date
        assert behind.pending[:2] == ["0003", "0004"]
        assert "Run: intempo db upgrade" in behind.describe()
        await asyncio.to_thread(migrate.upgrade, url)
        assert (await check(engine)).up_to_date
        async with engine.begin() as connection:  # a newer release upgraded it
            await connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
        newer = await check(engine)
        assert newer.unknown == ["0099"] and not newer.up_to_date
        assert "newer release" in newer.describe()
    finally:
        await engine.dispose()
