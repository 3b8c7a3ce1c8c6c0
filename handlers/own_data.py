"""A person's own data (models/privacy.export_person) written for a person to read: in
their language, with words instead of codes («in attesa di un operatore», not "pending"),
dates the Italian way, names instead of internal ids. The JSON stays for machines."""

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import formatting, messages
from handlers.steps.request import service_name
from models.tables import Municipality, Service


def _moment(value: str | None, language: str) -> str:
    """An ISO moment from the export → 'giovedì 26 novembre 2026, 10:00' (local time)."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    there = formatting.local(moment)
    return (f"{formatting.date_as(there.date(), 'EEEE d MMMM y', language)}, "
            f"{formatting.clock(there.time(), language)}")


async def readable(session: AsyncSession, data: dict[str, Any], language: str) -> str:
    def t(key: str, **params) -> str:
        return messages.text(language, key, **params)

    async def service(service_id: int) -> str:
        row = await session.get(Service, service_id)
        return service_name(row, language) if row else "—"

    async def place(municipality_id: int) -> str:
        row = await session.get(Municipality, municipality_id)
        return row.name if row else "—"

    def section(title: str, items: list[str]) -> list[str]:
        return ["", title, *(items or [t("own.none")])]

    def money(cents: int | None) -> str:
        return formatting.money(cents or 0, language)

    person = data["person"]
    lines = [t("own.title"), "",
             t("own.person", name=person.get("first_name") or "—",
               organisation=person.get("organisation") or "—",
               role=t(f"own.role.{person['role']}"),
               gender=t(f"gender.{person.get('gender') or 'none'}"),
               spoken=t(f"own.language.{person.get('language') or 'it'}"),
               consent=_moment(person.get("consent_at"), language),
               since=_moment(person.get("created_at"), language))]
    lines += section(t("own.chats"), [
        "• " + t("own.chat", channel=t(f"own.channel.{chat['channel']}"),
                 address=chat["external_id"],
                 last=_moment(chat.get("last_inbound_at"), language))
        for chat in data["chats"]])
    lines += ["", t("own.requests")]
    for request in data["requests"]:
        lines.append("• " + t(
            "own.request", number=request["id"], service=await service(request["service_id"]),
            when=_moment(request["starts_at"], language),
            place=await place(request["municipality_id"]),
            address=request.get("address") or "—", notes=request.get("notes") or "—",
            status=t(f"status.{request['status']}"), price=money(request["price_cents"]),
            fund=money(request["fund_cents"]), complaint=request.get("complaint") or "—"))
    if not data["requests"]:
        lines.append(t("own.none"))
    if data["jobs"]:
        lines += ["", t("own.jobs")] + [
            "• " + t("own.job", number=job["id"], service=job["service"], place=job["place"],
                     when=_moment(job["starts_at"], language),
                     status=t(f"status.{job['status']}"),
                     duration=formatting.duration(job["actual_minutes"] or 0, language))
            for job in data["jobs"]]
    lines += section(t("own.events"), [
        "• " + t("own.event", when=_moment(event["at"], language),
                 number=event["request_id"],
                 before=t(f"status.{event['from_status']}") if event.get("from_status")
                 else "—", after=t(f"status.{event['to_status']}"),
                 why=event.get("reason") or "—")
        for event in data["request_events"]])
    own_id = person["id"]
    lines += section(t("own.messages"), [
        "• " + t("own.message_sent" if message["sender_id"] == own_id
                 else "own.message_received", when=_moment(message["created_at"], language),
                 number=message["request_id"], text=message.get("text") or "—")
        for message in data["relay_messages"]])
    lines += section(t("own.surveys"), [
        "• " + t("own.survey", number=survey["request_id"],
                 score=survey.get("score") or "—", comment=survey.get("comment") or "—")
        for survey in data["surveys"]])
    lines += section(t("own.ledger"), [
        "• " + t(f"own.ledger.{entry['kind']}", when=_moment(entry["at"], language),
                 amount=money(entry["amount_cents"]), number=entry.get("request_id") or "—")
        for entry in data["fund_ledger"]])
    return "\n".join(lines) + "\n"
