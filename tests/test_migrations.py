"""Migrations from nothing to head (and back) on SQLite and PostgreSQL; nothing runs on a
database that is not migrated."""

import pytest
from sqlalchemy import inspect

from bot.runtime import start_runtime
from bot.settings import Settings
from models import migrate
from models.db import make_engine

TABLES = {"organisation", "municipality", "person", "chatidentity", "enrolmentcode",
          "service", "offering", "offeringmunicipality", "capacityuse", "service_request",
          "request_event", "fund", "worker_fund_use", "ledger_entry", "conversation",
          "choice_token", "processed_update", "notice", "link_code", "offer", "relay_message",
          "survey", "attachment", "clock_mark", "change_event", "announcement",
          "announcement_recipient",
          "alembic_version"}


async def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


@pytest.mark.asyncio
async def test_empty_to_head_and_back(database_url):
    assert await table_names(database_url) >= TABLES
    engine = make_engine(database_url)
    try:
        assert await migrate.current_revision(engine) == migrate.head_revision(database_url)
        await migrate.require_migrated(engine)
    finally:
        await engine.dispose()
    await _in_thread(migrate.upgrade, database_url, "base", down=True)
    assert await table_names(database_url) <= {"alembic_version"}
    await _in_thread(migrate.upgrade, database_url, "heads")
    assert await table_names(database_url) >= TABLES


async def _in_thread(function, url, revision, down=False):
    """Alembic runs its own event loop: call it from a worker thread."""
    import asyncio

    from alembic import command

    if down:
        return await asyncio.to_thread(command.downgrade, migrate.alembic_config(url), revision)
    return await asyncio.to_thread(function, url, revision)


@pytest.mark.asyncio
async def test_commands_refuse_an_unmigrated_database(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(migrate.NotMigrated, match="Run: intempo db upgrade"):
        await start_runtime(Settings(database_url=url, _env_file=None))


@pytest.mark.asyncio
async def test_the_tables_match_the_migrations(sqlite_url):
    """A model changed without a migration would show here as a difference."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    engine = make_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync), SQLModel.metadata))
    finally:
        await engine.dispose()
    assert differences == []
