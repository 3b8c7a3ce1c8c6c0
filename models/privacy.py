"""Data retention and a person's rights: the nightly erasure of addresses, notes and
messages some days after a request ends; a person's own data as a file; erasure on
request, at once, except what the fund's accounting must keep, which is anonymised."""

import re
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import and_, delete, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import outbox
from models import requests as store
from models.base import RequestStatus, Role
from models.jobs import release
from models.tables import (
    Attachment,
    ChatIdentity,
    ChoiceToken,
    Conversation,
    LedgerEntry,
    Municipality,
    Notice,
    Offer,
    Organisation,
    Person,
    ProcessedUpdate,
    RelayMessage,
    RequestEvent,
    Service,
    ServiceRequest,
    Survey,
)
from models.whatsapp_inbox import WhatsAppInbound

PROCESSED_UPDATES_KEPT = timedelta(days=30)
DELIVERED_REPLIES_KEPT = timedelta(days=1)
# a person's own data file is needed only while its signed link works (bot/files.py)
EXPORTS_KEPT = timedelta(days=7)
EXPORT_FILE_PREFIX = "intempo-dati-"  # a person's own-data file: intempo-dati-<id>.json
ENDED = (RequestStatus.DONE, RequestStatus.NO_SHOW, RequestStatus.CANCELLED)
# the params of a notice that hold what a person typed, or a person's name, by kind
PERSONAL_PARAMS = {
    "relay.message": ("sender", "message"),
    "coordinator.complaint": ("message", "operator_name"),
    "worker.assigned": ("operator",),
    "relay.from_staff": ("sender", "message"),
    "relay.to_staff": ("sender", "message"),
    "worker.staff_cancelled": ("reason",),
    "worker.complaint_handled": ("note",),
    "worker.reminder": (),  # its text, as sent, holds the address
}
# events whose reason ends with what someone typed: kept as their first words only
TYPED_REASONS = (store.CANCELLED, "segnalazione gestita")
# the public facts of a job, all an operator's own-data file shows of it
JOB_FACTS = {"id", "starts_at", "status", "duration_minutes", "actual_minutes", "done_at"}


# --- retention ----------------------------------------------------------------------------

async def _blank_notices(session: AsyncSession, *where) -> None:
    """Blank the personal params and the rendered text of the notices `where` selects;
    those not sent yet are withdrawn, as nothing is left for them to say."""
    for notice in (await session.exec(select(Notice).where(*where))).all():
        personal = PERSONAL_PARAMS.get(notice.kind, ())
        notice.params = {key: "" if key in personal else value
                         for key, value in notice.params.items()}
        notice.rendered_text = None
        session.add(notice)
        if notice.status in outbox.WAITING:
            outbox.give_up(session, notice, "personal data erased")


def _about_requests(request_ids: list[int]):
    """The notices about these requests that carry a person's words or name."""
    return and_(Notice.kind.in_(tuple(PERSONAL_PARAMS)),
                Notice.params["request_id"].as_integer().in_(request_ids))


async def _erase_request_details(session: AsyncSession, request_ids: list[int],
                                 now: datetime) -> None:
    """Blank the personal parts of these requests, keeping every figure: address, notes,
    complaint, relay messages, survey comments, typed cancellation reasons, and the
    notices that repeat any of them."""
    if not request_ids:
        return
    await session.exec(update(ServiceRequest).where(ServiceRequest.id.in_(request_ids))
                       .values(address=None, notes=None, complaint=None,
                               complaint_note=None, erased_at=now))
    await session.exec(update(RelayMessage).where(RelayMessage.request_id.in_(request_ids))
                       .values(text=None))
    await session.exec(update(Survey).where(Survey.request_id.in_(request_ids))
                       .values(comment=None))
    for typed in TYPED_REASONS:  # "annullata: …", "annullata dal coordinamento: …"
        await session.exec(update(RequestEvent).where(
            RequestEvent.request_id.in_(request_ids), RequestEvent.reason.startswith(typed),
            RequestEvent.reason.contains(":")).values(reason=typed))
    await _blank_notices(session, _about_requests(request_ids))


async def erase_expired(session: AsyncSession, now: datetime, days: int) -> int:
    """The nightly job: requests ended more than `days` ago lose their personal parts (see
    `_erase_request_details`); own-data files go once their link has expired. Returns how
    many requests were cleaned."""
    cutoff = now - timedelta(days=days)
    # ended, or never closed (unserved, or a job nobody marked done) and long past its day
    ids = list((await session.exec(select(ServiceRequest.id).where(
        or_(ServiceRequest.status.in_(ENDED), ServiceRequest.starts_at <= cutoff),
        ServiceRequest.erased_at.is_(None), ServiceRequest.updated_at <= cutoff))).all())
    await _erase_request_details(session, ids, now)
    await session.exec(delete(Attachment).where(
        Attachment.filename.like(f"{EXPORT_FILE_PREFIX}%"),
        Attachment.created_at <= now - EXPORTS_KEPT))
    # the ids of handled updates only guard against replays, which come within days; the
    # replies kept with them, only until they are delivered
    await session.exec(delete(ProcessedUpdate).where(
        ProcessedUpdate.at <= now - PROCESSED_UPDATES_KEPT))
    await session.exec(update(ProcessedUpdate).where(
        ProcessedUpdate.delivered_at <= now - DELIVERED_REPLIES_KEPT,
        ProcessedUpdate.chat.is_not(None)).values(replies=None, chat=None))
    await session.exec(delete(WhatsAppInbound).where(  # answered: only a sid and a number
        WhatsAppInbound.done_at <= now - PROCESSED_UPDATES_KEPT))
    return len(ids)


# --- a person's own data ------------------------------------------------------------------

async def _jobs_of(session: AsyncSession, operator: Person) -> list[dict[str, Any]]:
    """An operator's jobs by their public facts: the worker's name, address, notes and
    complaint are the worker's data, not the operator's."""
    rows = await session.exec(
        select(ServiceRequest, Service, Municipality.name)
        .join(Service, Service.id == ServiceRequest.service_id)
        .join(Municipality, Municipality.id == ServiceRequest.municipality_id)
        .where(ServiceRequest.operator_id == operator.id).order_by(ServiceRequest.id))
    return [job.model_dump(mode="json", include=JOB_FACTS)
            | {"service": service.name_in(operator.language), "place": place}
            for job, service, place in rows.all()]


async def export_person(session: AsyncSession, person: Person) -> dict[str, Any]:
    """Everything the store holds about a person, as plain data (for a JSON file): their
    own requests whole, the jobs they did as an operator by their public facts, and of
    the requests' history their own requests' events and their own acts."""
    org = await session.get(Organisation, person.organisation_id)
    chats = (await session.exec(select(ChatIdentity).where(
        ChatIdentity.person_id == person.id))).all()
    requests = (await session.exec(select(ServiceRequest).where(
        ServiceRequest.worker_id == person.id).order_by(ServiceRequest.id))).all()
    own = select(ServiceRequest.id).where(ServiceRequest.worker_id == person.id)
    events = (await session.exec(select(RequestEvent).where(or_(
        RequestEvent.request_id.in_(own), RequestEvent.actor_id == person.id))
        .order_by(RequestEvent.id))).all()
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
        "jobs": await _jobs_of(session, person),
        "request_events": [e.model_dump(mode="json") for e in events],
        "relay_messages": [m.model_dump(mode="json") for m in messages],
        "surveys": [s.model_dump(mode="json") for s in surveys],
        "fund_ledger": [entry.model_dump(mode="json") for entry in ledger],
    }


# --- erasure ------------------------------------------------------------------------------

async def _give_up_open_work(session: AsyncSession, person: Person, now: datetime) -> None:
    """A worker's open requests are cancelled (their fund reservation released); an
    operator's taken jobs go back to colleagues."""
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


async def _erase_words_to_others(session: AsyncSession, person: Person) -> None:
    """What the person wrote to others, and their name in notices and events about their
    acts: relay messages, the notices passing them on, 'se ne occuperà <name>',
    'presa da <name>'."""
    await session.exec(update(RelayMessage).where(or_(
        RelayMessage.sender_id == person.id, RelayMessage.recipient_id == person.id))
        .values(text=None))
    sent = (await session.exec(select(RelayMessage.id).where(
        RelayMessage.sender_id == person.id))).all()
    taken = (await session.exec(select(Offer.request_id, Offer.round).where(
        Offer.operator_id == person.id, Offer.status == "accepted"))).all()
    keys = [f"relay:{i}" for i in sent] + [f"assigned:{r}:{n}" for r, n in taken]
    if keys:
        await _blank_notices(session, Notice.dedupe_key.in_(keys))
    their_jobs = select(ServiceRequest.id).where(ServiceRequest.operator_id == person.id)
    await _blank_notices(session, Notice.kind == "coordinator.complaint",
                         Notice.params["request_id"].as_integer().in_(their_jobs))
    if person.first_name:
        await _forget_name_in_events(session, person.id, person.first_name)


async def _forget_name_in_events(session: AsyncSession, person_id: int, name: str) -> None:
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    events = (await session.exec(select(RequestEvent).where(
        RequestEvent.actor_id == person_id,
        RequestEvent.reason.contains(name, autoescape=True)))).all()
    for event in events:
        event.reason = pattern.sub("—", event.reason)
        session.add(event)


async def _erase_chats(session: AsyncSession, person: Person) -> None:
    chats = list((await session.exec(select(ChatIdentity.id).where(
        ChatIdentity.person_id == person.id))).all())
    if chats:
        # the replies kept with the updates they answered repeat what the person wrote
        for channel, external_id in (await session.exec(select(
                ChatIdentity.channel, ChatIdentity.external_id).where(
                ChatIdentity.id.in_(chats)))).all():
            await session.exec(update(ProcessedUpdate).where(
                ProcessedUpdate.channel == channel, ProcessedUpdate.chat == external_id)
                .values(replies=None, chat=None))
        conversations = select(Conversation.id).where(Conversation.identity_id.in_(chats))
        await session.exec(delete(ChoiceToken).where(
            ChoiceToken.conversation_id.in_(conversations)))
        await session.exec(delete(Conversation).where(Conversation.identity_id.in_(chats)))
        await session.exec(delete(ChatIdentity).where(ChatIdentity.id.in_(chats)))
    await session.exec(delete(ChoiceToken).where(ChoiceToken.person_id == person.id))


async def erase_person(session: AsyncSession, person: Person, now: datetime) -> None:
    """Erase a person at once. Open work is given up (see `_give_up_open_work`); chats,
    conversations, files, messages, addresses, notes and their name where others' notices
    and the requests' history show it go; the person row stays, nameless and inactive,
    because the fund's ledger must keep pointing at someone (now anonymous)."""
    await _give_up_open_work(session, person, now)
    own = list((await session.exec(select(ServiceRequest.id).where(
        ServiceRequest.worker_id == person.id))).all())
    await _erase_request_details(session, own, now)
    await _erase_words_to_others(session, person)
    await _erase_chats(session, person)
    await session.exec(delete(Attachment).where(Attachment.owner_id == person.id))
    await outbox.give_up_waiting(session, person.id, "person erased")
    await session.exec(update(Notice).where(Notice.person_id == person.id)
                       .values(params={}, rendered_text=None))
    person.first_name, person.last_address, person.last_municipality_id = None, None, None
    person.active, person.erased_at = False, now
    session.add(person)
