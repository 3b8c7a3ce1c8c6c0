"""The nightly backup (optional: BACKUP_DIR): once a day after BACKUP_TIME (Europe/Rome)
a copy of the database goes to BACKUP_DIR and only the newest BACKUP_KEEP copies stay.
Checked every minute like the digest, with a mark in the store for the last day done, so
a night the machine was off is made up when it comes back."""

import asyncio
import logging
from datetime import time
from functools import partial
from pathlib import Path

from models import backup
from models.calendar import local
from models.db import transaction
from models.tables import ClockMark
from scheduler.jobs import JobContext

log = logging.getLogger(__name__)
MARK = "backup"


def backup_jobs(settings) -> dict:
    """The clock's extra job when BACKUP_DIR is set; none otherwise."""
    if not settings.backup_dir:
        return {}
    return {"backup": partial(nightly_backup, url=settings.database_url,
                              directory=Path(settings.backup_dir), keep=settings.backup_keep,
                              at=time.fromisoformat(settings.backup_time))}


async def nightly_backup(ctx: JobContext, *, url: str, directory: Path, keep: int,
                         at: time) -> Path | None:
    """Back up if today's copy is due and not made yet; returns the new file."""
    there = local(ctx.clock())
    if there.time() < at:
        return None
    async with transaction(ctx.sessions) as session:
        mark = await session.get(ClockMark, MARK)
        if mark is not None and mark.value == there.date().isoformat():
            return None
    file = directory / backup.backup_name(backup.kind_of(url), there)
    await asyncio.to_thread(backup.backup, url, file)
    removed = await asyncio.to_thread(backup.keep_newest, directory, keep)
    async with transaction(ctx.sessions) as session:
        mark = await session.get(ClockMark, MARK) or ClockMark(name=MARK, value="")
        mark.value, mark.updated_at = there.date().isoformat(), ctx.clock()
        session.add(mark)
    log.info("nightly backup written to %s (%d older copies removed)", file, len(removed))
    return file
