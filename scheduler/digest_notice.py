"""One day's digest for every coordinator: the figures once, the text and the chart (made
in handlers/, in each coordinator's language) queued as notices (deduplicated per day
and person)."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.charts import requests_chart
from handlers.reports import digest_message
from models.attachments import store_attachment
from models.base import Role
from models.figures import digest_figures
from models.outbox import queue_notice
from models.people import people_with_role


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
            chart = await store_attachment(session, f"intempo-{day.isoformat()}-{language}.png",
                                           "image/png", png, now)
            charts[language] = chart.id
        body = digest_message(figures, language,
                              late_as_of=catch_up.as_of if catch_up else None,
                              missed=catch_up.missed if catch_up else ())
        await queue_notice(session, person_id=person.id, kind="coordinator.digest",
                           params={"text": body, "attachment_id": charts[language]},
                           dedupe_key=f"digest:{day.isoformat()}:{person.id}", now=now,
                           not_before=catch_up.not_before if catch_up else None)
    return len(coordinators)
