"""Property-based fuzzing (Hypothesis) of everything that comes in: the real dialogue, the
signed WhatsApp webhooks (signatures computed with the twilio library) and the Telegram
webhook (the real python-telegram-bot objects over the fake Bot API), fed arbitrary
Unicode, payloads, form fields and updates, mixed with presses of the choices really
offered so that the walk reaches bookings, cancellations and jobs.

After every example: no exception escaped, nothing answered 5xx, no turn needed the
apology (each one is a bug found), and the store's invariants hold — the fund never
negative, its reserved and committed money equal to the requests' shares, every request's
status the one its last event moved it to, no dedupe key twice. Bounded for CI: a few
hundred examples in all, no deadline (the machine is shared)."""

import asyncio
import json
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from bot.runtime import start_runtime
from bot.settings import Settings
from bot.telegram.channel import install as install_telegram
from bot.telegram.webhook import SECRET_HEADER
from handlers.types import Incoming
from models.base import RequestStatus, Role
from models.catalog import load_catalog, read_catalog
from models.db import transaction
from models.tables import Fund, Notice, ProcessedUpdate, RequestEvent, ServiceRequest
from tests.support.catalogs import CATALOG
from tests.support.chat import enrolled
from tests.support.clock import Clock
from tests.support.fake_telegram import TOKEN, FakeBotApi, Updates, buttons
from tests.support.whatsapp import (
    STATUS,
    WEBHOOK,
    client_for,
    inbound_form,
    new_message_sid,
    post_signed,
    wire_whatsapp,
)

SECRET = "fuzz-webhook-secret"
EXAMPLES = {"sqlite": 100, "postgres": 120}
CONSOLE = ["+393331000001", "+393331000002", "+393331000003"]  # worker, operator, stranger
PHONES = ["+393332000001", "+393332000002"]  # an enrolled worker, a stranger
TELEGRAM = [9100001, 9100002]  # an enrolled worker, a stranger
WORDS = ["menu", "indietro", "annulla", "aiuto", "conferma", "1", "2", "3", "0", "-1", "99",
         "9" * 40, "፩", "᧚", "²", "١", "STOP", "START", "/start", "/start ZZZ", "/menu",
         "domani alle 15", "sabato mattina", "27/11 ore 9", "31/02", "Crema", "nessuna",
         "accetto", "sì", "no", "Via Roma 1", "\x00", "a\x00b", "\ud800", "\u202e", "🙂" * 30,
         "nuova richiesta", "le mie richieste", "lavori disponibili", "fatto", "x" * 1200]
BOOKING_STEPS = 9
TWILIO_FIELDS = ["Body", "ButtonPayload", "ButtonText", "NumMedia", "MessageType",
                 "OptOutType", "Latitude", "ProfileName", "From", "MessageSid", "SmsSid",
                 "SmsMessageSid", "WaId", "To"]

any_text = st.text(st.characters(codec="utf-8"), max_size=40)
wild_text = st.text(max_size=40) | st.text(st.characters(), max_size=12)  # surrogates too
typed = st.sampled_from(WORDS) | any_text


@dataclass
class World:
    """The product with all three ways in, and the choices each chat was last offered."""

    runtime: object
    web: httpx.AsyncClient
    api: FakeBotApi
    telegram: object
    updates: Updates = field(default_factory=lambda: Updates(first_id=1))
    offered: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # labels, payloads
    statuses: list[int] = field(default_factory=list)


# --- the actions -------------------------------------------------------------------------

@st.composite
def console_turn(draw):
    chat = draw(st.sampled_from(CONSOLE))
    how = draw(st.sampled_from(["type", "press", "press", "payload"]))
    return ("console", chat, how, draw(typed), draw(st.integers(0, 20)), draw(wild_text))


@st.composite
def whatsapp_post(draw):
    phone = draw(st.sampled_from(PHONES))
    form = inbound_form(phone, draw(typed))
    if draw(st.booleans()):  # a number from the list just shown, as people answer
        form["Body"] = str(draw(st.integers(1, 9)))
    for name in draw(st.lists(st.sampled_from(TWILIO_FIELDS), max_size=3)):
        form[name] = draw(any_text | st.sampled_from(["SM" + "0" * 32, "MM" + "f" * 32,
                                                       "whatsapp:+393332000001", "1"]))
    form.update(draw(st.dictionaries(any_text.filter(bool), any_text, max_size=2)))
    status = draw(st.sampled_from(["", "sent", "delivered", "read", "failed", "undelivered"]))
    return ("whatsapp", phone, form, status, draw(any_text))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | wild_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(wild_text, inner, max_size=3),
    max_leaves=8)


@st.composite
def telegram_post(draw):
    chat = draw(st.sampled_from(TELEGRAM))
    how = draw(st.sampled_from(["text", "text", "press", "data", "edited", "raw"]))
    extra = draw(st.dictionaries(st.sampled_from(["text", "data", "id", "chat", "from"]),
                                 json_values, max_size=2))
    return ("telegram", chat, how, draw(typed | wild_text), draw(st.integers(0, 20)), extra)


wait = st.tuples(st.just("wait"), st.integers(1, 30))
junk = st.none() | st.none() | typed  # now and then something odd typed between two steps
# a booking walked through by the console worker, and a wander of the worker or the
# operator through random choices: the ways to the fund, the requests and the jobs
book = st.tuples(st.just("book"), st.lists(st.integers(0, 9), min_size=4, max_size=4),
                 st.lists(junk, min_size=BOOKING_STEPS, max_size=BOOKING_STEPS),
                 any_text.filter(str.strip))
wander = st.tuples(st.just("wander"), st.sampled_from(CONSOLE[:2]),
                   st.lists(st.tuples(st.integers(0, 20), junk), min_size=1, max_size=8))
actions = st.lists(st.one_of(console_turn(), whatsapp_post(), telegram_post(), wait, book,
                             wander), min_size=1, max_size=5)


async def act(world: World, action: tuple) -> None:
    kind = action[0]
    if kind == "console":
        _, chat, how, text, pick, raw = action
        if how == "press":
            await console_presses(world, chat, pick)
        elif how == "payload":
            await console_says(world, chat, payload=raw)
        else:
            await console_says(world, chat, text)
    elif kind == "whatsapp":
        _, _, form, status, error_code = action
        response = await post_signed(world.web, WEBHOOK, form)
        world.statuses.append(response.status_code)
        if status:
            callback = {"MessageSid": form.get("MessageSid", new_message_sid()),
                        "MessageStatus": status, "ErrorCode": error_code}
            world.statuses.append((await post_signed(world.web, STATUS, callback)).status_code)
    elif kind == "telegram":
        await post_update(world, *action[1:])
    elif kind == "book":
        await walk_a_booking(world, *action[1:])
    elif kind == "wander":
        _, chat, moves = action
        await console_says(world, chat, "menu")
        for pick, odd in moves:
            if odd is not None:
                await console_says(world, chat, odd)
            if not await console_presses(world, chat, pick):
                break
    else:
        world.runtime.clock.advance(hours=action[1])


async def console_says(world: World, chat: str, text: str | None = None, *,
                       payload: str | None = None) -> str:
    replies = await world.runtime.dialogue.handle(
        Incoming("console", chat, text=text, payload=payload))
    world.offered[chat] = [(c.label, c.payload) for c in replies[-1].choices] if replies \
        else []
    return "\n\n".join(reply.text for reply in replies)


async def console_presses(world: World, chat: str, which: int | str) -> bool:
    """Press the offered choice at index `which`, or the first whose label holds `which`;
    False when there is none (an odd message before it moved the conversation)."""
    offered = world.offered.get(chat, [])
    if isinstance(which, int):
        found = [offered[which % len(offered)]] if offered else []
    else:
        found = [choice for choice in offered if which.casefold() in choice[0].casefold()]
    if found:
        await console_says(world, chat, payload=found[0][1])
    return bool(found)


async def walk_a_booking(world: World, picks: list[int], odd: list[str | None],
                         address: str) -> None:
    """The console worker books: every step as a person would, `odd` typed before some."""
    category, service, day, hour = picks
    worker = CONSOLE[0]
    steps = [("say", "menu"), ("press", "Nuova richiesta"), ("press", category % 3),
             ("press", service), ("say", "Crema"), ("press", day), ("press", hour),
             ("say", address), ("press", "Nessuna")]
    for (how, what), before in zip(steps, odd, strict=True):
        if before is not None:
            await console_says(world, worker, before)
        if how == "say":
            await console_says(world, worker, what)
        elif not await console_presses(world, worker, what):
            return
    await console_presses(world, worker, "Conferma")


async def post_update(world: World, chat: int, how: str, text: str, pick: int,
                      extra: dict) -> None:
    if how == "raw":
        body = {"update_id": world.updates.next_id(), **extra}
    elif how in ("press", "data"):
        sent = world.api.messages(chat)
        message = sent[-1] if sent else world.api._message(chat, 1, "…", None)
        offered = buttons(message)
        data = (offered[pick % len(offered)]["callback_data"]
                if how == "press" and offered else text)
        body = world.updates.press(chat, message, data)
        body["callback_query"].update({k: v for k, v in extra.items() if k in ("data", "id")})
    else:
        body = world.updates.message(chat, text, edited=how == "edited")
        key = "edited_message" if how == "edited" else "message"
        body[key].update({k: v for k, v in extra.items() if k in ("text",)})
    response = await world.web.post("/telegram/webhook", content=json.dumps(body),
                                    headers={SECRET_HEADER: SECRET,
                                             "Content-Type": "application/json"})
    world.statuses.append(response.status_code)
    await world.telegram.processor.order.drain()


# --- the invariants ----------------------------------------------------------------------

async def check_invariants(runtime) -> None:
    async with transaction(runtime.sessions) as session:
        fund = (await session.exec(select(Fund))).one()
        requests = (await session.exec(select(ServiceRequest))).all()
        events = (await session.exec(select(RequestEvent).order_by(RequestEvent.id))).all()
        repeated_notices = (await session.exec(
            select(Notice.dedupe_key).group_by(Notice.dedupe_key)
            .having(func.count() > 1))).all()
        repeated_updates = (await session.exec(
            select(ProcessedUpdate.channel, ProcessedUpdate.update_id)
            .group_by(ProcessedUpdate.channel, ProcessedUpdate.update_id)
            .having(func.count() > 1))).all()
    assert fund.reserved_cents >= 0 and fund.committed_cents >= 0
    assert fund.total_cents - fund.reserved_cents - fund.committed_cents >= 0
    open_statuses = {str(s) for s in RequestStatus.open()}
    assert fund.reserved_cents == sum(r.fund_cents for r in requests
                                      if r.status in open_statuses)
    assert fund.committed_cents == sum(r.fund_cents for r in requests
                                       if r.status == RequestStatus.DONE)
    last_event = {event.request_id: event.to_status for event in events}
    for request in requests:
        assert last_event.get(request.id) == request.status, request
    assert repeated_notices == [] and repeated_updates == []


# --- the test ----------------------------------------------------------------------------

class Errors(logging.Handler):
    """Every ERROR logged: an apology given or an update that failed is a bug found."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@asynccontextmanager
async def world_on(url: str):
    clock = Clock()
    runtime = await start_runtime(Settings(database_url=url, _env_file=None), clock=clock)
    async with transaction(runtime.sessions) as session:
        await load_catalog(session, read_catalog(CATALOG))
    api = FakeBotApi()
    runtime.settings = Settings(database_url=url, _env_file=None, telegram_bot_token=TOKEN,
                                public_base_url="https://intempo.example.org",
                                telegram_webhook_secret=SECRET)
    telegram = install_telegram(runtime, request=api)
    app = wire_whatsapp(runtime)
    try:
        async with client_for(app) as web:
            world = World(runtime, web, api, telegram)
            await enrolled(runtime, CONSOLE[0])
            await enrolled(runtime, CONSOLE[1], org="koala", role=Role.OPERATOR, name="Luca")
            for phone in PHONES[:1]:
                await enrolled(runtime, phone, channel="whatsapp")
            await enrolled(runtime, str(TELEGRAM[0]), channel="telegram")
            for picks in ([0, 0, 0, 0], [2, 1, 1, 1]):  # money reserved from the start
                await walk_a_booking(world, picks, [None] * BOOKING_STEPS, "Via Roma 1")
            yield world
    finally:
        await runtime.close()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_nothing_that_comes_in_breaks_a_turn_or_the_store(request, database):
    url = request.getfixturevalue(f"{database}_url")
    loop = asyncio.new_event_loop()
    errors = Errors()
    logging.getLogger().addHandler(errors)
    world_context = world_on(url)
    try:
        world = loop.run_until_complete(world_context.__aenter__())

        @settings(max_examples=EXAMPLES[database], deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(actions)
        def each_example(steps):
            world.statuses.clear()
            errors.records.clear()
            for step in steps:
                loop.run_until_complete(act(world, step))
            assert all(status in (200, 400) for status in world.statuses), world.statuses
            loop.run_until_complete(check_invariants(world.runtime))
            assert not errors.records, [r.getMessage() for r in errors.records]

        each_example()

        async def booked() -> int:
            async with transaction(world.runtime.sessions) as session:
                return (await session.exec(select(func.count())
                                           .select_from(ServiceRequest))).one()
        # two booked before the examples; the walk books more, as it reaches the money
        print(f"{database}: {loop.run_until_complete(booked())} requests booked")
    finally:
        loop.run_until_complete(world_context.__aexit__(None, None, None))
        logging.getLogger().removeHandler(errors)
        loop.close()

