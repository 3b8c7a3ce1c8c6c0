"""The composition root: one place that builds the engine, the dialogue, the senders and
the dispatcher from the settings, for every process (serve, web, worker, chat)."""

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.console import ConsoleSender
from bot.settings import Settings
from handlers.dialogue import Dialogue
from handlers.flow import DialogueSettings
from models.db import make_engine, make_sessions
from models.migrate import require_migrated
from scheduler.dispatcher import Dispatcher, Sender


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    dialogue: Dialogue
    senders: dict[str, Sender] = field(default_factory=dict)

    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.sessions, self.senders)

    async def close(self) -> None:
        await self.engine.dispose()


async def start_runtime(settings: Settings, *, check_migrations: bool = True) -> Runtime:
    """Connect, refuse an un-migrated database, and wire the pieces together."""
    engine = make_engine(settings.database_url)
    if check_migrations:
        try:
            await require_migrated(engine)
        except Exception:
            await engine.dispose()
            raise
    sessions = make_sessions(engine)
    dialogue = Dialogue(sessions, DialogueSettings(horizon_days=settings.booking_horizon_days))
    senders: dict[str, Sender] = {"console": ConsoleSender()}
    return Runtime(settings, engine, sessions, dialogue, senders)
