"""Backups and restores of the store, for `intempo db backup|restore` and the nightly job.

SQLite: SQLite's online backup API copies the database page by page in one step while
the product runs (in WAL mode readers never block the writers, and the copy is one
consistent snapshot); it goes to a temporary file renamed into place, so a backup file
is either whole or absent. PostgreSQL: `pg_dump --format=custom` (a consistent snapshot
by design) and `pg_restore`, from the postgresql-client package. The password never
appears on a command line or in what is printed: it goes to the tools as PGPASSWORD."""

import os
import shlex
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(RuntimeError):
    """A backup or restore that cannot be done, with what to do about it."""


@dataclass(frozen=True)
class Command:
    """An external tool to run: its arguments, and the environment it needs beyond ours."""

    argv: list[str]
    env: dict[str, str]

    def shown(self) -> str:
        """The command as a person would type it (the password is never part of it)."""
        return shlex.join(self.argv)

    def run(self) -> None:
        if shutil.which(self.argv[0]) is None:
            raise BackupError(f"{self.argv[0]} is not installed: install the PostgreSQL "
                              "client tools (Debian/Ubuntu: apt install postgresql-client)")
        done = subprocess.run(self.argv, env={**os.environ, **self.env},
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BackupError(f"{self.shown()} failed: {done.stderr.strip()[:2000]}")


def kind_of(url: str) -> str:
    """'sqlite' or 'postgresql' (anything else is refused)."""
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"backups know SQLite and PostgreSQL, not {backend}")
    return backend


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL the PostgreSQL tools understand (no driver, no password) and the
    environment carrying the password."""
    parsed = make_url(url)
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    address = URL.create("postgresql", username=parsed.username, host=parsed.host,
                         port=parsed.port, database=parsed.database, query=parsed.query)
    return address.render_as_string(hide_password=False), env


def pg_dump_command(url: str, file: Path) -> Command:
    address, env = _libpq(url)
    return Command(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                    f"--file={file}", f"--dbname={address}"], env)


def pg_restore_command(url: str, file: Path, *, replace: bool = False) -> Command:
    """Restore in one transaction: a failure leaves the target as it was. `replace` drops
    what the dump holds before creating it again (a non-empty target, with --yes)."""
    address, env = _libpq(url)
    argv = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
            "--single-transaction", f"--dbname={address}"]
    if replace:
        argv += ["--clean", "--if-exists"]
    return Command([*argv, str(file)], env)


def backup_sqlite(url: str, file: Path) -> Path:
    """A consistent copy of the live database at `file` (whole, or nothing)."""
    source_path = sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"there is no database at {source_path}")
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(file.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path, timeout=30)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)  # all pages in one step: one snapshot, writers go on
            check = target.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"the copy failed its integrity check: {check}")
        finally:
            target.close()
    finally:
        source.close()
    partial.replace(file)
    return file


def sqlite_tables(path: Path) -> list[str]:
    if not path.exists():
        return []
    connection = sqlite3.connect(path, timeout=30)
    try:
        rows = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%'").fetchall()
    finally:
        connection.close()
    return [name for (name,) in rows]


def restore_sqlite(file: Path, url: str, *, replace: bool = False) -> Path:
    """Copy the backup `file` into the database of `url`. A database that already has
    tables is refused unless `replace`. Stop the product first: it is the whole store."""
    target_path = sqlite_path(url)
    check_backup_file(file)
    if sqlite_tables(target_path) and not replace:
        raise BackupError(f"the database at {target_path} is not empty: restoring would "
                          "replace everything in it. Add --yes to do so.")
    source = sqlite3.connect(file)
    try:
        target = sqlite3.connect(target_path, timeout=30)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()
    return target_path


def check_backup_file(file: Path) -> None:
    if not file.is_file():
        raise BackupError(f"there is no backup file at {file}")
    with file.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise BackupError(f"{file} is not a SQLite database (a pg_dump file restores "
                              "into PostgreSQL only)")


async def postgres_is_empty(engine) -> bool:
    """No table in the schemas the product uses (a freshly created database)."""
    from sqlalchemy import text

    async with engine.connect() as connection:
        count = (await connection.execute(text(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"))).scalar()
    return count == 0


def backup_name(kind: str, now: datetime) -> str:
    """The nightly job's file name: sortable by time."""
    return f"intempo-{now:%Y%m%d-%H%M%S}.{'sqlite3' if kind == 'sqlite' else 'dump'}"


def keep_newest(directory: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest backups the job made in `directory`; returns the
    deleted files. Files of other names are never touched."""
    made = sorted(path for pattern in ("intempo-*.sqlite3", "intempo-*.dump")
                  for path in directory.glob(pattern))
    doomed = made[:-keep] if keep > 0 else made
    for path in doomed:
        path.unlink()
    return doomed


def backup(url: str, file: Path) -> Path:
    """Back up either kind of database to `file` (runs pg_dump for PostgreSQL)."""
    if kind_of(url) == "sqlite":
        return backup_sqlite(url, file)
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(file.name + ".partial")
    pg_dump_command(url, partial).run()
    partial.replace(file)
    return file
