"""Shared fixtures: real databases (a migrated SQLite file per test, and a fresh
PostgreSQL database per test when the server at 127.0.0.1:5432 is there), the Crema
catalogue loaded, a movable clock, a runtime wired as in production, the fake Twilio
served, a fake Bot API, a folder ready for the `intempo` command, and (plugged from
tests/support/prism.py) Prism serving Twilio's descriptions. Helpers that are not
fixtures are in tests/support/."""

import os
from pathlib import Path

import pytest
import pytest_asyncio

from bot.runtime import start_runtime
from bot.settings import Settings
from bot.telegram.channel import install
from models import migrate
from models.catalog import load_catalog, read_catalog
from models.db import transaction
from tests.support import postgres
from tests.support.catalogs import CATALOG, MINI
from tests.support.cli import intempo
from tests.support.clock import Clock
from tests.support.fake_telegram import TOKEN, FakeBotApi

pytest_plugins = ["tests.support.prism"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'intempo.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def pg_available() -> bool:
    available = postgres.answers()
    if not available and os.environ.get("CI"):
        pytest.fail("PostgreSQL is required in CI but 127.0.0.1:5432 does not answer")
    return available


@pytest.fixture
def postgres_url(pg_available) -> str:
    """A brand-new database for one test, migrated, dropped afterwards."""
    if not pg_available:
        pytest.skip("PostgreSQL is not running at 127.0.0.1:5432")
    with postgres.scratch_database() as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request) -> str:
    """Both databases, for the tests that must hold on each."""
    return request.getfixturevalue(f"{request.param}_url")


async def _runtime(url: str, clock: Clock):
    runtime = await start_runtime(Settings(database_url=url, _env_file=None), clock=clock)
    async with transaction(runtime.sessions) as session:
        await load_catalog(session, read_catalog(CATALOG))
    return runtime


@pytest_asyncio.fixture
async def runtime(sqlite_url, clock):
    """The product on SQLite with the Crema catalogue loaded."""
    runtime = await _runtime(sqlite_url, clock)
    yield runtime
    await runtime.close()


@pytest_asyncio.fixture
async def any_runtime(database_url, clock):
    """The product on SQLite and on PostgreSQL in turn."""
    runtime = await _runtime(database_url, clock)
    yield runtime
    await runtime.close()


@pytest_asyncio.fixture
async def pg_runtime(postgres_url, clock):
    runtime = await _runtime(postgres_url, clock)
    yield runtime
    await runtime.close()


@pytest_asyncio.fixture
async def mini(sqlite_url, clock):
    """The product on SQLite with the tiny test alliance of tests/data/mini.toml."""
    runtime = await start_runtime(Settings(database_url=sqlite_url, _env_file=None),
                                  clock=clock)
    async with transaction(runtime.sessions) as session:
        await load_catalog(session, read_catalog(MINI))
    yield runtime
    await runtime.close()


@pytest_asyncio.fixture
async def pg_mini(postgres_url, clock):
    runtime = await start_runtime(Settings(database_url=postgres_url, _env_file=None),
                                  clock=clock)
    async with transaction(runtime.sessions) as session:
        await load_catalog(session, read_catalog(MINI))
    yield runtime
    await runtime.close()


@pytest.fixture(params=["mini", "pg_mini"])
def both_minis(request):
    """The tiny alliance on SQLite and on PostgreSQL in turn."""
    return request.getfixturevalue(request.param)


async def _served_twilio(content: bool):
    from tests.support.fake_twilio import FakeTwilio, serving
    from tests.support.whatsapp import ACCOUNT_SID, AUTH_TOKEN

    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, content=content)
    async with serving(fake.app()) as url:
        fake.base_url = url
        yield fake


@pytest_asyncio.fixture
async def twilio():
    """The fake Twilio's Messages API served on loopback (no Content API: replies with
    choices go as numbered text)."""
    async for fake in _served_twilio(content=False):
        yield fake


@pytest_asyncio.fixture
async def twilio_with_content():
    """The fake Twilio with the Content API too (buttons and lists)."""
    async for fake in _served_twilio(content=True):
        yield fake


@pytest.fixture
def api() -> FakeBotApi:
    """A fake Bot API for the Telegram channel to talk to (install(runtime, request=api))."""
    return FakeBotApi()


@pytest_asyncio.fixture
async def channel(runtime, api):
    """The Telegram channel of `runtime` (polling settings), talking to the fake `api`."""
    runtime.settings = Settings(database_url=runtime.settings.database_url, _env_file=None,
                                telegram_bot_token=TOKEN)
    return install(runtime, request=api)


@pytest.fixture
def ready(tmp_path) -> Path:
    """`tmp_path` with its cli.db migrated and the Crema catalogue loaded, both by the
    `intempo` command."""
    assert intempo(tmp_path, "db", "upgrade").returncode == 0
    loaded = intempo(tmp_path, "catalog", "load", str(CATALOG))
    assert loaded.returncode == 0, loaded.stderr
    assert "48 municipalities" in loaded.stdout
    return tmp_path
