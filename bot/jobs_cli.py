"""`intempo jobs run --at "2026-12-03 14:00"`: run the clock's jobs (escalations, expired
requests, reminders, surveys, retention, the digest) as if it were that moment, then hand
what they queued to the dispatcher, so the time-driven parts can be seen without waiting.

It works on the configured database, so it refuses while a clock is running (an
`intempo worker` or `serve` beats the "clock_heartbeat" mark every half minute) unless
`--yes` is given; on PostgreSQL it also holds the clock's lock while it runs."""

import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.runtime import Runtime
from models.db import transaction
from models.tables import ClockMark
from scheduler import jobs
from scheduler.clock import HEARTBEAT, HEARTBEAT_FRESH, Leadership
from scheduler.digest import clock_extras
from scheduler.dispatcher import Dispatcher

FORMATS = ("%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M")


def parse_moment(text: str, timezone: str) -> datetime | None:
    """'2026-12-03 14:00' or '03/12/2026 14:00', in the programme's time zone → UTC."""
    for pattern in FORMATS:
        try:
            moment = datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        return moment.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    return None


def add_parser(commands, with_runtime) -> None:
    group = commands.add_parser("jobs", help="run the clock's jobs at a chosen moment")
    actions = group.add_subparsers(required=True, metavar="ACTION")
    run = actions.add_parser("run", help="run every clock job as if it were --at, then "
                                         "dispatch what they queued")
    run.add_argument("--at", required=True, metavar='"YYYY-MM-DD HH:MM"',
                     help="the moment, in the programme's time zone (TIMEZONE)")
    run.add_argument("--yes", action="store_true",
                     help="run even though a clock (intempo worker/serve) seems to be running")
    run.set_defaults(run=with_runtime(run_jobs))


async def clock_is_running(runtime: Runtime) -> bool:
    async with transaction(runtime.sessions) as session:
        mark = await session.get(ClockMark, HEARTBEAT)
    return mark is not None and datetime.now(UTC) - mark.updated_at < HEARTBEAT_FRESH


async def run_jobs(runtime: Runtime, args) -> int:
    at = parse_moment(args.at, runtime.settings.timezone)
    if at is None:
        print('--at is a date and a time, e.g. "2026-12-03 14:00" or "03/12/2026 14:00"',
              file=sys.stderr)
        return 1
    if not args.yes and await clock_is_running(runtime):
        print("a clock (intempo worker or serve) is running on this database: its jobs "
              "would run beside these. Stop it, or add --yes.", file=sys.stderr)
        return 1
    leadership = Leadership(runtime.engine)
    if not await leadership.try_acquire() and not args.yes:
        print("another process holds the clock's lock on this database: add --yes to run "
              "anyway.", file=sys.stderr)
        return 1
    try:
        ctx = jobs.JobContext(runtime.sessions, runtime.rules, lambda: at)
        plan = {"escalations": jobs.escalations, "expired": jobs.close_expired,
                "reminders": jobs.send_reminders, "surveys": jobs.run_surveys,
                "retention": jobs.retention, **clock_extras()}
        local = at.astimezone(ZoneInfo(runtime.settings.timezone))
        print(f"clock jobs at {local:%d/%m/%Y %H:%M} ({runtime.settings.timezone}):")
        for name, job in plan.items():
            print(f"  {name}: {await job(ctx)}")
        sent = await Dispatcher(runtime.sessions, runtime.senders,
                                clock=lambda: at + timedelta(seconds=1)).run_once()
        print(f"  notices handed to the dispatcher: {sent}")
    finally:
        await leadership.release()
    return 0
