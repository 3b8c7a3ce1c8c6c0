"""A store as the release at migration 0004 left it, for the upgrade test.

`release_0004.json` holds every row of a database made by that release: the tiny alliance
loaded, a team enrolled through the dialogue, a job booked, offered, taken and done, the
notices sent. It was written by running this file with the code of that release
(`python -m tests.data.release_0004`); later code cannot run it (its tables differ), which
is the point: the test loads the rows into a database migrated to 0004 only, then
upgrades it to the code's heads.

`load_rows` reads the tables as the database has them (reflected, not the code's models),
so it inserts exactly the columns of 0004."""

import asyncio
import json
from datetime import date, datetime, time
from pathlib import Path

from sqlalchemy import MetaData, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

FIXTURE = Path(__file__).with_name("release_0004.json")
REVISION = "0004"


def _encode(value):
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        return {"$time": value.isoformat()}
    return value


def _decode(value):
    if isinstance(value, dict) and len(value) == 1:
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        if "$time" in value:
            return time.fromisoformat(value["$time"])
    return value


async def _reflect(engine: AsyncEngine) -> MetaData:
    metadata = MetaData()
    async with engine.connect() as connection:
        await connection.run_sync(metadata.reflect)
    return metadata


async def dump_rows(engine: AsyncEngine) -> dict[str, list[dict]]:
    """Every row of every table (but alembic's), in dependency order."""
    metadata = await _reflect(engine)
    rows = {}
    async with engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            order = list(table.primary_key.columns)
            result = await connection.execute(select(table).order_by(*order))
            rows[table.name] = [{key: _encode(value) for key, value in row._mapping.items()}
                                for row in result]
    return rows


async def load_rows(engine: AsyncEngine, rows: dict[str, list[dict]]) -> None:
    """Insert the rows into the database's own tables; on PostgreSQL move each id
    sequence past the rows, as the release's own inserts would have."""
    metadata = await _reflect(engine)
    async with engine.begin() as connection:
        for table in metadata.sorted_tables:
            table_rows = rows.get(table.name) or []
            if table_rows:
                await connection.execute(insert(table), [
                    {key: _decode(value) for key, value in row.items()} for row in table_rows])
            if engine.dialect.name == "postgresql" and "id" in table.columns and table_rows:
                await connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM \"{table.name}\"))"))


def read_fixture() -> dict[str, list[dict]]:
    return json.loads(FIXTURE.read_text())


async def _make() -> None:  # pragma: no cover - run by hand at release 0004
    import tempfile

    from bot.runtime import start_runtime
    from bot.settings import Settings
    from models import migrate
    from models.catalog import load_catalog, read_catalog
    from models.db import transaction
    from tests.support.booking import book_in_alfa
    from tests.support.catalogs import MINI
    from tests.support.clock import Clock
    from tests.support.people import team
    from tests.support.senders import console_inbox, deliver

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/release.db"
        await asyncio.to_thread(migrate.upgrade, url, REVISION)
        clock = Clock()
        runtime = await start_runtime(Settings(database_url=url, _env_file=None),
                                      clock=clock)
        try:
            async with transaction(runtime.sessions) as session:
                await load_catalog(session, read_catalog(MINI))
            people, inbox = await team(runtime), console_inbox()
            await book_in_alfa(people["worker"])
            await deliver(runtime, inbox)
            luca = people["Luca"]
            await luca.say("menu")
            await luca.press("Lavori disponibili")
            await luca.press("Spesa")
            await luca.press("Accetto")
            await deliver(runtime, inbox)
            clock.set_local(2026, 11, 26, 11, 30)
            await luca.say("menu")
            await luca.press("I miei lavori")
            await luca.press("Spesa")
            await luca.press("Fatto")
            await luca.say("1h15")
            await deliver(runtime, inbox)
            await people["worker"].say("menu")  # a conversation left at the main menu
            rows = await dump_rows(runtime.engine)
        finally:
            await runtime.close()
    FIXTURE.write_text(json.dumps(rows, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    print(f"{FIXTURE}: {sum(map(len, rows.values()))} rows in {len(rows)} tables")


if __name__ == "__main__":  # pragma: no cover
    asyncio.run(_make())
