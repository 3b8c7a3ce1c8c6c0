"""Alembic, driven from code: `intempo db upgrade` and the check that refuses to run
anything on a database that is not at the newest migration."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


class NotMigrated(RuntimeError):
    """The database is behind (or ahead of) the code's migrations."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply migrations (runs its own event loop inside env.py: call outside asyncio).

    "heads" rather than "head": work on parallel branches may leave more than one head
    until a merge revision joins them, and every head must be applied."""
    command.upgrade(alembic_config(url), revision)


def head_revision(url: str) -> str | None:
    """The code's newest migration(s): one id, or several joined by '+' while branched."""
    heads = ScriptDirectory.from_config(alembic_config(url)).get_heads()
    return "+".join(sorted(heads)) or None


async def current_revision(engine: AsyncEngine) -> str | None:
    """The database's migration(s), written as `head_revision` writes them."""
    async with engine.connect() as connection:
        heads = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_heads()
        )
    return "+".join(sorted(heads)) or None


async def require_migrated(engine: AsyncEngine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    current, head = await current_revision(engine), head_revision(url)
    if current != head:
        raise NotMigrated(
            f"The database is at migration {current or 'none'}, the code needs {head}. "
            "Run: intempo db upgrade"
        )
