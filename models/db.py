"""The database engine, sessions and the dialect-specific bits the operations need."""

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy import Engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def make_engine(url: str, **kwargs) -> AsyncEngine:
    """An async engine. SQLite gets WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE,
    so concurrent writers queue up instead of failing half-way with 'database is locked'."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        tune_sqlite(engine.sync_engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


class _OneWriter:
    """SQLite lets one transaction write at a time, and a BEGIN IMMEDIATE that finds the
    lock taken sleeps and polls (busy_timeout): many turns at once would mostly sleep.
    In one process they queue here instead, on the event loop, and each begins when the
    one before has committed. Re-entrant for the task that holds it; other processes
    still meet SQLite's own lock."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.owner: asyncio.Task | None = None

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if self.owner is task:
            yield
            return
        async with self.lock:
            self.owner = task
            try:
                yield
            finally:
                self.owner = None


_WRITERS: "weakref.WeakKeyDictionary[Engine, _OneWriter]" = weakref.WeakKeyDictionary()


def writers_turn(sessions: async_sessionmaker[AsyncSession]):
    """Wait for this process's turn to write (SQLite: the queue of this engine's writers);
    on other databases, nothing to wait for."""
    engine = sessions.kw.get("bind")
    if engine is None or engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    return _WRITERS.setdefault(engine.sync_engine, _OneWriter()).turn()


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any exception."""
    async with writers_turn(sessions), sessions() as session, session.begin():
        yield session


def upsert_insert(dialect: str):
    """The INSERT of `dialect` that takes ON CONFLICT clauses (PostgreSQL's or SQLite's)."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


def insert_ignoring_duplicates(session: AsyncSession, table, **values):
    """INSERT ... ON CONFLICT DO NOTHING for the session's dialect."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return upsert_insert(dialect)(table).values(**values).on_conflict_do_nothing()


def is_transient(error: BaseException) -> bool:
    """Whether `error` says the database could not be used just now (unreachable, a lost
    connection, a lock not granted in time), so the same work may succeed later — as
    opposed to a problem with the work itself, which would fail again."""
    if isinstance(error, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


class GroupCommit:
    """Stores items (a dispatcher's outcomes or in-flight marks, replies delivered) as they
    come. Whoever finds the writer free writes everything waiting, in one transaction: a
    burst shares transactions, and `add` returns only once its item is stored."""

    def __init__(self, write: Callable[[list], Awaitable[None]]):
        self.write, self.writer = write, asyncio.Lock()
        self.waiting: list = []

    async def add(self, outcome) -> None:
        self.waiting.append(outcome)
        async with self.writer:
            batch, self.waiting = self.waiting, []
            if batch:  # else an earlier writer took this item along
                await self.write(batch)
