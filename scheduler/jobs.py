"""The clock's jobs. Each asks the store what is due and acts idempotently (dedupe keys,
marks), in its own transaction, so running one twice or late changes nothing twice."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models import offers, privacy, reminders, staff_actions
from models import surveys as survey_jobs
from models.base import utcnow
from models.calendar import parse_window
from models.db import transaction
from models.surveys import SurveyRules

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClockRules:
    """When things are due, from the settings (see README: REMINDER_HOURS, QUIET_HOURS…)."""

    reminder_hours: list[float] = field(default_factory=lambda: [24.0, 1.0])
    quiet: tuple[time, time] = (time(21), time(8))
    surveys: SurveyRules = field(default_factory=SurveyRules)
    digest_at: time = time(18)
    retention_days: int = 90

    @classmethod
    def from_settings(cls, settings) -> "ClockRules":
        quiet = parse_window(settings.quiet_hours)
        return cls(
            reminder_hours=list(settings.reminder_hours), quiet=quiet,
            surveys=SurveyRules(
                delay=timedelta(minutes=settings.survey_delay_minutes),
                remind_after=timedelta(hours=settings.survey_reminder_hours),
                close_after=timedelta(days=settings.survey_close_days), quiet=quiet),
            digest_at=time.fromisoformat(settings.digest_time),
            retention_days=settings.retention_days)


@dataclass
class JobContext:
    sessions: async_sessionmaker[AsyncSession]
    rules: ClockRules
    clock: Callable[[], datetime] = utcnow


async def escalations(ctx: JobContext) -> int:
    async with transaction(ctx.sessions) as session:
        return await offers.escalate_overdue(session, ctx.clock())


async def close_expired(ctx: JobContext) -> int:
    """Unserved requests whose time has come are closed and their money released."""
    async with transaction(ctx.sessions) as session:
        return await staff_actions.close_expired_unserved(session, ctx.clock())


async def send_reminders(ctx: JobContext) -> int:
    """Reminders before a service, and the nudge to close a job after it."""
    now = ctx.clock()
    async with transaction(ctx.sessions) as session:
        before = await reminders.queue_due_reminders(session, now, ctx.rules.reminder_hours,
                                                     ctx.rules.quiet)
        return before + await reminders.queue_close_nudges(session, now, ctx.rules.quiet)


async def run_surveys(ctx: JobContext) -> dict[str, int]:
    async with transaction(ctx.sessions) as session:
        return await survey_jobs.run_due(session, ctx.clock(), ctx.rules.surveys)


async def retention(ctx: JobContext) -> int:
    async with transaction(ctx.sessions) as session:
        erased = await privacy.erase_expired(session, ctx.clock(), ctx.rules.retention_days)
    log.info("retention: %s requests cleaned", erased)
    return erased
