"""Input can never crash a turn: digits are 0-9 only, control characters never reach the
database (PostgreSQL refuses NUL), a MessageSid must have Twilio's form, and a turn that
fails unexpectedly is recorded and answered with an apology instead of failing again on
every redelivery."""

import httpx
import pytest
from sqlmodel import func, select

from bot.files import FileLinks
from bot.settings import Settings
from bot.telegram.channel import install
from bot.telegram.webhook import SECRET_HEADER
from bot.web import create_app
from handlers.flow import STEPS
from handlers.matching import match_choice
from handlers.messages import text
from handlers.types import Incoming
from handlers.untrusted import as_number, clean_id, clean_text, is_number
from models.db import transaction
from models.tables import ChatIdentity, ChoiceToken, Conversation, ProcessedUpdate
from tests.support.chat import Chatter, enrolled, new_code
from tests.support.fake_telegram import TOKEN, FakeBotApi, Updates
from tests.support.whatsapp import (
    STATUS,
    WEBHOOK,
    Phone,
    client_for,
    inbound_form,
    messages_of,
    post_signed,
    wire_whatsapp,
)

pytestmark = pytest.mark.asyncio
UNICODE_DIGITS = ["፩", "᧚", "²", "١", "߁", "𝟙", "፩፪", "1፩", "٣٤"]
SECRET = "fuzz-secret_token"
GIULIA = "+393331234567"


@pytest.mark.parametrize("typed", UNICODE_DIGITS)
async def test_a_number_is_written_with_0_to_9_only(typed):
    assert not is_number(typed) and as_number(typed) is None
    chosen = match_choice(typed, ["Commissioni", "Figli", "Anziani"])
    # '²' and '𝟙' are a 2 and a 1 once folded (NFKD), as the person meant; the others none
    assert chosen == {"²": [1], "𝟙": [0]}.get(typed, [])
    assert as_number("12") == 12 and as_number("9" * 5000) is None  # int() refuses those


async def test_control_characters_never_survive():
    assert clean_text("ciao\x00 mondo\ud800\n") == "ciao mondo"
    assert clean_id(" ab\x00c\x1f\u200b ") == "abc"
    incoming = Incoming("telegram", "12\x00", text="a\x00b\nc", payload="to\x00k",
                        display_name="Giu\x00lia", language_hint="e\x00n")
    assert (incoming.external_id, incoming.text, incoming.payload, incoming.display_name,
            incoming.language_hint) == ("12", "ab\nc", "tok", "Giulia", "en")


async def test_unicode_digits_at_every_step_are_answered(any_runtime):
    chat = await enrolled(any_runtime, "+393330000001")
    steps = [("press", "Nuova richiesta"), ("press", "Commissioni"), ("press", "Spesa"),
             ("say", "Crema"), ("press", "gio 26"), ("press", "10:00")]
    for action, value in steps:
        question = chat.last.text.split("\n\n")[-1]
        for typed in ("፩", "᧚", "١", "1፩"):
            assert question in await chat.say(typed)
        await (chat.press(value) if action == "press" else chat.say(value))
    assert "Indirizzo" in chat.last.text or "indirizzo" in chat.last.text


async def test_nul_in_text_and_payloads_on_postgres(pg_runtime):
    chat = await enrolled(pg_runtime, "+393330000002")
    answer = await chat.say("nuova\x00 richiesta")
    assert "Di che cosa hai bisogno" in answer
    payload = chat.last.choices[0].payload
    assert "Quale servizio" in await chat.send_payload(payload[:3] + "\x00" + payload[3:])
    stranger = Chatter(pg_runtime, "+39333\x000000003")
    await stranger.say("\x00ciao\x00")
    await stranger.send_payload("\x00\x00")
    async with transaction(pg_runtime.sessions) as session:
        ids = (await session.exec(select(ChatIdentity.external_id))).all()
    assert "+393330000003" in ids


async def test_nul_reaches_neither_database_through_the_webhooks(pg_runtime):
    api = FakeBotApi()
    pg_runtime.settings = Settings(
        database_url=pg_runtime.settings.database_url, _env_file=None,
        telegram_bot_token=TOKEN, public_base_url="https://intempo.example.org",
        telegram_webhook_secret=SECRET)
    channel = install(pg_runtime, request=api)
    app = wire_whatsapp(pg_runtime)
    async with client_for(app) as web:
        updates = Updates()
        press = updates.press(7001, api._message(7001, 5, "x", None), "ab\x00cd")
        press["callback_query"]["id"] = "9\x009"
        for update in (updates.message(7001, "ciao\x00"), updates.message(7001, "\x00"),
                       press):
            response = await web.post("/telegram/webhook", json=update,
                                      headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200
        await channel.processor.order.drain()
        assert len(api.sent(7001)) == 3
        for form in (inbound_form(GIULIA, "ciao\x00"),
                     inbound_form(GIULIA, "x", ButtonPayload="\x00tok\x00"),
                     inbound_form(GIULIA, "y", ProfileName="G\x00", NumMedia="፩")):
            assert messages_of(await post_signed(web, WEBHOOK, form))
    async with transaction(pg_runtime.sessions) as session:
        keys = (await session.exec(select(ProcessedUpdate.update_id))).all()
    assert len(keys) == 6 and not any("\x00" in key for key in keys)


@pytest.mark.parametrize("sid", ["SM1", "SM" + "g" * 32, "SM" + "a" * 33, "XX" + "a" * 32,
                                 "SM" + "a" * 31 + "\x00", " SM" + "a" * 32])
async def test_a_message_sid_not_of_twilios_form_is_a_bad_request(runtime, sid):
    async with client_for(wire_whatsapp(runtime)) as web:
        form = inbound_form(GIULIA, "ciao", sid=sid)
        assert (await post_signed(web, WEBHOOK, form)).status_code == 400
        form = inbound_form(GIULIA, "ciao", SmsSid=sid)  # every field that carries one
        assert (await post_signed(web, WEBHOOK, form)).status_code == 400
        status = {"MessageSid": sid, "MessageStatus": "delivered", "ErrorCode": "፩"}
        assert (await post_signed(web, STATUS, status)).status_code == 400
        mms = inbound_form(GIULIA, "ciao", sid="MM" + "0a" * 16)
        assert (await post_signed(web, WEBHOOK, mms)).status_code == 200
    async with transaction(runtime.sessions) as session:
        assert (await session.exec(select(func.count()).select_from(ProcessedUpdate))).one() == 1


async def test_odd_numbers_in_headers_and_links_are_refused_not_crashed(runtime):
    async with client_for(wire_whatsapp(runtime)) as web:
        form = inbound_form(GIULIA, "ciao")
        response = await web.post(WEBHOOK, data=form,
                                  headers={"Content-Length": "²".encode("latin-1")})
        assert response.status_code == 403
        status = {"MessageSid": form["MessageSid"], "MessageStatus": "failed",
                  "ErrorCode": "²"}
        assert (await post_signed(web, STATUS, status)).status_code == 200
    links = FileLinks(b"k" * 32, "https://intempo.example.org")
    now = runtime.clock()
    good = links.url(1, now).split("?", 1)[1]
    expires, signature = (part.split("=", 1)[1] for part in good.split("&"))
    assert links.valid(1, expires, signature, now)
    assert not links.valid(1, "²", signature, now)
    assert not links.valid(1, "9" * 5000, signature, now)
    assert not links.valid(1, expires, "é" * 64, now)


def failing_step(monkeypatch, name: str) -> None:
    """A bug in one step: its question cannot be written."""
    async def broken(turn):
        raise RuntimeError("a bug in the step")

    monkeypatch.setattr(STEPS[name], "prompt", broken)


async def test_an_unexpected_failure_on_whatsapp_is_an_apology_once(runtime, monkeypatch,
                                                                    caplog):
    async with client_for(wire_whatsapp(runtime)) as web:
        phone = Phone(web, GIULIA)
        await phone.say(await new_code(runtime))
        await phone.say("1")
        await phone.say("accetto")
        await phone.say("Giulia")
        assert "Fatto" in await phone.say("donna")
        async with transaction(runtime.sessions) as session:
            before = (await session.exec(select(Conversation))).one()
        failing_step(monkeypatch, "mine.list")
        form = inbound_form(GIULIA, "le mie richieste")
        response = await post_signed(web, WEBHOOK, form)
        assert messages_of(response) == [text("it", "error.apology")]
        assert form["MessageSid"] in caplog.text and "a bug in the step" in caplog.text
        # Twilio asks again only when it did not get the answer: the same apology, no turn
        assert messages_of(await post_signed(web, WEBHOOK, form)) == [
            text("it", "error.apology")]
    async with transaction(runtime.sessions) as session:
        after = (await session.exec(select(Conversation))).one()
        recorded = (await session.exec(select(ProcessedUpdate.update_id))).all()
    assert (after.step, after.seq) == (before.step, before.seq)  # nothing changed
    assert form["MessageSid"] in recorded


async def test_an_unexpected_failure_on_telegram_is_recorded_and_apologised(
        runtime, monkeypatch):
    api = FakeBotApi()
    runtime.settings = Settings(
        database_url=runtime.settings.database_url, _env_file=None, telegram_bot_token=TOKEN,
        public_base_url="https://intempo.example.org", telegram_webhook_secret=SECRET)
    channel = install(runtime, request=api)
    failing_step(monkeypatch, "welcome")
    update = Updates().message(8001, "hello", language="en")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime)),
                                 base_url="http://testserver") as client:
        for _ in range(2):  # the second time: Telegram delivering it again
            response = await client.post("/telegram/webhook", json=update,
                                         headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200
    await channel.processor.order.drain()
    assert [m["text"] for m in api.sent(8001)] == [text("en", "error.apology")]
    async with transaction(runtime.sessions) as session:
        assert len((await session.exec(select(ProcessedUpdate))).all()) == 1
        assert (await session.exec(select(ChoiceToken))).all() == []


async def test_a_malformed_telegram_update_is_acknowledged_and_ignored(runtime):
    api = FakeBotApi()
    runtime.settings = Settings(
        database_url=runtime.settings.database_url, _env_file=None, telegram_bot_token=TOKEN,
        public_base_url="https://intempo.example.org", telegram_webhook_secret=SECRET)
    channel = install(runtime, request=api)
    updates = Updates()
    wrong_text = updates.message(8002, "x")
    wrong_text["message"]["text"] = [None]
    wrong_chat = updates.message(8002, "x")
    wrong_chat["message"]["chat"]["id"] = {"a": 1}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime)),
                                 base_url="http://testserver") as client:
        for update in (wrong_text, wrong_chat):
            response = await client.post("/telegram/webhook", json=update,
                                         headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200
    await channel.processor.order.drain()
    assert api.sent() == []
    async with transaction(runtime.sessions) as session:
        assert (await session.exec(select(ProcessedUpdate))).all() == []


async def test_a_console_turn_that_fails_is_an_apology(runtime, monkeypatch):
    failing_step(monkeypatch, "welcome")
    chat = Chatter(runtime, "+393330000009")
    assert await chat.say("ciao") == text("it", "error.apology")
