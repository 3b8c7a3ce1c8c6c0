"""One day's digest for every coordinator: the figures once, the text and the chart in
each coordinator's language, queued as notices (deduplicated per day and person)."""

from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

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


async def queue_digest_for_day(session: AsyncSession, day: date, now: datetime) -> int:
    coordinators = await people_with_role(session, Role.COORDINATOR)
    if not coordinators:
        return 0
    figures = await digest_figures(session, day, now)
    charts: dict[str, int] = {}
    for person in coordinators:
        language = person.language
        if language not in charts:
            png = requests_chart(figures.series, day, language)
            charts[language] = await store_chart(session, png, day, language, now)
        await queue_notice(session, person_id=person.id, kind="coordinator.digest",
                           params={"text": digest_text(figures, language),
                                   "attachment_id": charts[language]},
                           dedupe_key=f"digest:{day.isoformat()}:{person.id}", now=now)
    return len(coordinators)
