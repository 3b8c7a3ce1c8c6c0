"""Backups of a store that keeps being written, restored into an empty database: on
SQLite with the online backup API, on PostgreSQL with pg_dump and pg_restore."""

import asyncio
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.runtime import start_runtime
from bot.settings import Settings
from models import backup
from models.base import utcnow
from models.db import make_engine, transaction
from models.outbox import queue_notice
from models.tables import ClockMark
from tests.support.cli import intempo
from tests.support.postgres import scratch_database


async def write_load(runtime, stop: asyncio.Event, written: list[int]) -> None:
    """Transactions that each queue a notice and move a counter to the number of notices
    queued so far: a consistent copy has the two in agreement."""
    while not stop.is_set():
        number = written[-1] + 1
        async with transaction(runtime.sessions) as session:
            await queue_notice(session, person_id=None, audience="coordinator",
                               kind="load.test", params={"n": number},
                               dedupe_key=f"load:{number}", now=utcnow())
            mark = await session.get(ClockMark, "load") or ClockMark(name="load", value="0")
            mark.value = str(number)
            session.add(mark)
        written.append(number)
        await asyncio.sleep(0)


async def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    engine = make_engine(url)
    rows = {}
    try:
        async with engine.connect() as connection:
            for table in SQLModel.metadata.sorted_tables:
                order = ", ".join(column.name for column in table.primary_key.columns)
                result = await connection.execute(
                    text(f'SELECT * FROM "{table.name}" ORDER BY {order}'))
                rows[table.name] = [tuple(row) for row in result]
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
            rows["alembic_version"] = sorted(tuple(row) for row in result)
    finally:
        await engine.dispose()
    return rows


async def load_agrees(url: str) -> int:
    """The counter and the notices it counts agree in this copy; returns the count."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            count = (await connection.execute(text(
                "SELECT count(*) FROM notice WHERE dedupe_key LIKE 'load:%'"))).scalar()
            mark = (await connection.execute(text(
                "SELECT value FROM clock_mark WHERE name = 'load'"))).scalar()
    finally:
        await engine.dispose()
    assert int(mark or 0) == count
    return count


async def backups_under_load(runtime, make_backup, rounds: int = 4) -> list[tuple[Path, int, int]]:
    """Take `rounds` backups while a writer keeps committing; returns each file with the
    writer's count just before and just after it."""
    stop, written = asyncio.Event(), [0]
    writer = asyncio.create_task(write_load(runtime, stop, written))
    taken = []
    try:
        while written[-1] < 20:  # noqa: ASYNC110 (the load runs before the first backup)
            await asyncio.sleep(0.01)
        for round_number in range(rounds):
            before = written[-1]
            file = await asyncio.to_thread(make_backup, round_number)
            taken.append((file, before, written[-1]))
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await writer
    assert written[-1] > taken[0][1], "the writer made no progress during the backups"
    return taken


def sqlite_url_of(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.mark.asyncio
async def test_sqlite_backup_under_write_load_restores_an_identical_store(runtime, tmp_path):
    url = runtime.settings.database_url
    taken = await backups_under_load(
        runtime, lambda n: backup.backup(url, tmp_path / "backups" / f"copy-{n}.sqlite3"))
    for file, before, after in taken:
        assert not file.with_name(file.name + ".partial").exists()
        # each copy is one consistent moment of the store, between before and after
        assert before <= await load_agrees(sqlite_url_of(file)) <= after

    last = taken[-1][0]
    restored = tmp_path / "restored.db"
    backup.restore_sqlite(last, sqlite_url_of(restored))
    assert await snapshot(sqlite_url_of(restored)) == await snapshot(sqlite_url_of(last))
    # the restored store is a working product at the code's migrations
    restored_runtime = await start_runtime(Settings(database_url=sqlite_url_of(restored),
                                                    _env_file=None))
    await restored_runtime.close()

    # and when nothing writes, the copy is the store itself
    quiet = backup.backup(url, tmp_path / "quiet.sqlite3")
    assert await snapshot(sqlite_url_of(quiet)) == await snapshot(url)


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(monkeypatch, capsys):
    """`intempo …` run in this process (the real parser and commands, without the cost of
    starting Python each time), with the environment a person would have."""
    from bot.cli import main
    from bot.settings import get_settings

    root = logging.getLogger()
    saved = list(root.handlers), root.level

    def run(url: str, cwd: Path, *args: str) -> Ran:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("LOG_LEVEL", "WARNING")
        monkeypatch.chdir(cwd)
        get_settings.cache_clear()
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    yield run
    get_settings.cache_clear()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def test_restore_refuses_a_database_with_data_unless_told(tmp_path, cli):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert intempo(tmp_path, "db", "upgrade").returncode == 0  # one real process
    made = cli(url, tmp_path, "db", "backup", "nightly/one.sqlite3")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "nightly" / "one.sqlite3").is_file()
    refused = cli(url, tmp_path, "db", "restore", "nightly/one.sqlite3")
    assert refused.returncode == 1 and "--yes" in refused.stderr
    replaced = cli(url, tmp_path, "db", "restore", "nightly/one.sqlite3", "--yes")
    assert replaced.returncode == 0, replaced.stderr
    not_sqlite = tmp_path / "dump.bin"
    not_sqlite.write_bytes(b"PGDMP not sqlite")
    wrong = cli(url, tmp_path, "db", "restore", str(not_sqlite), "--yes")
    assert wrong.returncode == 1 and "not a SQLite database" in wrong.stderr
    fresh = cli(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path, "db", "restore",
                "nightly/one.sqlite3")
    assert fresh.returncode == 0, fresh.stderr
    checked = cli(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path, "db", "check")
    assert checked.returncode == 0 and "up to date" in checked.stdout


def test_backup_names_and_keeping_the_newest(tmp_path):
    from datetime import datetime, timedelta

    start = datetime(2026, 11, 1, 2, 30)
    for day in range(5):
        (tmp_path / backup.backup_name("sqlite", start + timedelta(days=day))).write_text("x")
    (tmp_path / "notes.txt").write_text("kept")
    deleted = backup.keep_newest(tmp_path, 2)
    assert [p.name for p in deleted] == [f"intempo-202611{d:02d}-023000.sqlite3"
                                        for d in (1, 2, 3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "intempo-20261104-023000.sqlite3", "intempo-20261105-023000.sqlite3", "notes.txt"]


def test_pg_commands_keep_the_password_off_the_command_line():
    url = "postgresql+asyncpg://intempo:s3cret@db.example.org:5433/intempo?sslmode=require"
    dump = backup.pg_dump_command(url, Path("/backups/x.dump"))
    assert "s3cret" not in dump.shown() and dump.env == {"PGPASSWORD": "s3cret"}
    assert "--dbname=postgresql://intempo@db.example.org:5433/intempo?sslmode=require" \
        in dump.argv
    restore = backup.pg_restore_command(url, Path("x.dump"), replace=True)
    assert "--clean" in restore.argv and "s3cret" not in restore.shown()


@pytest.fixture
def pg_tools():
    """pg_dump and pg_restore (postgresql-client): required in CI, skipped elsewhere."""
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        if os.environ.get("CI"):
            pytest.fail("pg_dump/pg_restore are required in CI (postgresql-client)")
        pytest.skip("pg_dump/pg_restore are not installed")


@pytest.fixture
def empty_pg_url(pg_available):
    if not pg_available:
        pytest.skip("PostgreSQL is not running at 127.0.0.1:5432")
    with scratch_database("intempo_restore") as url:
        yield url


@pytest.mark.asyncio
async def test_postgres_backup_under_write_load_restores_an_identical_store(
        pg_tools, pg_runtime, empty_pg_url, tmp_path):
    url = pg_runtime.settings.database_url
    taken = await backups_under_load(
        pg_runtime, lambda n: backup.backup(url, tmp_path / f"copy-{n}.dump"), rounds=2)
    assert backup.kind_of(empty_pg_url) == "postgresql"
    assert await _is_empty(empty_pg_url)

    # a copy taken under load restores to one consistent moment
    file, before, after = taken[-1]
    await asyncio.to_thread(backup.pg_restore_command(empty_pg_url, file).run)
    assert before <= await load_agrees(empty_pg_url) <= after
    assert not await _is_empty(empty_pg_url)

    # a quiet copy restores to the store itself, over the non-empty one (--yes)
    quiet = await asyncio.to_thread(backup.backup, url, tmp_path / "quiet.dump")
    await asyncio.to_thread(backup.pg_restore_command(empty_pg_url, quiet, replace=True).run)
    assert await snapshot(empty_pg_url) == await snapshot(url)

    # and it works: migrated, and its sequences go on after the restored rows
    restored = await start_runtime(Settings(database_url=empty_pg_url, _env_file=None))
    try:
        async with transaction(restored.sessions) as session:
            await queue_notice(session, person_id=None, audience="coordinator",
                               kind="load.test", params={}, dedupe_key="after-restore",
                               now=utcnow())
            newest = (await session.exec(text(
                "SELECT dedupe_key FROM notice ORDER BY id DESC LIMIT 1"))).scalar()
        assert newest == "after-restore"
    finally:
        await restored.close()


async def _is_empty(url: str) -> bool:
    engine = make_engine(url)
    try:
        return await backup.postgres_is_empty(engine)
    finally:
        await engine.dispose()


def test_postgres_restore_through_the_command(pg_tools, postgres_url, empty_pg_url,
                                             tmp_path, cli):
    """`intempo db backup --run` then `intempo db restore --run`, as an operator types them;
    without --run they only print the command."""
    shown = cli(postgres_url, tmp_path, "db", "backup", "x.dump")
    assert shown.returncode == 0 and shown.stdout.startswith("pg_dump --format=custom")
    assert not (tmp_path / "x.dump").exists()
    made = _intempo(tmp_path, {"DATABASE_URL": postgres_url}, "db", "backup", "x.dump", "--run")
    assert made.returncode == 0, made.stderr  # a real process, as in the nightly job's place
    done = cli(empty_pg_url, tmp_path, "db", "restore", "x.dump", "--run")
    assert done.returncode == 0, done.stderr
    again = cli(empty_pg_url, tmp_path, "db", "restore", "x.dump", "--run")
    assert again.returncode == 1 and "not empty" in again.stderr
    checked = cli(empty_pg_url, tmp_path, "db", "check")
    assert checked.returncode == 0 and "up to date" in checked.stdout
    assert asyncio.run(snapshot(empty_pg_url)) == asyncio.run(snapshot(postgres_url))


def _intempo(tmp_path: Path, env: dict[str, str], *args: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path,
                          env={**os.environ, "LOG_LEVEL": "WARNING", **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.asyncio
async def test_the_nightly_backup_keeps_the_newest_copies(runtime, clock, tmp_path):
    from scheduler.backup_job import backup_jobs

    folder = tmp_path / "nightly"
    settings = runtime.settings.model_copy(update={"backup_dir": str(folder),
                                                   "backup_keep": 2})
    assert backup_jobs(runtime.settings) == {}  # off without BACKUP_DIR
    job = backup_jobs(settings)["backup"]
    ctx = runtime.job_context()
    clock.set_local(2026, 11, 26, 2, 29)
    assert await job(ctx) is None  # before BACKUP_TIME (02:30)
    made = []
    for day in (26, 27, 28):
        clock.set_local(2026, 11, day, 2, 31)
        made.append(await job(ctx))
        clock.set_local(2026, 11, day, 9, 0)
        assert await job(ctx) is None  # once a day
    assert [file.name for file in made] == [f"intempo-202611{day}-023100.sqlite3"
                                           for day in (26, 27, 28)]
    assert sorted(folder.iterdir()) == made[1:]  # BACKUP_KEEP=2
    copy, store = (await snapshot(sqlite_url_of(made[-1])),
                   await snapshot(runtime.settings.database_url))
    assert copy.pop("clock_mark") != store.pop("clock_mark")  # the copy precedes its mark
    assert copy == store
    # a night missed (the machine was off) is made up when the clock runs again
    clock.set_local(2026, 11, 30, 11, 0)
    assert (await job(ctx)).name == "intempo-20261130-110000.sqlite3"


def test_downgrade_for_a_rollback_then_upgrade_again(tmp_path, cli):
    url = f"sqlite:///{tmp_path / 'roll.db'}"
    assert cli(url, tmp_path, "db", "upgrade").returncode == 0
    down = cli(url, tmp_path, "db", "downgrade", "0003")
    assert down.returncode == 0, down.stderr
    behind = cli(url, tmp_path, "db", "check")
    assert behind.returncode == 1 and "0004" in behind.stdout
    assert "Run: intempo db upgrade" in behind.stdout
    assert cli(url, tmp_path, "db", "upgrade").returncode == 0
    assert cli(url, tmp_path, "db", "check").returncode == 0
