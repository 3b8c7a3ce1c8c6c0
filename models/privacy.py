"""Data retention and a person's rights: the nightly erasure of addresses, notes and
messages some days after a request ends; a person's own data as a file; erasure on
request, at once, except what the fund's accounting must keep, which is anonymised."""

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import delete, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import requests as store
from models.base import NoticeStatus, RequestStatus, Role
from models.jobs import release
from models.tables import (
    Attachment,
    ChatIdentity,
    ChoiceToken,
    Conversation,
    LedgerEntry,
    Notice,
    Organisation,
    Person,
    ProcessedUpdate,
    RelayMessage,
    RequestEvent,
    ServiceRequest,
    Survey,
)

PROCESSED_UPDATES_KEPT = timedelta(days=30)
ENDED = (RequestStatus.DONE, RequestStatus.NO_SHOW, RequestStatus.CANCELLED)


async def _erase_request_details(session: AsyncSession, request_ids: list[int],
                                 now: datetime) -> None:
    """Blank the personal parts of these requests, keeping every figure."""
    if not request_ids:
        return
    await session.exec(update(ServiceRequest).where(ServiceRequest.id.in_(request_ids))
                       .values(address=None, notes=None, complaint=None, erased_at=now))
    await session.exec(update(RelayMessage).where(RelayMessage.request_id.in_(request_ids))
                       .values(text=None))
    await session.exec(update(Survey).where(Survey.request_id.in_(request_ids))
                       .values(comment=None))
    relay_ids = (await session.exec(select(RelayMessage.id).where(
        RelayMessage.request_id.in_(request_ids)))).all()
    if relay_ids:
        await session.exec(update(Notice).where(
            Notice.dedupe_key.in_([f"relay:{i}" for i in relay_ids]))
            .values(params={}, rendered_text=None))


async def erase_expired(session: AsyncSession, now: datetime, days: int) -> int:
    """The nightly job: requests ended more than `days` ago lose address, notes, complaint,
    relay messages and survey comments. Returns how many requests were cleaned."""
    ids = list((await session.exec(select(ServiceRequest.id).where(
        ServiceRequest.status.in_(ENDED), ServiceRequest.erased_at.is_(None),
        ServiceRequest.updated_at <= now - timedelta(days=days)))).all())
    await _erase_request_details(session, ids, now)
    # the ids of handled updates only guard against replays, which come within days
    await session.exec(delete(ProcessedUpdate).where(
        ProcessedUpdate.at <= now - PROCESSED_UPDATES_KEPT))
    return len(ids)


async def export_person(session: AsyncSession, person: Person) -> dict[str, Any]:
    """Everything the store holds about a person, as plain data (for a JSON file)."""
    org = await session.get(Organisation, person.organisation_id)
    chats = (await session.exec(select(ChatIdentity).where(
        ChatIdentity.person_id == person.id))).all()
    requests = (await session.exec(select(ServiceRequest).where(or_(
        ServiceRequest.worker_id == person.id, ServiceRequest.operator_id == person.id))
        .order_by(ServiceRequest.id))).all()
    ids = [r.id for r in requests]
    events = (await session.exec(select(RequestEvent).where(
        RequestEvent.request_id.in_(ids)).order_by(RequestEvent.id))).all() if ids else []
    messages = (await session.exec(select(RelayMessage).where(or_(
        RelayMessage.sender_id == person.id, RelayMessage.recipient_id == person.id))
        .order_by(RelayMessage.id))).all()
    surveys = (await session.exec(select(Survey).where(Survey.worker_id == person.id))).all()
    ledger = (await session.exec(select(LedgerEntry).where(
        LedgerEntry.person_id == person.id).order_by(LedgerEntry.id))).all()
    return {
        "person": person.model_dump(mode="json", exclude={"last_municipality_id"})
        | {"organisation": org.name if org else None},
        "chats": [c.model_dump(mode="json") for c in chats],
        "requests": [r.model_dump(mode="json") for r in requests],
        "request_events": [e.model_dump(mode="json") for e in events],
        "relay_messages": [m.model_dump(mode="json") for m in messages],
        "surveys": [s.model_dump(mode="json") for s in surveys],
        "fund_ledger": [entry.model_dump(mode="json") for entry in ledger],
    }


async def erase_person(session: AsyncSession, person: Person, now: datetime) -> None:
    """Erase a person at once. Open requests are cancelled (their fund reservation
    released), an operator's taken jobs go back to colleagues; chats, conversations,
    messages, addresses and notes go; the person row stays, nameless and inactive, because
    the fund's ledger must keep pointing at someone (now anonymous)."""
    if person.role == Role.WORKER:
        for request in await store.requests_of(session, person.id, open_only=True,
                                               limit=1000):
            await store.cancel(session, request, person.id, "cancellazione dei dati", now)
    if person.role == Role.OPERATOR:
        taken = (await session.exec(select(ServiceRequest).where(
            ServiceRequest.operator_id == person.id,
            ServiceRequest.status == RequestStatus.ASSIGNED))).all()
        for request in taken:
            await release(session, request, person, now)
    own = list((await session.exec(select(ServiceRequest.id).where(
        ServiceRequest.worker_id == person.id))).all())
    await _erase_request_details(session, own, now)
    await session.exec(update(RelayMessage).where(or_(
        RelayMessage.sender_id == person.id, RelayMessage.recipient_id == person.id))
        .values(text=None))
    chats = list((await session.exec(select(ChatIdentity.id).where(
        ChatIdentity.person_id == person.id))).all())
    if chats:
        conversations = select(Conversation.id).where(Conversation.identity_id.in_(chats))
        await session.exec(delete(ChoiceToken).where(
            ChoiceToken.conversation_id.in_(conversations)))
        await session.exec(delete(Conversation).where(Conversation.identity_id.in_(chats)))
        await session.exec(delete(ChatIdentity).where(ChatIdentity.id.in_(chats)))
    await session.exec(delete(ChoiceToken).where(ChoiceToken.person_id == person.id))
    await session.exec(delete(Attachment).where(Attachment.owner_id == person.id))
    await session.exec(update(Notice).where(
        Notice.person_id == person.id,
        Notice.status.in_((NoticeStatus.PENDING, NoticeStatus.HELD)))
        .values(status=NoticeStatus.FAILED, last_error="person erased"))
    await session.exec(update(Notice).where(Notice.person_id == person.id)
                       .values(params={}, rendered_text=None))
    person.first_name, person.last_address, person.last_municipality_id = None, None, None
    person.active, person.erased_at = False, now
    session.add(person)
