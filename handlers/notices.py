"""Notices from the outbox, written in the recipient's language at sending time."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import formatting, messages
from handlers.steps.request import service_name
from handlers.types import Reply
from models.tables import Notice, Person, Service


async def render_notice(session: AsyncSession, notice: Notice, person: Person) -> Reply:
    """The text of a notice for this person. Params holding ids and instants are turned
    into names and local times here, so a notice queued in one language reads right in
    whichever language the person has when it is sent."""
    language = person.language
    params = dict(notice.params)
    if "service_id" in params:
        service = await session.get(Service, params.pop("service_id"))
        params["service"] = service_name(service, language) if service else "—"
    if "starts_at" in params:
        params["when"] = formatting.when(datetime.fromisoformat(params.pop("starts_at")),
                                         language)
    return Reply(messages.text(language, f"notice.{notice.kind}", **params))
