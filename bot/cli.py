"""The `intempo` command: database, catalogue, enrolment codes, the console chat, the
outbox, and the three processes (serve = everything in one; web; worker)."""

import argparse
import asyncio
import json
import re
import signal
import sys
from datetime import date
from pathlib import Path

import asyncpg
import uvicorn
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError
from sqlmodel import select

from bot import console, jobs_cli, logs, ops_cli, steps_cli
from bot.panel import cli as panel_cli
from bot.runtime import Runtime, start_runtime
from bot.settings import Settings, get_settings
from bot.web import create_app
from bot.whatsapp.commands import add_commands as add_whatsapp_commands
from handlers.reports import indicators_csv
from handlers.rules_text import describe
from models import migrate, privacy
from models.base import NoticeStatus, Role, utcnow
from models.catalog import (
    CatalogError,
    catalog_toml,
    dump_catalog,
    load_catalog,
    read_catalog,
)
from models.db import transaction
from models.figures import period_figures
from models.people import InvalidPhone, create_codes, normalise_phone
from models.tables import ChatIdentity, Notice, Organisation, Person
from scheduler.backup_job import backup_jobs
from scheduler.clock import run_clock
from scheduler.digest import clock_extras


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = get_settings()
    logs.configure(settings)  # LOG_LEVEL, LOG_FORMAT; no personal data (bot/logs.py)
    try:
        return args.run(settings, args) or 0
    except migrate.NotMigrated as problem:
        print(problem, file=sys.stderr)
        return 2
    except (ArgumentError, DBAPIError, InterfaceError, OSError, ImportError,
            asyncpg.PostgresError) as problem:
        # a mistyped DATABASE_URL, a driver not installed, an unwritable SQLite path, a
        # database or role that is not there: one line, never a traceback
        print(f"Cannot use the database at DATABASE_URL: {_first_line(problem)}\n"
              "Check DATABASE_URL (see .env.example) and that the database is reachable.",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _first_line(problem: Exception) -> str:
    if isinstance(problem, ImportError):  # e.g. mysql:// without its driver
        return f"the database driver is not installed ({problem.name or problem})"
    text = str(getattr(problem, "orig", None) or problem).strip()
    return text.splitlines()[0] if text else type(problem).__name__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="intempo", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="database migrations")
    db_commands = db.add_subparsers(required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply all migrations").set_defaults(run=db_upgrade)
    db_commands.add_parser("current", help="show the applied migration").set_defaults(
        run=db_current)
    ops_cli.add_db_commands(db_commands)  # backup, restore, check, downgrade

    catalog = commands.add_parser("catalog", help="the service catalogue")
    catalog_commands = catalog.add_subparsers(required=True, metavar="ACTION")
    load = catalog_commands.add_parser("load", help="load (or reload) a catalogue file")
    load.add_argument("file", type=Path, help="the catalogue, e.g. data/crema.toml")
    load.set_defaults(run=catalog_load)
    dump = catalog_commands.add_parser("dump", help="write the current catalogue to a file")
    dump.add_argument("file", type=Path)
    dump.set_defaults(run=catalog_dump)

    enroll = commands.add_parser("enroll", help="print single-use enrolment codes")
    enroll.add_argument("--org", required=True,
                        help="the organisation's code or name, any case (e.g. koala)")
    enroll.add_argument("--role", required=True, choices=[r.value for r in Role],
                        help="what the person will be")
    enroll.add_argument("--count", type=int, default=1, help="how many codes (1-1000)")
    enroll.set_defaults(run=enroll_codes)

    chat = commands.add_parser("chat", help="use the bot from this terminal")
    chat.add_argument("--as", dest="phone", required=True, metavar="PHONE",
                      help="the phone number this console chat stands for")
    chat.set_defaults(run=chat_as)

    outbox = commands.add_parser("outbox", help="list queued and sent notices")
    outbox.add_argument("--status", default=None,
                        help="only notices in this status: " + ", ".join(NoticeStatus))
    outbox.add_argument("--limit", type=int, default=50, help="how many, newest first")
    outbox.set_defaults(run=list_outbox)

    export = commands.add_parser("export", help="write the indicators' CSV for a period")
    export.add_argument("--from", dest="first", required=True, metavar="DD/MM/YYYY",
                        help="first day (DD/MM/YYYY or YYYY-MM-DD)")
    export.add_argument("--to", dest="last", required=True, metavar="DD/MM/YYYY",
                        help="last day (DD/MM/YYYY or YYYY-MM-DD)")
    export.add_argument("--out", type=Path, default=None,
                        help=f"the CSV file; default: {EXPORTS}/intempo-indicatori-….csv")
    export.set_defaults(run=export_indicators)

    person = commands.add_parser("person", help="a person's own data: export or erase")
    person_commands = person.add_subparsers(required=True, metavar="ACTION")
    for action, job in (("export", person_export), ("erase", person_erase)):
        sub = person_commands.add_parser(action, help=f"{action} a person's data")
        sub.add_argument("--phone", required=True, help="the chat's id: a phone or a chat id")
        sub.add_argument("--channel", default="console",
                         choices=["console", "telegram", "whatsapp"],
                         help="the channel of that chat")
        if action == "erase":
            sub.add_argument("--yes", action="store_true", help="confirm the erasure")
        sub.set_defaults(run=job)

    add_whatsapp_commands(commands, with_runtime)
    panel_cli.add_command(commands, with_runtime, _person)
    jobs_cli.add_parser(commands, with_runtime)
    steps_cli.add_parser(commands)

    for name, job, text in (("serve", serve, "everything in one process (embedded default)"),
                            ("web", web, "the web process (webhooks, health)"),
                            ("worker", worker, "the worker process (dispatcher, clock)")):
        commands.add_parser(name, help=text).set_defaults(run=job)
    return parser


def db_upgrade(settings: Settings, args) -> int:
    migrate.upgrade(settings.database_url)
    print(f"database at migration {migrate.head_revision(settings.database_url)}")
    return 0


def db_current(settings: Settings, args) -> int:
    async def current():
        from models.db import make_engine

        engine = make_engine(settings.database_url)
        try:
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    revision = asyncio.run(current())
    head = migrate.head_revision(settings.database_url)
    print(f"current: {revision or 'none'}  head: {head}")
    return 0 if revision == head else 1


def with_runtime(job):
    """Run `job(runtime, args)` on a started runtime and close it afterwards."""

    def run(settings: Settings, args) -> int:
        async def main_coroutine():
            runtime = await start_runtime(settings)
            try:
                return await job(runtime, args)
            finally:
                await runtime.close()

        return asyncio.run(main_coroutine())

    return run


@with_runtime
async def catalog_load(runtime: Runtime, args) -> int:
    try:
        catalog = read_catalog(args.file)
        async with transaction(runtime.sessions) as session:
            changes = await load_catalog(session, catalog)
    except CatalogError as problem:
        print("Invalid catalogue, nothing loaded:\n"
              f"{describe(problem.problems) if problem.problems else problem}", file=sys.stderr)
        return 1
    print(f"catalogue loaded: {changes['created']} created, {changes['updated']} updated, "
          f"{changes['removed']} removed "
          f"({len(catalog.organisations)} organisations, {len(catalog.municipalities)} "
          f"municipalities, {len(catalog.services)} services, {len(catalog.offerings)} "
          "offerings)")
    return 0


@with_runtime
async def catalog_dump(runtime: Runtime, args) -> int:
    try:
        async with transaction(runtime.sessions) as session:
            text = catalog_toml(await dump_catalog(session))
    except CatalogError as problem:
        print(problem, file=sys.stderr)
        return 1
    args.file.write_text(text, encoding="utf-8")
    print(f"catalogue written to {args.file}")
    return 0


@with_runtime
async def enroll_codes(runtime: Runtime, args) -> int:
    if not 1 <= args.count <= 1000:
        print("--count must be between 1 and 1000", file=sys.stderr)
        return 1
    try:
        async with transaction(runtime.sessions) as session:
            organisations = (await session.exec(select(Organisation))).all()
            wanted = " ".join(args.org.split()).casefold()
            found = [o for o in organisations
                     if wanted in (o.code.casefold(), " ".join(o.name.split()).casefold())]
            if not found:
                print(f"no organisation with code or name {args.org!r}; the codes are: "
                      + ", ".join(sorted(o.code for o in organisations)), file=sys.stderr)
                return 1
            codes = await create_codes(session, found[0].code, Role(args.role), args.count,
                                       utcnow(), runtime.settings.enrolment_code_days)
    except (LookupError, ValueError) as problem:
        print(problem, file=sys.stderr)
        return 1
    print("\n".join(codes))
    return 0


@with_runtime
async def chat_as(runtime: Runtime, args) -> int:
    try:
        phone = normalise_phone(args.phone)
    except InvalidPhone:
        print(f"{args.phone!r} is not a valid phone number (e.g. +39 333 123 4567)",
              file=sys.stderr)
        return 1
    await console.chat(runtime, phone)
    return 0


@with_runtime
async def list_outbox(runtime: Runtime, args) -> int:
    if args.status and args.status not in set(NoticeStatus):
        print(f"unknown status {args.status!r}; the statuses are: {', '.join(NoticeStatus)}",
              file=sys.stderr)
        return 1
    async with transaction(runtime.sessions) as session:
        query = select(Notice).order_by(Notice.id.desc()).limit(args.limit)
        if args.status:
            query = query.where(Notice.status == args.status)
        notices = (await session.exec(query)).all()
        names = {n.id: await _recipient(session, n) for n in notices}
    print(f"{'id':>5}  {'status':<10} {'channel':<9} {'to':<22} {'kind':<24} {'tries':>5}  "
          "created (UTC)     error")
    for n in notices:
        # a try is a send attempted: the failed ones, plus the one that went through
        tries = n.attempts + (1 if n.sent_at is not None else 0)
        print(f"{n.id:>5}  {n.status:<10} {n.channel or '-':<9} {names[n.id][:22]:<22} "
              f"{n.kind:<24} {tries:>5}  {n.created_at:%Y-%m-%d %H:%M}  "
              f"{n.last_error or ''}")
    return 0


async def _recipient(session, notice: Notice) -> str:
    """Who a notice is for, readably: 'Paola (console +39…)', or the role it waits for."""
    if notice.person_id is None:
        return f"({notice.audience or '?'})"
    person = await session.get(Person, notice.person_id)
    chat = (await session.exec(select(ChatIdentity).where(
        ChatIdentity.person_id == notice.person_id))).first()
    name = (person.first_name if person else None) or f"#{notice.person_id}"
    return f"{name} ({chat.channel} {chat.external_id})" if chat else name


class BadDay(ValueError):
    """A date the command line cannot use; the message says why."""


def _day(text: str) -> date:
    """'01/11/2026' or '2026-11-01'; a day that does not exist (30/02) is said so."""
    match = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*|\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*",
                         text)
    if not match:
        raise BadDay(f"{text!r}: dates are written DD/MM/YYYY (01/11/2026) or YYYY-MM-DD "
                     "(2026-11-01)")
    d, m, y, iy, im, iday = match.groups()
    year, month, day = (int(y), int(m), int(d)) if y else (int(iy), int(im), int(iday))
    try:
        return date(year, month, day)
    except ValueError:
        raise BadDay(f"{text!r}: that date does not exist") from None


EXPORTS = Path("exports")  # where files land when no --out is given (in .gitignore)


@with_runtime
async def export_indicators(runtime: Runtime, args) -> int:
    try:
        first, last = _day(args.first), _day(args.last)
    except BadDay as problem:
        print(problem, file=sys.stderr)
        return 1
    if last < first:
        print("--to comes before --from", file=sys.stderr)
        return 1
    out = args.out or EXPORTS / f"intempo-indicatori-{first.isoformat()}-{last.isoformat()}.csv"
    problem = _folder_problem(out, default=args.out is None)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    async with transaction(runtime.sessions) as session:
        figures = await period_figures(session, first, last, runtime.clock())
    problem = _write(out, indicators_csv(figures, first, last))
    print(problem or out, file=sys.stderr if problem else sys.stdout)
    return 1 if problem else 0


def _folder_problem(out: Path, *, default: bool) -> str | None:
    """Make the default folder; say so when a chosen one does not exist."""
    if default:
        EXPORTS.mkdir(exist_ok=True)
        return None
    if not out.parent.is_dir():
        return f"the folder {out.parent} does not exist: create it, or choose another --out"
    return None


def _write(out: Path, data: bytes) -> str | None:
    try:
        out.write_bytes(data)
    except OSError as problem:
        return f"cannot write {out}: {problem.strerror or problem}"
    return None


async def _person(session, args) -> Person | None:
    external_id = args.phone
    if args.channel != "telegram":
        try:
            external_id = normalise_phone(args.phone)
        except InvalidPhone:
            return None
    query = select(ChatIdentity).where(ChatIdentity.channel == args.channel,
                                       ChatIdentity.external_id == external_id)
    identity = (await session.exec(query)).first()
    return await session.get(Person, identity.person_id) if identity and identity.person_id \
        else None


@with_runtime
async def person_export(runtime: Runtime, args) -> int:
    async with transaction(runtime.sessions) as session:
        person = await _person(session, args)
        if person is None:
            print("no enrolled person writes from that chat", file=sys.stderr)
            return 1
        data = await privacy.export_person(session, person)
    print(json.dumps(data, ensure_ascii=False, indent=2))
    return 0


@with_runtime
async def person_erase(runtime: Runtime, args) -> int:
    if not args.yes:
        print("erasure cannot be undone: add --yes to confirm", file=sys.stderr)
        return 1
    async with transaction(runtime.sessions) as session:
        person = await _person(session, args)
        if person is None:
            print("no enrolled person writes from that chat", file=sys.stderr)
            return 1
        await privacy.erase_person(session, person, runtime.clock())
    print(f"person {person.id} erased")
    return 0


def _run_web(settings: Settings, background) -> int:
    async def main_coroutine():
        runtime = await start_runtime(settings)
        app = create_app(runtime, background)
        config = uvicorn.Config(app, host=settings.host, port=settings.port,
                                log_level=settings.log_level.lower(), log_config=None)
        await uvicorn.Server(config).serve()

    asyncio.run(main_coroutine())
    return 0


async def _dispatch(runtime: Runtime) -> None:
    """The dispatcher until the process is told to stop, then a graceful stop."""
    await runtime.dispatcher().run_until_cancelled(runtime.settings.dispatch_interval_seconds)


async def _clock(runtime: Runtime) -> None:
    await run_clock(runtime.engine, runtime.job_context(), runtime.settings.timezone,
                    extra={**clock_extras(), **backup_jobs(runtime.settings)})


async def _channel_jobs(runtime: Runtime) -> None:
    await asyncio.gather(*(job(runtime) for job in runtime.serve_jobs))


def serve(settings: Settings, args) -> int:
    """Embedded default: web app, dispatcher, clock, and Telegram polling when configured."""
    return _run_web(settings, [_dispatch, _clock, _channel_jobs])


def web(settings: Settings, args) -> int:
    return _run_web(settings, [])


@with_runtime
async def worker(runtime: Runtime, args) -> int:
    """The clock (one leader among workers) and a dispatcher (any number may run), until
    SIGTERM or SIGINT, which stop the dispatcher gracefully."""
    stop_on_signals(asyncio.current_task())
    jobs = [asyncio.create_task(_dispatch(runtime)), asyncio.create_task(_clock(runtime))]
    try:
        await asyncio.gather(*jobs)
    except asyncio.CancelledError:
        # the cancelled gather cancelled every job; let each reach its end (the
        # dispatcher's graceful stop takes a moment longer than the clock's)
        await asyncio.gather(*jobs, return_exceptions=True)
    return 0


def stop_on_signals(task: asyncio.Task) -> None:
    """SIGTERM and SIGINT cancel `task` (and so stop what it awaits, gracefully where it
    knows how) instead of killing the process at once."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)


if __name__ == "__main__":
    sys.exit(main())
