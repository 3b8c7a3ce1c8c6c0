"""LOG_FORMAT=json: one JSON object per line, with the chat as a short hash and the notice
or update id where there is one; no personal data at INFO (a whole WhatsApp booking,
forged and unreadable webhooks, a failing sender, the libraries' own request logs)."""

import io
import json
import logging

import pytest
from pydantic import SecretStr

from bot import logs
from bot.settings import Settings
from models.db import transaction
from models.outbox import queue_notice
from models.people import identity_for
from scheduler.dispatcher import Dispatcher
from tests.support.chat import new_code
from tests.support.whatsapp import (
    WEBHOOK,
    Phone,
    client_for,
    inbound_form,
    post_signed,
    wire_whatsapp,
)

NUMBER = "+393471239876"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"


@pytest.fixture
def json_lines():
    """The root logger writing JSON lines at INFO into a buffer (restored afterwards)."""
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    buffer = io.StringIO()
    logs.configure(Settings(log_format="json", log_level="INFO",
                            signing_secret=SecretStr("k" * 32), _env_file=None), buffer)
    yield buffer
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


class Broken:
    channel = "whatsapp"

    async def send(self, identity, reply, notice=None):
        raise RuntimeError(f"cannot reach {identity.external_id}")


@pytest.mark.asyncio
async def test_json_lines_carry_context_and_no_personal_data(runtime, json_lines):
    async with client_for(wire_whatsapp(runtime)) as client:
        phone = Phone(client, NUMBER)
        await phone.say(await new_code(runtime))
        for answer in ("1", "accetto", "Ermenegilda", "donna", "nuova richiesta",
                       "commissioni", "1", "Crema", "2", "1", "Via Garibaldi 41",
                       "il citofono è rotto", "conferma"):
            await phone.say(answer)
        assert "confermata" in phone.last[-1]
        await phone.say("Ciao", ButtonPayload="zzzzzzzz")  # a foreign button: logged
        again = inbound_form(NUMBER, "menu")
        await post_signed(client, WEBHOOK, again)
        await post_signed(client, WEBHOOK, again)  # Twilio retrying: logged at INFO
        forged = await client.post(WEBHOOK, data=inbound_form(NUMBER, "Via Garibaldi 41"),
                                   headers={"X-Twilio-Signature": "forged"})
        assert forged.status_code == 403
        unreadable = await post_signed(client, WEBHOOK, {"From": f"whatsapp:{NUMBER}"})
        assert unreadable.status_code == 400

    async with transaction(runtime.sessions) as session:
        person_id = (await identity_for(session, "whatsapp", NUMBER)).person_id
        await queue_notice(session, person_id=person_id, kind="coordinator.digest",
                           params={"text": "Ermenegilda, Via Garibaldi 41"},
                           dedupe_key="log-test", now=runtime.clock())
    await Dispatcher(runtime.sessions, {"whatsapp": Broken()},
                     clock=runtime.clock).run_once()
    logging.getLogger("httpx").info(f"HTTP Request: POST https://api.telegram.org/bot{TOKEN}"
                                    "/sendMessage")
    logging.getLogger("intempo.test").warning("token %s for %s", TOKEN, NUMBER)

    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    assert lines, "nothing was logged"
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line)
    everything = json_lines.getvalue()
    for personal in (NUMBER, NUMBER[1:], NUMBER[3:], "Ermenegilda", "Garibaldi", "citofono",
                     TOKEN, TOKEN.split(":")[1]):
        assert personal not in everything, personal

    chat = logs.hashed(NUMBER)
    stale = [line for line in lines if "stale or foreign choice" in line["message"]]
    assert stale and stale[0]["chat"] == chat
    assert any("handled before" in line["message"] for line in lines)
    assert any("wrong Twilio signature" in line["message"] for line in lines)
    failed = [line for line in lines if line["message"] == "sender whatsapp failed"]
    assert failed and failed[0]["level"] == "ERROR" and isinstance(failed[0]["notice_id"], int)
    assert "RuntimeError" in failed[0]["exception"] and chat in failed[0]["exception"]
    scrubbed = next(line for line in lines if line["logger"] == "intempo.test")
    assert scrubbed["message"] == f"token <token> for {chat}"
    assert not any(line["logger"] == "httpx" for line in lines)  # kept at WARNING


def test_text_format_is_scrubbed_too():
    buffer = io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        logs.configure(Settings(_env_file=None), buffer)
        logging.getLogger("intempo.test").info("chat whatsapp:%s wrote", NUMBER)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    line = buffer.getvalue()
    assert "INFO intempo.test: chat #" in line and NUMBER not in line
    assert not line.lstrip().startswith("{")


def test_access_lines_lose_the_address_and_the_signed_query(json_lines):
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "203.0.113.9:50412", "GET",
        "/files/12?expires=1800000000&signature=c2VjcmV0", "1.1", 200)
    line = json.loads(json_lines.getvalue().splitlines()[-1])
    assert line["message"] == f'{logs.hashed("203.0.113.9")} - "GET /files/12 HTTP/1.1" 200'


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_telegram_lines_carry_the_update_id_and_the_chat_hashed(runtime, json_lines):
    from telegram import Update

    from bot.telegram.channel import install
    from tests.support.fake_telegram import TOKEN as BOT_TOKEN
    from tests.support.fake_telegram import FakeBotApi, TelegramChat, Updates

    chat_id = 918273645
    api = FakeBotApi()
    runtime.settings = Settings(database_url=runtime.settings.database_url, _env_file=None,
                                telegram_bot_token=BOT_TOKEN)
    channel = install(runtime, request=api)
    chat = TelegramChat(channel, api, Updates(), chat_id)
    await chat.enrol(await new_code(runtime), name="Ermenegilda")
    old_keyboard = chat.keyboard_message()
    await chat.say("menu")
    stale = chat.press_update(chat.button("Nuova", old_keyboard)["text"], old_keyboard)
    await chat.deliver(stale)  # a button of an old keyboard: refused, logged at INFO
    await channel.processor.process(Update.de_json(stale, channel.bot))  # a replay

    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    everything = json_lines.getvalue()
    for personal in (str(chat_id), "Ermenegilda", BOT_TOKEN):
        assert personal not in everything, personal
    refused = next(line for line in lines if "stale or foreign choice" in line["message"])
    assert refused["update_id"] == stale["update_id"]
    assert refused["chat"] == logs.hashed(chat_id)
    replay = next(line for line in lines if "handled before" in line["message"])
    assert replay["update_id"] == stale["update_id"]
