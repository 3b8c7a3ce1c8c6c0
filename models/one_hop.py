"""A transaction in one thread hop, for the hot path.

aiosqlite runs every call of a statement (cursor, execute, fetch, close) in its own thread
and hands the result back through the event loop: a turn of the dialogue made some forty
such hops, and on a busy machine each costs a wake-up of the loop; with asyncpg, each
statement still passes through SQLAlchemy's greenlet bridge and the event loop. Here the
whole transaction runs in a worker thread instead, on a synchronous session of a twin
engine (SQLite's own driver on the same file, psycopg on the same PostgreSQL database).
The dialogue's code is unchanged: `ThreadSession` offers the few calls of the async
session it uses (exec, get, add, flush, refresh, delete, expunge, bind, begin_nested),
each of which simply returns, and the coroutine runs in that thread's own event loop.
One hop there, one back."""

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.util import find_spec
from typing import TypeVar

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import transaction, tune_sqlite, writers_turn

T = TypeVar("T")
Body = Callable[[AsyncSession], Awaitable[T]]


class ThreadSession:
    """The async session's calls the store's code makes, over a synchronous Session (in
    the thread that owns it): each returns at once."""

    def __init__(self, session: Session):
        self.sync_session = session

    async def exec(self, statement, **kwargs):
        return self.sync_session.exec(statement, **kwargs)

    async def get(self, entity, ident, **kwargs):
        return self.sync_session.get(entity, ident, **kwargs)

    def add(self, instance) -> None:
        self.sync_session.add(instance)

    async def flush(self, objects=None) -> None:
        self.sync_session.flush(objects)

    async def refresh(self, instance, **kwargs) -> None:
        self.sync_session.refresh(instance, **kwargs)

    async def delete(self, instance) -> None:
        self.sync_session.delete(instance)

    def expunge(self, instance) -> None:
        self.sync_session.expunge(instance)

    @property
    def bind(self) -> Engine:
        return self.sync_session.get_bind()

    @property
    def no_autoflush(self):
        return self.sync_session.no_autoflush

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        with self.sync_session.begin_nested():
            yield


_TWINS: "weakref.WeakKeyDictionary[Engine, Engine]" = weakref.WeakKeyDictionary()
_LOCAL = threading.local()


def twin_engine(sessions: async_sessionmaker[AsyncSession]) -> Engine | None:
    """The synchronous engine on the same database as `sessions`' async engine: SQLite's
    own driver on the same file, psycopg on the same PostgreSQL database; None when there
    is no synchronous driver for it."""
    async_engine = sessions.kw["bind"]
    twin = _TWINS.get(async_engine.sync_engine)
    if twin is not None:
        return twin
    if async_engine.dialect.name == "sqlite":
        twin = create_engine(async_engine.url.set(drivername="sqlite"),
                             connect_args={"timeout": 30, "check_same_thread": False})
        tune_sqlite(twin)
    elif async_engine.dialect.name == "postgresql" and find_spec("psycopg") is not None:
        # no ping before each transaction (a round trip on every turn): a connection
        # the server dropped fails its turn as "try again later" (models.db.is_transient),
        # and the pool then replaces all its connections
        twin = create_engine(async_engine.url.set(drivername="postgresql+psycopg"))
    else:
        return None
    _TWINS[async_engine.sync_engine] = twin
    return twin


def dispose_twin(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Close the twin engine's connections (when the runtime closes)."""
    twin = _TWINS.pop(sessions.kw["bind"].sync_engine, None)
    if twin is not None:
        twin.dispose()


def _thread_loop() -> asyncio.AbstractEventLoop:
    loop = getattr(_LOCAL, "loop", None)
    if loop is None:
        loop = _LOCAL.loop = asyncio.new_event_loop()
    return loop


def _run_in_thread(engine: Engine, body: Body[T]) -> T:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return _thread_loop().run_until_complete(body(ThreadSession(session)))


async def run_transaction(sessions: async_sessionmaker[AsyncSession], body: Body[T]) -> T:
    """`body(session)` in one transaction: committed if it returns, rolled back if it
    raises; in one hop to a worker thread (see the module's docstring). SQLite's writers
    of this process take turns (models.db.writers_turn)."""
    twin = twin_engine(sessions)
    if twin is None:
        async with transaction(sessions) as session:
            return await body(session)
    async with writers_turn(sessions):
        return await asyncio.to_thread(_run_in_thread, twin, body)
