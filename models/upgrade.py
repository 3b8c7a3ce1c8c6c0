"""What `intempo db check` says: whether the database is at the code's migrations, which
ones an upgrade would apply, or whether the database is newer than this code (a rollback
of the code without one of the database)."""

from dataclasses import dataclass

from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from models import migrate


@dataclass(frozen=True)
class Check:
    current: list[str]  # the database's revisions (empty: never migrated)
    heads: list[str]  # the code's
    pending: list[str]  # what `intempo db upgrade` would apply, oldest first
    unknown: list[str]  # revisions of the database this code does not have

    @property
    def up_to_date(self) -> bool:
        return not self.pending and not self.unknown and sorted(self.current) == self.heads

    def describe(self) -> str:
        current = "+".join(self.current) or "none"
        if self.unknown:
            return (f"The database is at migration {current}, which this code does not know "
                    f"(its newest is {'+'.join(self.heads)}): it was upgraded by a newer "
                    "release. Run that release, or downgrade with it first "
                    "(see docs/deploy.md, 'Rolling back').")
        if self.up_to_date:
            return f"The database is up to date (migration {current})."
        return (f"The database is at migration {current}; the code needs "
                f"{'+'.join(self.heads)}. Run: intempo db upgrade (it applies "
                f"{', '.join(self.pending)}).")


async def check(engine: AsyncEngine) -> Check:
    url = engine.url.render_as_string(hide_password=False)
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    current_text = await migrate.current_revision(engine)
    current = current_text.split("+") if current_text else []
    heads = sorted(script.get_heads())
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = [revision for revision in current if revision not in known]
    if unknown:
        return Check(current, heads, [], unknown)
    applied = set()
    for revision in current:  # everything at or below the database's revisions
        applied.update(r.revision for r in script.iterate_revisions(revision, "base"))
    pending = [r.revision for r in reversed(list(script.walk_revisions()))
               if r.revision not in applied]
    return Check(current, heads, pending, [])
