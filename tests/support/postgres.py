"""The PostgreSQL server the tests use (INTEMPO_TEST_PG, else 127.0.0.1:5432 with trust
auth): whether it answers, a statement run as its administrator, and scratch databases."""

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator

import asyncpg

PG_ADMIN = os.environ.get("INTEMPO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def answers() -> bool:
    """Whether the server takes a connection within three seconds."""
    async def probe():
        connection = await asyncpg.connect(PG_ADMIN, timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
        return True
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False


async def admin(sql: str) -> None:
    """One statement on the administrator's connection (CREATE, DROP DATABASE…)."""
    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.contextmanager
def scratch_database(prefix: str = "intempo") -> Iterator[str]:
    """A new, empty database for the block: its SQLAlchemy (asyncpg) URL; dropped after,
    whoever is still connected. Called outside any event loop (fixtures' set-up)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
