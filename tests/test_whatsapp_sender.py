"""The WhatsApp outbox sender: the real twilio client (async, aiohttp) sending over HTTP to
a Twilio-compatible server on loopback — our fake (tests/support/fake_twilio.py), which
records each request, and Stoplight Prism serving Twilio's own OpenAPI description."""

import json
import re
import socket
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlmodel import select

from bot.whatsapp.sender import WhatsAppSender
from bot.whatsapp.settings import WhatsAppSettings
from handlers.types import Choice, Reply
from models.db import transaction
from models.outbox import queue_notice
from models.tables import ChatIdentity, Notice, ServiceRequest
from tests.support.chat import enrolled
from tests.support.outbox import load_notice
from tests.support.whatsapp import (
    ACCOUNT_SID,
    FROM,
    PUBLIC,
    TEMPLATE_SID,
    Phone,
    client_for,
    identity,
    wire_whatsapp,
)

GIULIA = "+393331234567"
UNSERVED = {"request_id": 7, "service": "Spesa a domicilio", "place": "Crema",
            "when": "giovedì 26 novembre, 08:00"}
UNSERVED_TEXT = ("⚠️ Richiesta n. 7 senza cooperativa: Spesa a domicilio, Crema, giovedì 26 "
                 "novembre, 08:00. Nessuna cooperativa può svolgerla: serve un intervento del "
                 "coordinamento.")
TEMPLATES = WhatsAppSettings(coordinator_unserved=TEMPLATE_SID, _env_file=None)
# the twilio library's own use of aiohttp's deprecated BasicAuth, not ours
pytestmark = [pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:The 'auth' parameter:DeprecationWarning")]




@pytest_asyncio.fixture
async def app(runtime, twilio):
    return wire_whatsapp(runtime, api_base_url=twilio.base_url, templates=TEMPLATES)


@pytest.fixture
def sender(runtime, app) -> WhatsAppSender:
    return runtime.senders["whatsapp"]


async def queue_for(runtime, number: str, channel: str = "whatsapp", key: str = "n1") -> int:
    chat = await identity(runtime, number, channel)
    async with transaction(runtime.sessions) as session:
        await queue_notice(session, person_id=chat.person_id, kind="coordinator.unserved",
                           params=UNSERVED, dedupe_key=key, now=runtime.clock())
        return (await session.exec(select(Notice).where(Notice.dedupe_key == key))).one().id


def chat(hours_since_last_message: float | None, now) -> ChatIdentity:
    last = None if hours_since_last_message is None \
        else now - timedelta(hours=hours_since_last_message)
    return ChatIdentity(channel="whatsapp", external_id=GIULIA, last_inbound_at=last)


def unserved_notice() -> Notice:
    return Notice(kind="coordinator.unserved", params=UNSERVED, status="pending",
                  dedupe_key="x")


@pytest.mark.asyncio
async def test_inside_the_window_a_notice_goes_as_free_text(runtime, app, twilio, clock):
    await enrolled(runtime, GIULIA, channel="whatsapp")
    clock.advance(hours=23)
    notice_id = await queue_for(runtime, GIULIA)
    assert await runtime.dispatcher().run_once() == 1

    [request] = twilio.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.headers["authorization"].startswith("Basic ")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form == {"To": [f"whatsapp:{GIULIA}"], "From": [FROM],
                            "Body": [UNSERVED_TEXT],
                            # the notice is named, so Twilio's news tells which one went
                            "StatusCallback": [f"{PUBLIC}/whatsapp/status?notice={notice_id}"]}
    sent = await load_notice(runtime, notice_id)
    assert (sent.status, sent.channel) == ("sent", "whatsapp")
    assert sent.provider_message_id == f"SM{1:032x}"


@pytest.mark.asyncio
async def test_outside_the_window_the_kinds_template_is_sent(sender, twilio, clock):
    result = await sender.send(chat(25, clock.now), Reply(UNSERVED_TEXT), unserved_notice())
    assert result.ok and result.provider_message_id == f"SM{1:032x}"
    [request] = twilio.requests
    assert "Body" not in request.form
    assert request.one("ContentSid") == TEMPLATE_SID
    assert json.loads(request.one("ContentVariables")) == {"1": UNSERVED_TEXT}
    assert request.one("StatusCallback") == f"{PUBLIC}/whatsapp/status"


@pytest.mark.asyncio
async def test_a_template_variable_is_one_line(sender, twilio, clock):
    reply = Reply("Prima riga\n\nSeconda   riga\tcon spazi", (Choice("Sì", "t1"),))
    await sender.send(chat(None, clock.now), reply, unserved_notice())
    assert json.loads(twilio.requests[0].one("ContentVariables")) == {
        "1": "Prima riga · Seconda riga con spazi · 1. Sì"}


@pytest.mark.asyncio
@pytest.mark.parametrize("notice_given", [True, False], ids=["kind-without-template",
                                                             "no-notice"])
async def test_outside_the_window_without_a_template_the_notice_is_held(
        runtime, twilio, clock, notice_given):
    wire_whatsapp(runtime, api_base_url=twilio.base_url,
                  templates=WhatsAppSettings(_env_file=None))
    sender = runtime.senders["whatsapp"]
    result = await sender.send(chat(24, clock.now), Reply(UNSERVED_TEXT),
                               unserved_notice() if notice_given else None)
    assert (result.ok, result.hold, result.error) == (False, True, "whatsapp_window")
    assert twilio.requests == []


@pytest.mark.asyncio
async def test_an_opted_out_number_is_never_sent_to(sender, twilio, clock):
    opted_out = chat(1, clock.now)
    opted_out.opted_out_at = clock.now
    result = await sender.send(opted_out, Reply("Ciao"), unserved_notice())
    assert (result.ok, result.hold) == (False, True) and twilio.requests == []


@pytest.mark.asyncio
async def test_a_held_notice_goes_out_when_the_person_writes_again(runtime, app, twilio,
                                                                   clock):
    await enrolled(runtime, GIULIA, channel="whatsapp")
    runtime.senders["whatsapp"].templates = WhatsAppSettings(_env_file=None)  # none set up
    clock.advance(hours=30)
    notice_id = await queue_for(runtime, GIULIA)
    await runtime.dispatcher().run_once()  # outside the window, no template: held
    held = await load_notice(runtime, notice_id)
    assert (held.status, held.held_reason) == ("held", "whatsapp_window")
    assert twilio.requests == []

    async with client_for(app) as client:
        await Phone(client, GIULIA).say("menu")
    await runtime.dispatcher().run_once()
    sent = await load_notice(runtime, notice_id)
    assert sent.status == "sent" and sent.provider_message_id == f"SM{1:032x}"
    assert [r.one("Body") for r in twilio.requests] == [UNSERVED_TEXT]


@pytest.mark.asyncio
async def test_outside_the_window_the_persons_other_chat_gets_it(runtime, app, twilio, clock):
    console = await enrolled(runtime, "+393331234567", channel="console")
    code = re.search(r"\b(\d{6})\b", await console.press("Collega")).group(1)
    clock.advance(minutes=1)
    async with client_for(app) as client:
        assert "collegata" in await Phone(client, "+393409998877").say(code)
    clock.advance(hours=26)  # WhatsApp is the chat written from last, but its window shut
    runtime.senders["whatsapp"].templates = WhatsAppSettings(_env_file=None)  # none set up
    notice_id = await queue_for(runtime, "+393409998877")
    await runtime.dispatcher().run_once()
    delivered = await load_notice(runtime, notice_id)
    assert (delivered.status, delivered.channel) == ("delivered", "console")
    assert twilio.requests == []


@pytest.mark.asyncio
@pytest.mark.parametrize(("http", "code", "expected"), [
    (429, 20429, "retry"),
    (503, 20503, "retry"),
    (500, 20500, "retry"),
    (400, 63018, "retry"),
    (400, 21408, "give-up"),
    (400, 21211, "unreachable"),
    (400, 21610, "unreachable"),
    (400, 63003, "unreachable"),
    (400, 63016, "hold"),
])
async def test_twilio_errors_are_classified(sender, twilio, clock, http, code, expected):
    twilio.fail_next(http, code)
    result = await sender.send(chat(1, clock.now), Reply("Ciao"))
    assert len(twilio.requests) == 1 and not result.ok
    outcome = ("hold" if result.hold else "unreachable" if result.unreachable
               else "give-up" if result.permanent else "retry")
    assert outcome == expected
    assert result.error == "whatsapp_window" if code == 63016 else str(code) in result.error


@pytest.mark.asyncio
async def test_a_transient_error_is_retried_with_back_off(runtime, app, twilio, clock):
    await enrolled(runtime, GIULIA, channel="whatsapp")
    notice_id = await queue_for(runtime, GIULIA)
    twilio.fail_next(503, 20503, "Service Unavailable")
    await runtime.dispatcher().run_once()
    waiting = await load_notice(runtime, notice_id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "20503" in waiting.last_error and waiting.next_attempt_at > clock.now

    clock.now = waiting.next_attempt_at
    await runtime.dispatcher().run_once()
    sent = await load_notice(runtime, notice_id)
    assert sent.status == "sent" and len(twilio.requests) == 2 and len(twilio.sent) == 1


@pytest.mark.asyncio
async def test_a_permanent_error_is_recorded_and_not_retried(runtime, app, twilio, clock):
    await enrolled(runtime, GIULIA, channel="whatsapp")
    notice_id = await queue_for(runtime, GIULIA)
    twilio.fail_next(400, 21408, "Permission to send an SMS has not been enabled")
    await runtime.dispatcher().run_once()
    failed = await load_notice(runtime, notice_id)
    assert failed.status == "failed" and failed.last_error.startswith("twilio 21408")
    clock.advance(hours=2)
    assert await runtime.dispatcher().run_once() == 0 and len(twilio.requests) == 1


@pytest.mark.asyncio
async def test_a_number_without_whatsapp_is_marked_and_the_notice_waits(runtime, app, twilio):
    await enrolled(runtime, GIULIA, channel="whatsapp")
    notice_id = await queue_for(runtime, GIULIA)
    twilio.fail_next(400, 63003, "Channel could not find To address")
    await runtime.dispatcher().run_once()
    assert (await identity(runtime, GIULIA)).unreachable_at is not None
    assert (await load_notice(runtime, notice_id)).status == "held"


@pytest.mark.asyncio
async def test_twilio_unreachable_is_a_transient_error(runtime, clock):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there any more
    wire_whatsapp(runtime, api_base_url=f"http://127.0.0.1:{port}", templates=TEMPLATES)
    result = await runtime.senders["whatsapp"].send(chat(1, clock.now), Reply("Ciao"))
    assert not result.ok and not result.permanent and result.error.startswith("network")


@pytest.mark.asyncio
async def test_a_long_notice_goes_in_parts_in_order(sender, twilio, clock):
    text = "\n\n".join(f"Parte {n}: " + " ".join(["testo"] * 200) for n in range(1, 4))
    result = await sender.send(chat(1, clock.now), Reply(text))
    bodies = [r.one("Body") for r in twilio.requests]
    assert [b.split(":")[0] for b in bodies] == ["Parte 1", "Parte 2", "Parte 3"]
    assert all(len(b) <= 1600 for b in bodies) and "\n\n".join(bodies) == text
    assert result.ok and result.provider_message_id == f"SM{3:032x}"


@pytest.mark.asyncio
async def test_a_notice_with_buttons_numbers_them_and_says_how_to_act(sender, twilio, clock):
    reply = Reply("Nuovo lavoro: spesa a Crema, giovedì alle 8.",
                  (Choice("Accetto", "t1"), Choice("Rifiuto", "t2")),
                  hint="Per accettare: scrivi «menu».", notice=True)
    await sender.send(chat(1, clock.now), reply)
    await sender.send(chat(30, clock.now), reply, unserved_notice())
    free_text, template = twilio.requests
    assert free_text.one("Body") == "Nuovo lavoro: spesa a Crema, giovedì alle 8.\n\n" \
                                    "1. Accetto\n2. Rifiuto\n_Per accettare: scrivi «menu»._"
    assert json.loads(template.one("ContentVariables")) == {
        "1": "Nuovo lavoro: spesa a Crema, giovedì alle 8. · 1. Accetto · 2. Rifiuto · "
             "Per accettare: scrivi «menu»."}


# --- the same client against Stoplight Prism serving Twilio's OpenAPI description --------

@pytest.mark.asyncio
async def test_prism_accepts_our_free_text_and_template_requests(runtime, prism_url,
                                                                 clock):
    """Prism checks each request against Twilio's OpenAPI description (422 if invalid,
    401 without Basic auth) and answers with the description's example message."""
    wire_whatsapp(runtime, api_base_url=prism_url, templates=TEMPLATES)
    sender = runtime.senders["whatsapp"]
    free = await sender.send(chat(1, clock.now), Reply(UNSERVED_TEXT))
    template = await sender.send(chat(48, clock.now), Reply(UNSERVED_TEXT), unserved_notice())
    for result in (free, template):
        assert result.ok, result.error
        assert result.provider_message_id.startswith("SM")


@pytest.mark.asyncio
async def test_the_dispatcher_sends_a_template_outside_the_window(runtime, app, twilio, clock):
    await enrolled(runtime, GIULIA, channel="whatsapp")
    clock.advance(hours=30)
    notice_id = await queue_for(runtime, GIULIA)
    await runtime.dispatcher().run_once()
    sent = await load_notice(runtime, notice_id)
    assert (sent.status, sent.channel) == ("sent", "whatsapp")
    [request] = twilio.requests
    assert request.one("ContentSid") == TEMPLATE_SID and request.one("Body") is None


@pytest.mark.asyncio
async def test_a_numbered_notice_is_answered_by_typing_its_number(runtime, app, twilio,
                                                                 clock):
    """An operator on WhatsApp gets a job offer with numbered choices and answers «1»;
    once they have moved on in the chat, «1» belongs to the conversation again."""
    from models.base import Role
    from tests.support.booking import book_through_dialogue
    from tests.support.chat import enrolled as console_enrolled
    from tests.support.chat import new_code
    from tests.support.whatsapp import Phone, client_for

    async with client_for(app) as client:
        operator = Phone(client, "+393401112233")
        await operator.say(await new_code(runtime, "koala", Role.OPERATOR))
        await operator.say("1")
        await operator.say("accetto")
        assert "Fatto" in await operator.say("Paola")
        worker = await console_enrolled(runtime, "+393331110001", org="ali")
        assert "affidata a Koala" in await book_through_dialogue(
            worker, service="Babysitting", category="figli", when="venerdì alle 18")
        clock.advance(minutes=1)
        await runtime.dispatcher().run_once()
        offer = twilio.requests[-1].one("Body")
        assert "1. ✅ Accetto\n2. ❌ Rifiuto" in offer and "Rispondi con il numero" in offer
        assert "è tuo" in await operator.say("1")
        # the job's details are now the last thing shown: «1» is their first option
        assert "non puoi più svolgere questo lavoro" in await operator.say("1")
    async with transaction(runtime.sessions) as session:
        request = (await session.exec(select(ServiceRequest))).one()
    assert request.status == "assigned"
