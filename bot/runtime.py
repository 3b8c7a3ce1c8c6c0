"""The composition root: one place that builds the engine, the dialogue, the channels and
the dispatcher from the settings, for every process (serve, web, worker, chat).

A channel installs itself into the runtime: a sender for the outbox, web routes (its
webhooks), start-up hooks for the web process (e.g. setWebhook) and jobs that only the
embedded `serve` process runs (e.g. Telegram long polling)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.routing import BaseRoute

from bot.console import ConsoleSender
from bot.settings import Settings
from handlers.dialogue import Dialogue
from handlers.flow import DialogueSettings
from handlers.sending import Sender
from models.base import utcnow
from models.db import make_engine, make_sessions
from models.migrate import require_migrated
from models.one_hop import dispose_twin
from scheduler.dispatcher import Dispatcher
from scheduler.jobs import ClockRules, JobContext

Job = Callable[["Runtime"], Awaitable[None]]

if TYPE_CHECKING:
    from bot.files import FileLinks


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    dialogue: Dialogue
    senders: dict[str, Sender] = field(default_factory=dict)
    routes: list[BaseRoute] = field(default_factory=list)
    web_startup: list[Job] = field(default_factory=list)
    serve_jobs: list[Job] = field(default_factory=list)
    shutdown: list[Job] = field(default_factory=list)
    clock: Callable[[], datetime] = utcnow
    rules: ClockRules = field(default_factory=ClockRules)
    file_links: "FileLinks | None" = None  # signed links to stored files (bot/files.py)

    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.sessions, self.senders, clock=self.clock,
                          lease=timedelta(seconds=self.settings.dispatch_lease_seconds))

    def job_context(self) -> JobContext:
        return JobContext(self.sessions, self.rules, self.clock)

    async def close(self) -> None:
        for job in self.shutdown:
            await job(self)
        dispose_twin(self.sessions)
        await self.engine.dispose()


async def start_runtime(settings: Settings, *, check_migrations: bool = True,
                        clock: Callable[[], datetime] = utcnow) -> Runtime:
    """Connect, refuse an un-migrated database, and wire the pieces together.
    `clock` is the source of 'now' for the dialogue and the dispatcher (tests move it)."""
    engine = make_engine(settings.database_url)
    if check_migrations:
        try:
            await require_migrated(engine)
        except Exception:
            await engine.dispose()
            raise
    sessions = make_sessions(engine)
    rules = ClockRules.from_settings(settings)
    dialogue = Dialogue(sessions, DialogueSettings(
        horizon_days=settings.booking_horizon_days, survey_rules=rules.surveys,
        panel_url=settings.panel_url, panel_link_minutes=settings.panel_link_minutes),
        clock=clock)
    runtime = Runtime(settings, engine, sessions, dialogue, {"console": ConsoleSender()},
                      clock=clock, rules=rules)
    for install in channel_installers():
        install(runtime)
    return runtime


def channel_installers() -> list[Callable[[Runtime], None]]:
    """Each channel's `install(runtime)`; a channel without settings installs nothing."""
    from bot.files import install as install_file_links
    from bot.telegram.channel import install as install_telegram
    from bot.whatsapp.channel import install as install_whatsapp

    return [install_file_links, install_telegram, install_whatsapp]
