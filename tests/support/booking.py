"""Requests for tests, on the tiny alliance (tests/data/mini.toml) unless said: booked
straight in the store, or through the dialogue, up to a job offered and taken."""

from datetime import date, time

from sqlmodel import select

from models import fund
from models import requests as store
from models.db import transaction
from models.tables import Municipality, Service, ServiceRequest
from tests.support.chat import Chatter
from tests.support.people import team
from tests.support.senders import RecordingSender, console_inbox, deliver

THURSDAY = date(2026, 11, 26)  # the day after the tests' clock starts


async def ids(runtime, service_code: str, place: str) -> tuple[Service, int]:
    """The service with that code, and the id of the municipality with that name."""
    async with transaction(runtime.sessions) as session:
        service = (await session.exec(select(Service).where(Service.code == service_code))).one()
        municipality = (await session.exec(
            select(Municipality).where(Municipality.name == place))).one()
        return service, municipality.id


async def book(runtime, worker_id: int, service_code: str, place: str, day: date,
               start: time) -> store.Confirmation:
    """A request confirmed straight in the store, at the price quoted."""
    service, place_id = await ids(runtime, service_code, place)
    async with transaction(runtime.sessions) as session:
        shown = await fund.quote(session, worker_id, service, day.year)
        draft = store.Draft(service.id, place_id, day, start, "Via Roma 1", None)
        return await store.confirm(session, worker_id, draft, shown, runtime.clock())


async def the_request(runtime) -> ServiceRequest:
    """The first request in the store."""
    async with transaction(runtime.sessions) as session:
        return (await session.exec(select(ServiceRequest).order_by(ServiceRequest.id))).first()


async def book_in_alfa(chat: Chatter) -> str:
    """Spesa in Alfa on Thursday at 10 through the dialogue, from the main menu; the
    confirmation."""
    await chat.press("Nuova richiesta")
    await chat.press("Commissioni")
    await chat.press("Spesa")
    await chat.say("Alfa")
    await chat.say("giovedì alle 10")
    await chat.say("Via Verdi 7")
    await chat.say("Citofono Bianchi")
    return await chat.press("Conferma")


async def book_through_dialogue(chat: Chatter, place: str = "Crema",
                                service: str = "Spesa", category: str = "Commissioni",
                                when: str = "domani alle 15", confirm: bool = True) -> str:
    """A new request through every step (on the Crema catalogue by default); the
    confirmation (or, without `confirm`, the summary it would confirm)."""
    await chat.press("Nuova richiesta")
    await chat.press(category)
    await chat.press(service)
    await chat.say(place)
    await chat.say(when)
    if "A che ora" in chat.last.text:
        await chat.press(":")
    await chat.say("Via Mazzini 12")
    summary = await chat.press("Nessuna nota")
    return await chat.press("Conferma") if confirm else summary


async def offered_to_the_team(mini) -> tuple[dict, RecordingSender]:
    """The team enrolled, the worker's job booked and offered to Cooperativa A."""
    people = await team(mini)
    inbox = console_inbox()
    await book_in_alfa(people["worker"])
    await deliver(mini, inbox)
    return people, inbox


async def taken_by_luca(mini) -> tuple[dict, RecordingSender]:
    """As offered_to_the_team, and Luca (Cooperativa A) has taken it from the offer."""
    people, inbox = await offered_to_the_team(mini)
    offer = inbox.received[people["Luca"].external_id][-1]
    await people["Luca"].send_payload(offer.choices[0].payload)
    await deliver(mini, inbox)
    return people, inbox
