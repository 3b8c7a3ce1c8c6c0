"""Notices from the outbox, written in the recipient's language at sending time.

A notice is `kind` + `params` (+ choices). Params that name a request are expanded here
into its public facts (number, service, when, place) so every notice can say what it is
about; `service_id`/`starts_at` params are turned into names and local times.

Whether a notice's choices still act on something (`still_stands`) is a question for the
store: models/notice_view.py, re-exported here for the dispatcher and the console."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import formatting, messages
from handlers.kept_files import kept_file
from handlers.steps.request import service_name
from handlers.types import Choice, Reply
from models.notice_view import choice_token, sent_as, still_stands  # noqa: F401 (re-exported)
from models.requests import service_and_place
from models.tables import (
    Notice,
    Person,
    Service,
    ServiceRequest,
)


async def _request_facts(session: AsyncSession, request_id: int, language: str) -> dict:
    request = await session.get(ServiceRequest, request_id)
    if request is None:
        return {"number": request_id}
    service, place = await service_and_place(session, request)
    return {"number": request.id, "service": service_name(service, language),
            "when": formatting.when(request.starts_at, language), "place": place.name,
            "address": request.address or "—",
            "minutes": request.duration_minutes,
            "duration": formatting.duration(request.duration_minutes, language),
            "subsidised": messages.text(language, "yes" if request.fund_cents else "no")}


async def _params(session: AsyncSession, notice: Notice, language: str) -> dict:
    params = dict(notice.params)
    if "request_id" in params:
        params |= await _request_facts(session, params["request_id"], language)
    if "service_id" in params:
        service = await session.get(Service, params.pop("service_id"))
        params["service"] = service_name(service, language) if service else "—"
    if "starts_at" in params:
        params["when"] = formatting.when(datetime.fromisoformat(params.pop("starts_at")),
                                         language)
    return params


async def notice_text(session: AsyncSession, notice: Notice, language: str) -> str:
    """The notice's sentence in `language`, without its choices."""
    params = await _params(session, notice, language)
    return messages.text(language, f"notice.{notice.kind}", **params)


async def render_notice(session: AsyncSession, notice: Notice, person: Person) -> Reply:
    """The text (and buttons) of a notice for this person."""
    language = person.language
    params = await _params(session, notice, language)
    text = messages.text(language, f"notice.{notice.kind}", **params)
    file = await kept_file(session, params["attachment_id"]) \
        if "attachment_id" in params else None
    choices = []
    for choice in notice.choices:
        token = choice_token(session, person.id, choice["value"])
        choices.append(Choice(messages.text(language, choice["key"]), token))
    hint = " ".join([messages.text(language, "notice.answer_hint"),
                     messages.text(language, f"notice_hint.{notice.kind}")]) if choices else None
    return Reply(text, tuple(choices), hint, notice=True, file=file,
                 withdraws=await sent_as(session, params.get("withdraws")))
