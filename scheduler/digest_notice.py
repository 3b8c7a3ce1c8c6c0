"""One day's digest for every coordinator: the figures once, the text and the chart in
each coordinator's language, queued as notices (deduplicated per day and person)."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import formatting, messages
from handlers.reports import digest_text
from models.base import Role
from models.figures import digest_figures
from models.outbox import queue_notice
from models.people import people_with_role
from models.tables import Attachment
from scheduler.chart import requests_chart


async def store_chart(session: AsyncSession, png: bytes, day: date, language: str,
                      now: datetime) -> int:
    attachment = Attachment(filename=f"intempo-{day.isoformat()}-{language}.png",
                            content_type="image/png", data=png, created_at=now)
    session.add(attachment)
    await session.flush()
    return attachment.id


@dataclass(frozen=True)
class CatchUp:
    """A digest queued late (the worker process was down at its time): the moment its
    figures describe, the earlier days that were missed too, and when it may be sent."""

    as_of: datetime
    missed: tuple[date, ...] = ()
    not_before: datetime | None = None


async def queue_digest_for_day(session: AsyncSession, day: date, now: datetime,
                               catch_up: CatchUp | None = None) -> int:
    """The digest of `day`, its figures as of `now` (or, late, as of the catch-up's own
    moment), one notice per coordinator."""
    coordinators = await people_with_role(session, Role.COORDINATOR)
    if not coordinators:
        return 0
    figures = await digest_figures(session, day, catch_up.as_of if catch_up else now)
    charts: dict[str, int] = {}
    for person in coordinators:
        language = person.language
        if language not in charts:
            png = requests_chart(figures.series, day, language)
            charts[language] = await store_chart(session, png, day, language, now)
        body = digest_text(figures, language)
        if catch_up is not None:
            body = f"{_late_note(catch_up, language)}\n\n{body}"
        await queue_notice(session, person_id=person.id, kind="coordinator.digest",
                           params={"text": body, "attachment_id": charts[language]},
                           dedupe_key=f"digest:{day.isoformat()}:{person.id}", now=now,
                           not_before=catch_up.not_before if catch_up else None)
    return len(coordinators)


def _late_note(catch_up: CatchUp, language: str) -> str:
    note = messages.text(language, "digest.late", when=formatting.when(catch_up.as_of, language))
    if catch_up.missed:
        days = ", ".join(formatting.day(d, language) for d in catch_up.missed)
        note += " " + messages.text(language, "digest.missed_days", days=days,
                                    first=f"{catch_up.missed[0]:%d/%m}",
                                    last=f"{catch_up.missed[-1]:%d/%m}")
    return note
