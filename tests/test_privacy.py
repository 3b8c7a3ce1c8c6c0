"""Retention and a person's rights: erased details, intact figures."""

import json
from datetime import time

import pytest
from sqlmodel import func, select

from models import jobs, privacy
from models import requests as store
from models.base import NoticeStatus, RequestStatus
from models.db import transaction
from models.fund import the_fund
from models.tables import (
    Attachment,
    ChatIdentity,
    LedgerEntry,
    Notice,
    Person,
    RelayMessage,
    RequestEvent,
    ServiceRequest,
)
from tests.support.booking import book, taken_by_luca
from tests.support.chat import plain
from tests.support.people import make_person, person_named
from tests.support.senders import console_inbox, deliver

COMPLAINT = "L'operatore ha lasciato la spesa al vicino, il signor Bianchi"
CANCEL_REASON = "mia madre è in ospedale"
# what people typed, and their names: none of it may outlive retention in a notice
TYPED = ("Via Verdi", "Citofono Bianchi", "Arrivo alle 10", COMPLAINT, CANCEL_REASON)


async def figures(runtime) -> tuple:
    """What the programme's figures are made of: counts, statuses, minutes, money."""
    async with transaction(runtime.sessions) as session:
        requests = (await session.exec(select(
            ServiceRequest.status, ServiceRequest.service_id, ServiceRequest.municipality_id,
            ServiceRequest.actual_minutes, ServiceRequest.fund_cents)
            .order_by(ServiceRequest.id))).all()
        events = (await session.exec(select(func.count()).select_from(RequestEvent))).one()
        ledger = (await session.exec(select(LedgerEntry.kind, LedgerEntry.amount_cents)
                                     .order_by(LedgerEntry.id))).all()
        fund = await the_fund(session)
        return (list(requests), events, list(ledger), fund.committed_cents)


async def finish_with_relay(mini):
    people, _ = await taken_by_luca(mini)
    luca = people["Luca"]
    await luca.press("Scrivi al lavoratore")
    await luca.say("Arrivo alle 10, citofono Bianchi giusto?")
    mini.clock.set_local(2026, 11, 26, 11, 30)
    await luca.say("menu")
    await luca.press("I miei lavori")
    await luca.press("Spesa")
    await luca.press("Fatto")
    await luca.say("60")
    return people


@pytest.mark.asyncio
async def test_retention_erases_details_after_ninety_days_keeping_figures(mini, clock):
    await finish_with_relay(mini)
    before = await figures(mini)
    async with transaction(mini.sessions) as session:
        assert await privacy.erase_expired(session, clock.advance(days=89), 90) == 0
    async with transaction(mini.sessions) as session:
        assert await privacy.erase_expired(session, clock.advance(days=2), 90) == 1
        request = (await session.exec(select(ServiceRequest))).one()
        messages = (await session.exec(select(RelayMessage.text))).all()
    assert (request.address, request.notes, request.erased_at) == (None, None, clock())
    assert messages == [None]
    assert await figures(mini) == before
    async with transaction(mini.sessions) as session:
        assert await privacy.erase_expired(session, clock.advance(days=1), 90) == 0


@pytest.mark.asyncio
async def test_export_own_data_from_the_chat(mini):
    people = await finish_with_relay(mini)
    worker = people["worker"]
    await worker.say("menu")
    await worker.press("Privacy e dati")
    text = await worker.press("Scarica i miei dati")
    assert "copia di tutti i dati" in text
    file = worker.last.file
    assert file.filename.endswith(".txt") and file.content_type.startswith("text/plain")
    readable = plain(file.data.decode("utf-8"))
    assert readable.startswith("I tuoi dati in IN...TEMPO")
    assert "Nome: Giulia" in readable and "Organizzazione: Datore" in readable
    assert "Richiesta n. 1: Spesa, giovedì 26 novembre 2026, 10:00, Via Verdi 7, Alfa" in readable
    assert "Stato: svolta" in readable and "di cui 10,00 € dal fondo" in readable
    assert "scritto da te: «Arrivo alle 10" in readable or "ricevuto: «Arrivo alle 10" in readable
    assert "Terminale +39" in readable
    for code in ("service_id", "assigned", "pending", "_at", "worker_id"):
        assert code not in readable  # words, not the store's codes and ids


@pytest.mark.asyncio
async def test_erasure_from_the_chat_keeps_the_fund_accounts_anonymous(mini):
    people = await finish_with_relay(mini)
    worker = people["worker"]
    before = await figures(mini)
    await worker.say("menu")
    await worker.press("Privacy e dati")
    await worker.press("Cancella i miei dati")
    assert "sono stati cancellati" in await worker.press("Sì, cancella tutto")
    async with transaction(mini.sessions) as session:
        giulia = (await session.exec(select(Person).where(Person.role == "worker"))).one()
        chats = (await session.exec(select(ChatIdentity).where(
            ChatIdentity.person_id == giulia.id))).all()
        request = (await session.exec(select(ServiceRequest))).one()
        ledger = (await session.exec(select(LedgerEntry))).all()
    assert (giulia.first_name, giulia.active, chats) == (None, False, [])
    assert request.address is None and request.status == RequestStatus.DONE
    assert {entry.person_id for entry in ledger} == {giulia.id}
    assert await figures(mini) == before
    # writing again from the same phone starts over: a code is needed
    assert "codice" in await worker.say("ciao")


@pytest.mark.asyncio
async def test_erasure_cancels_open_requests_and_releases_the_fund(mini):
    await taken_by_luca(mini)
    await erase_named(mini, "Giulia")
    async with transaction(mini.sessions) as session:
        request = (await session.exec(select(ServiceRequest))).one()
        fund = await the_fund(session)
    assert request.status == RequestStatus.CANCELLED and fund.reserved_cents == 0


@pytest.mark.asyncio
async def test_erasing_an_operator_gives_their_jobs_back(mini):
    await taken_by_luca(mini)
    await erase_named(mini, "Luca")
    async with transaction(mini.sessions) as session:
        request = (await session.exec(select(ServiceRequest))).one()
    assert (request.status, request.operator_id) == (RequestStatus.PENDING, None)


@pytest.mark.asyncio
async def test_old_update_ids_are_forgotten_after_thirty_days(mini, clock):
    from models.tables import ProcessedUpdate

    async with transaction(mini.sessions) as session:
        session.add(ProcessedUpdate(channel="telegram", update_id="1", at=clock()))
        session.add(ProcessedUpdate(channel="telegram", update_id="2",
                                    at=clock.advance(days=20)))
    async with transaction(mini.sessions) as session:
        await privacy.erase_expired(session, clock.advance(days=11), 90)
        left = (await session.exec(select(ProcessedUpdate.update_id))).all()
    assert left == ["2"]


async def erase_named(runtime, name: str) -> None:
    """Erase the person with this first name, as «Privacy e dati» would."""
    async with transaction(runtime.sessions) as session:
        person = (await session.exec(select(Person).where(Person.first_name == name))).one()
        await privacy.erase_person(session, person, runtime.clock())


async def full_story(runtime):
    """finish_with_relay, then Giulia complains, books a second errand and cancels it
    giving her own reason, downloads her data; every notice is delivered."""
    people = await finish_with_relay(runtime)
    giulia = await person_named(runtime, "Giulia")
    async with transaction(runtime.sessions) as session:
        request = await session.get(ServiceRequest, 1)
        await jobs.complain(session, request, giulia, COMPLAINT, runtime.clock())
    second = (await book(runtime, giulia.id, "spesa", "Alfa", request.starts_at.date(),
                         time(11))).request
    async with transaction(runtime.sessions) as session:
        second = await session.get(ServiceRequest, second.id)
        assert await store.cancel(session, second, giulia.id, CANCEL_REASON, runtime.clock())
    worker = people["worker"]
    await worker.say("menu")
    await worker.press("Privacy e dati")
    await worker.press("Scarica i miei dati")
    await deliver(runtime, console_inbox())
    return people


async def leftovers(runtime) -> tuple[str, list[str], list[str]]:
    """What notices, the requests' history and stored files still say."""
    async with transaction(runtime.sessions) as session:
        notices = (await session.exec(select(Notice))).all()
        reasons = (await session.exec(select(RequestEvent.reason))).all()
        files = (await session.exec(select(Attachment.filename))).all()
    said = "\n".join(f"{n.params} {n.rendered_text}" for n in notices)
    return said, list(reasons), list(files)


@pytest.mark.asyncio
async def test_an_operators_export_has_only_the_public_facts_of_their_jobs(mini):
    await full_story(mini)
    luca = await person_named(mini, "Luca")
    async with transaction(mini.sessions) as session:
        data = await privacy.export_person(session, luca)
    dumped = json.dumps(data, ensure_ascii=False)
    for secret in ("Via Verdi", "Citofono Bianchi", COMPLAINT, CANCEL_REASON, "Giulia"):
        assert secret not in dumped
    assert data["requests"] == []
    assert data["jobs"] == [{
        "id": 1, "service": "Spesa", "place": "Alfa", "status": "done",
        "starts_at": "2026-11-26T09:00:00Z", "duration_minutes": 60, "actual_minutes": 60,
        "done_at": "2026-11-26T10:30:00Z"}]
    assert [e["reason"] for e in data["request_events"]] == ["presa da Luca",
                                                             "svolta in 60 minuti"]
    assert data["relay_messages"][0]["text"].startswith("Arrivo alle 10")


@pytest.mark.asyncio
async def test_retention_leaves_no_typed_text_in_notices_events_or_files(both_minis, clock):
    mini = both_minis
    await full_story(mini)
    said, reasons, files = await leftovers(mini)
    assert COMPLAINT in said and "Arrivo alle 10" in said  # the story did leave them there
    assert f"annullata: {CANCEL_REASON}" in reasons and "intempo-dati-1.txt" in files
    before = await figures(mini)
    async with transaction(mini.sessions) as session:
        assert await privacy.erase_expired(session, clock.advance(days=91), 90) == 2
    said, reasons, files = await leftovers(mini)
    for secret in (*TYPED, "Luca"):
        assert secret not in said
    assert "annullata" in reasons and not any(CANCEL_REASON in r for r in reasons)
    assert files == []
    assert await figures(mini) == before
    async with transaction(mini.sessions) as session:
        complaint = (await session.exec(select(Notice).where(
            Notice.kind == "coordinator.complaint"))).one()
    assert complaint.params == {"request_id": 1, "message": "", "cooperative": "Cooperativa A",
                                "operator_name": ""}
    assert complaint.status == NoticeStatus.DELIVERED  # the row stays, as sent


@pytest.mark.asyncio
async def test_own_data_files_are_kept_only_while_their_link_works(mini, clock):
    await full_story(mini)
    async with transaction(mini.sessions) as session:
        await privacy.erase_expired(session, clock.advance(days=6), 90)
    assert (await leftovers(mini))[2] == ["intempo-dati-1.txt"]
    async with transaction(mini.sessions) as session:
        await privacy.erase_expired(session, clock.advance(days=2), 90)
    assert (await leftovers(mini))[2] == []


@pytest.mark.asyncio
async def test_erasing_a_worker_leaves_none_of_their_words_in_notices_or_events(mini):
    await full_story(mini)
    await erase_named(mini, "Giulia")
    said, reasons, _files = await leftovers(mini)
    for secret in TYPED:
        assert secret not in said
    assert not any(CANCEL_REASON in reason for reason in reasons)


@pytest.mark.asyncio
async def test_erasing_an_operator_removes_their_name_and_words_from_others_notices(mini):
    await full_story(mini)
    await erase_named(mini, "Luca")
    said, reasons, _files = await leftovers(mini)
    assert "Luca" not in said and "Arrivo alle 10" not in said
    assert not any("Luca" in reason for reason in reasons)
    assert "presa da —" in reasons


@pytest.mark.asyncio
async def test_a_message_not_yet_passed_on_is_withdrawn_when_its_writer_is_erased(mini):
    people, _inbox = await taken_by_luca(mini)
    await people["Luca"].press("Scrivi al lavoratore")
    await people["Luca"].say("Sono Luca, arrivo dal cortile")
    await erase_named(mini, "Luca")
    async with transaction(mini.sessions) as session:
        notice = (await session.exec(select(Notice).where(
            Notice.kind == "relay.message"))).one()
    assert (notice.status, notice.params["message"], notice.params["sender"]) == (
        NoticeStatus.FAILED, "", "")


@pytest.mark.asyncio
async def test_retention_also_reaches_requests_never_closed_once_long_past(mini, clock):
    from datetime import date, time

    from models.base import RequestStatus

    worker = await make_person(mini, "employer")
    unserved = await book(mini, worker.id, "spesa", "Gamma", date(2026, 11, 26), time(10))
    later = await book(mini, worker.id, "baby", "Alfa", date(2027, 3, 1), time(10))
    assert unserved.request.status == RequestStatus.UNSERVED
    async with transaction(mini.sessions) as session:
        assert await privacy.erase_expired(session, clock.advance(days=92), 90) == 1
        cleaned = await session.get(ServiceRequest, unserved.request.id)
        kept = await session.get(ServiceRequest, later.request.id)
    assert cleaned.address is None and cleaned.status == RequestStatus.UNSERVED
    assert kept.address == "Via Roma 1"  # still to come: untouched
