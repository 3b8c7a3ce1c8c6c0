"""`intempo db backup|restore|check|downgrade`: the operator's commands for the store
(registered under `intempo db` by bot/cli.py)."""

import asyncio
import sys
from pathlib import Path

from bot.settings import Settings
from models import backup, migrate
from models.db import make_engine
from models.upgrade import check


def add_db_commands(db_commands) -> None:
    """Add the operations sub-commands to the `intempo db` parser."""
    save = db_commands.add_parser(
        "backup", help="a consistent copy of the database (SQLite: while it runs; "
        "PostgreSQL: prints the pg_dump command, --run runs it)")
    save.add_argument("file", type=Path)
    save.add_argument("--run", dest="execute", action="store_true",
                      help="PostgreSQL: run pg_dump")
    save.set_defaults(run=db_backup)

    load = db_commands.add_parser(
        "restore", help="restore a backup into an empty database (--yes: replace one)")
    load.add_argument("file", type=Path)
    load.add_argument("--yes", action="store_true", help="replace a database that has data")
    load.add_argument("--run", dest="execute", action="store_true",
                      help="PostgreSQL: run pg_restore")
    load.set_defaults(run=db_restore)

    db_commands.add_parser(
        "check", help="whether the database needs `intempo db upgrade` (exit 0: no)"
    ).set_defaults(run=db_check)

    down = db_commands.add_parser(
        "downgrade", help="undo migrations down to REVISION (rolling back a release)")
    down.add_argument("revision")
    down.set_defaults(run=db_downgrade)


def db_backup(settings: Settings, args) -> int:
    url = settings.database_url
    try:
        if backup.kind_of(url) == "postgresql" and not args.execute:
            print(backup.pg_dump_command(url, args.file).shown())
            print("(add --run to run it; to run it yourself, give the password as PGPASSWORD)",
                  file=sys.stderr)
            return 0
        print(backup.backup(url, args.file))
    except backup.BackupError as problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


def db_restore(settings: Settings, args) -> int:
    url = settings.database_url
    try:
        if backup.kind_of(url) == "sqlite":
            print(f"restored into {backup.restore_sqlite(args.file, url, replace=args.yes)}")
            return 0
        if not args.file.is_file():
            raise backup.BackupError(f"there is no backup file at {args.file}")
        if not asyncio.run(_postgres_is_empty(url)) and not args.yes:
            raise backup.BackupError("the database is not empty: restoring would replace "
                                     "what is in it. Add --yes to do so.")
        command = backup.pg_restore_command(url, args.file, replace=args.yes)
        if not args.execute:
            print(command.shown())
            print("(add --run to run it)", file=sys.stderr)
            return 0
        command.run()
        print("restored")
    except backup.BackupError as problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


async def _postgres_is_empty(url: str) -> bool:
    engine = make_engine(url)
    try:
        return await backup.postgres_is_empty(engine)
    finally:
        await engine.dispose()


def db_check(settings: Settings, args) -> int:
    async def run():
        engine = make_engine(settings.database_url)
        try:
            return await check(engine)
        finally:
            await engine.dispose()

    result = asyncio.run(run())
    print(result.describe())
    return 0 if result.up_to_date else 1


def db_downgrade(settings: Settings, args) -> int:
    from alembic import command

    command.downgrade(migrate.alembic_config(settings.database_url), args.revision)
    print(f"database downgraded to {args.revision}")
    return 0
