"""The inbound WhatsApp webhook, driven with requests signed like Twilio signs them."""

import asyncio
import re

import pytest
import pytest_asyncio
from sqlmodel import select

from bot.whatsapp.inbound import handle, parse
from handlers.types import Reply
from models.db import transaction
from models.tables import (
    ChatIdentity,
    Conversation,
    Notice,
    Person,
    ProcessedUpdate,
    ServiceRequest,
)
from tests.support.chat import enrolled, new_code
from tests.support.whatsapp import (
    PUBLIC,
    WEBHOOK,
    Phone,
    client_for,
    count_rows,
    identity,
    inbound_form,
    messages_of,
    new_message_sid,
    post_signed,
    signature,
    wire_whatsapp,
)

GIULIA = "+393331234567"
MARCO = "+393401112233"


@pytest_asyncio.fixture
async def web(runtime):
    async with client_for(wire_whatsapp(runtime)) as client:
        yield client


async def enrol_on_whatsapp(phone: Phone, runtime, name: str = "Giulia") -> None:
    await phone.say(await new_code(runtime))
    await phone.say("1")
    await phone.say("accetto")
    await phone.say(name)
    assert "Fatto" in await phone.say("donna")


@pytest.mark.asyncio
async def test_a_worker_enrols_and_books_a_service_over_whatsapp(any_runtime):
    async with client_for(wire_whatsapp(any_runtime)) as client:
        phone = Phone(client, GIULIA)
        text = await phone.say(await new_code(any_runtime))
        assert "In che lingua" in text
        assert "1. Italiano\n2. English" in text
        assert "_Rispondi con il numero o con le parole di un'opzione._" in text
        assert "Informativa sulla privacy" in await phone.say("1")  # by number
        assert "Come ti chiami" in await phone.say("accetto")  # by a label's word
        await phone.say("Giulia")
        text = await phone.say("Donna")
        assert "Fatto, Giulia" in text and "1. ➕ Nuova richiesta" in text
        assert "Di che cosa hai bisogno" in await phone.say("nuova richiesta")
        assert "Quale servizio" in await phone.say("commissioni")
        assert "In quale comune" in await phone.say("1")
        assert "Che giorno" in await phone.say("Crema")
        assert "A che ora" in await phone.say("2")
        assert "A quale indirizzo" in await phone.say("1")
        assert "nota per l'operatore" in await phone.say("Via Mazzini 12")
        assert "Riepilogo" in await phone.say("nn")  # the first letters of "Nessuna nota"
        text = await phone.say("boh")  # an unexpected word: asked again, nothing booked
        assert "Non ho capito" in text and "Riepilogo" in text
        assert "1. ✅ Conferma" in text
        text = await phone.say("conferma")
        assert "Richiesta n. 1 confermata" in text

    async with transaction(any_runtime.sessions) as session:
        chat = (await session.exec(select(ChatIdentity).where(
            ChatIdentity.channel == "whatsapp"))).one()
        person = await session.get(Person, chat.person_id)
        booked = (await session.exec(select(ServiceRequest))).one()
        processed = (await session.exec(select(ProcessedUpdate))).all()
    assert chat.external_id == GIULIA and chat.last_inbound_at is not None
    assert person.first_name == "Giulia" and person.gender == "f"
    assert booked.worker_id == person.id and booked.address == "Via Mazzini 12"
    assert len(processed) == 15 and {p.channel for p in processed} == {"whatsapp"}


def _forged(params):
    return {"X-Twilio-Signature": signature(WEBHOOK, params, token="0" * 32)}


def _for_other_params(params):
    return {"X-Twilio-Signature": signature(WEBHOOK, {**params, "Body": "ciao"})}


def _for_other_url(params):
    return {"X-Twilio-Signature": signature(WEBHOOK, params, public="https://evil.example")}


def _for_the_internal_url(params):
    return {"X-Twilio-Signature": signature(WEBHOOK, params, public="http://10.0.0.7:8000")}


def _for_another_path(params):
    return {"X-Twilio-Signature": signature("/whatsapp/status", params)}


@pytest.mark.asyncio
@pytest.mark.parametrize("headers", [
    lambda params: {},
    lambda params: {"X-Twilio-Signature": ""},
    _forged, _for_other_params, _for_other_url, _for_the_internal_url, _for_another_path,
], ids=["missing", "empty", "forged", "other-params", "other-url", "internal-url",
        "other-path"])
async def test_unsigned_or_wrongly_signed_messages_are_refused(runtime, web, headers):
    params = inbound_form(GIULIA, await new_code(runtime))
    before = await count_rows(runtime)
    response = await web.post(WEBHOOK, data=params, headers=headers(params))
    assert response.status_code == 403
    assert await count_rows(runtime) == before == {
        "ChatIdentity": 0, "ProcessedUpdate": 0, "Notice": 0}


@pytest.mark.asyncio
async def test_a_query_string_is_part_of_what_is_signed(runtime, web):
    params = inbound_form(GIULIA, "ciao")
    path = WEBHOOK + "?source=twilio"
    good = {"X-Twilio-Signature": signature(path, params)}
    stale = {"X-Twilio-Signature": signature(WEBHOOK, params)}
    assert (await web.post(path, data=params, headers=stale)).status_code == 403
    assert "Benvenuta" in messages_of(await web.post(path, data=params, headers=good))[0]


@pytest.mark.asyncio
async def test_repeated_form_keys_are_signed_as_twilio_does(runtime, web):
    sid = new_message_sid()
    body = f"MessageSid={sid}&From=whatsapp%3A%2B393331234567&Body=ciao&X=b&X=a"
    params = {"MessageSid": sid, "From": "whatsapp:+393331234567", "Body": "ciao",
              "X": ["b", "a"]}
    headers = {"X-Twilio-Signature": signature(WEBHOOK, _MultiDict(params)),
               "Content-Type": "application/x-www-form-urlencoded"}
    response = await web.post(WEBHOOK, content=body, headers=headers)
    assert "Benvenuta" in messages_of(response)[0]


class _MultiDict(dict):
    def getall(self, key):
        value = self[key]
        return value if isinstance(value, list) else [value]


@pytest.mark.asyncio
async def test_the_same_message_sid_twice_has_one_effect(runtime, web):
    phone = Phone(web, GIULIA)
    await enrol_on_whatsapp(phone, runtime)
    form = inbound_form(GIULIA, "nuova richiesta")
    first = messages_of(await post_signed(web, WEBHOOK, form))
    async with transaction(runtime.sessions) as session:
        after_first = (await session.exec(select(Conversation))).one()
    again = await post_signed(web, WEBHOOK, form)  # Twilio retrying
    assert "Di che cosa hai bisogno" in first[0]
    assert messages_of(again) == first  # the answer it did not get, not a second turn
    async with transaction(runtime.sessions) as session:
        after_retry = (await session.exec(select(Conversation))).one()
        seen = (await session.exec(select(ProcessedUpdate).where(
            ProcessedUpdate.update_id == form["MessageSid"]))).all()
    assert (after_retry.step, after_retry.seq, after_retry.back) == \
        (after_first.step, after_first.seq, after_first.back) == \
        ("req.category", after_first.seq, ["home"])
    assert len(seen) == 1


@pytest.mark.asyncio
async def test_two_deliveries_of_one_message_at_once_have_one_effect(any_runtime):
    """Twilio's retry racing the first delivery: both transactions insert the MessageSid,
    one wins, the other gets the winner's replies (on PostgreSQL it waits for the winner's
    commit) and has no effect of its own."""
    form = inbound_form(MARCO, await new_code(any_runtime))
    message = parse(form)
    results = await asyncio.gather(*(handle(any_runtime.sessions, any_runtime.dialogue,
                                            message, any_runtime.clock) for _ in range(2)))
    assert sorted(r.again for r in results) == [False, True]
    assert results[0].replies[0].text == results[1].replies[0].text
    async with transaction(any_runtime.sessions) as session:
        conversation = (await session.exec(select(Conversation))).one()
    assert conversation.step == "onboarding.language" and conversation.seq == 1


@pytest.mark.asyncio
async def test_stop_opts_out_and_start_opts_back_in(runtime, web, clock):
    phone = Phone(web, GIULIA)
    await enrol_on_whatsapp(phone, runtime)
    await phone.say("nuova richiesta")  # a request in progress…
    await phone.say("commissioni")
    text = await phone.say("STOP")
    assert "Non riceverai più messaggi" in text
    chat = await identity(runtime, GIULIA)
    assert chat.opted_out_at == clock.now and chat.person_id is not None

    clock.advance(minutes=5)
    text = await phone.say("Start")
    assert text == "Bentornata/o: i messaggi di IN...TEMPO su questo numero sono di nuovo " \
                   "attivi."
    chat = await identity(runtime, GIULIA)
    assert chat.opted_out_at is None and chat.last_inbound_at == clock.now
    assert "In quale comune" in await phone.say("1")  # …goes on where it was

    assert "Non riceverai più" in await phone.say("annulla iscrizione")
    assert (await identity(runtime, GIULIA)).opted_out_at is not None
    assert "di nuovo attivi" in await phone.say("START")
    assert "Non riceverai più" in await phone.say("Annulla l'iscrizione")
    assert "di nuovo attivi" in await phone.say("start")


@pytest.mark.asyncio
async def test_a_quick_reply_payload_is_a_pressed_choice(runtime, web):
    """A quick-reply button (ButtonPayload, Body empty) carries one of our choice tokens."""
    phone = Phone(web, GIULIA)
    await enrol_on_whatsapp(phone, runtime)
    async with transaction(runtime.sessions) as session:
        conversation = (await session.exec(select(Conversation))).one()
    new_request = next(c for c in conversation.choices if "Nuova richiesta" in c["label"])
    text = await phone.say("", ButtonPayload=new_request["token"], ButtonText="Nuova richiesta")
    assert "Di che cosa hai bisogno" in text
    assert "non è più valida" in await phone.say("", ButtonPayload=new_request["token"])


@pytest.mark.asyncio
async def test_start_from_a_number_that_never_opted_out_is_just_the_menu(runtime, web):
    phone = Phone(web, GIULIA)
    await enrol_on_whatsapp(phone, runtime)
    text = await phone.say("start")
    assert "di nuovo attivi" not in text and "Cosa vuoi fare?" in text


@pytest.mark.asyncio
async def test_twilio_advanced_opt_out_is_honoured(runtime, web):
    phone = Phone(web, GIULIA)
    await phone.say("Basta così", OptOutType="STOP")
    assert (await identity(runtime, GIULIA)).opted_out_at is not None


@pytest.mark.asyncio
async def test_an_opted_out_number_gets_no_notices(runtime, web):
    from models.outbox import queue_notice

    phone = Phone(web, GIULIA)
    await enrol_on_whatsapp(phone, runtime)
    await phone.say("stop")
    chat = await identity(runtime, GIULIA)
    async with transaction(runtime.sessions) as session:
        await queue_notice(session, person_id=chat.person_id, kind="coordinator.unserved",
                           params={"request_id": 1, "municipality": "Crema"},
                           dedupe_key="t", now=runtime.clock())
    await runtime.dispatcher().run_once()
    async with transaction(runtime.sessions) as session:
        notice = (await session.exec(select(Notice))).one()
    assert notice.channel is None and notice.sent_at is None  # the sender was never called


@pytest.mark.asyncio
async def test_a_telegram_account_and_a_whatsapp_number_become_one_person(runtime, web):
    telegram = await enrolled(runtime, "777000111", channel="telegram", name="Anna")
    text = await telegram.press("Collega")
    code = re.search(r"\b(\d{6})\b", text).group(1)
    text = await Phone(web, MARCO).say(code)
    assert "Fatto, Anna: questa chat è collegata" in text
    assert "Cosa vuoi fare?" in text
    whatsapp, tg = await identity(runtime, MARCO), await identity(runtime, "777000111",
                                                                 "telegram")
    assert whatsapp.person_id == tg.person_id is not None


@pytest.mark.asyncio
async def test_a_whatsapp_number_links_a_telegram_chat(runtime, web):
    phone = Phone(web, GIULIA)
    await enrol_on_whatsapp(phone, runtime)
    text = await phone.say("collega")
    code = re.search(r"\b(\d{6})\b", text).group(1)
    from tests.support.chat import Chatter

    telegram = Chatter(runtime, "555000999", "telegram")
    assert "collegata" in await telegram.say(code)
    assert (await identity(runtime, GIULIA)).person_id == \
        (await identity(runtime, "555000999", "telegram")).person_id


@pytest.mark.asyncio
@pytest.mark.parametrize("extra", [
    {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/media/ME1",
     "MediaContentType0": "image/jpeg", "MessageType": "image"},
    {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/media/ME2",
     "MediaContentType0": "audio/ogg", "MessageType": "audio"},
    {"Latitude": "45.3628", "Longitude": "9.6849", "MessageType": "location"},
], ids=["photo", "voice", "location"])
async def test_media_location_and_voice_get_a_text_only_reply(runtime, web, clock, extra):
    phone = Phone(web, GIULIA)
    await enrol_on_whatsapp(phone, runtime)
    await phone.say("nuova richiesta")
    clock.advance(hours=2)
    text = await phone.say("", **extra)
    assert text == "Mi dispiace, qui posso leggere solo testo. Scrivi la tua risposta con " \
                   "un messaggio."
    async with transaction(runtime.sessions) as session:
        conversation = (await session.exec(select(Conversation))).one()
    assert conversation.step == "req.category"  # where they were
    assert (await identity(runtime, GIULIA)).last_inbound_at == clock.now  # window reopened


@pytest.mark.asyncio
async def test_a_long_reply_is_split_into_whatsapp_sized_messages(runtime, web):
    paragraphs = [f"Paragrafo {n}: " + " ".join(["parola"] * 95) for n in range(1, 6)]
    long_reply = Reply("\n\n".join(paragraphs))  # 3,400 characters: two paragraphs fit

    class LongWinded:  # stands in for the dialogue: only the rendering is under test
        async def handle_in(self, session, incoming):
            return [long_reply]

    runtime.dialogue = LongWinded()
    parts = messages_of(await post_signed(web, WEBHOOK, inbound_form(GIULIA, "ciao")))
    assert parts == ["\n\n".join(paragraphs[0:2]), "\n\n".join(paragraphs[2:4]),
                     paragraphs[4]]
    assert all(len(part) <= 1600 for part in parts)


@pytest.mark.asyncio
async def test_a_signed_request_that_is_not_a_message_is_a_bad_request(runtime, web):
    response = await post_signed(web, WEBHOOK, {"From": "whatsapp:+393331234567"})
    assert response.status_code == 400
    response = await post_signed(web, WEBHOOK, {"MessageSid": "SM9", "From": "whatsapp:12"})
    assert response.status_code == 400
    sms = inbound_form(GIULIA, "ciao", From=GIULIA)  # an SMS to the same Twilio number
    assert (await post_signed(web, WEBHOOK, sms)).status_code == 400
    assert await count_rows(runtime) == {"ChatIdentity": 0, "ProcessedUpdate": 0,
                                         "Notice": 0}


@pytest.mark.asyncio
async def test_without_public_base_url_the_url_seen_is_checked(runtime):
    app = wire_whatsapp(runtime, public=None)
    async with client_for(app) as client:
        params = inbound_form(GIULIA, "ciao")
        seen = {"X-Twilio-Signature": signature(WEBHOOK, params,
                                                public="http://10.0.0.7:8000")}
        assert (await client.post(WEBHOOK, data=params, headers=seen)).status_code == 200
        public = {"X-Twilio-Signature": signature(WEBHOOK, params, public=PUBLIC)}
        params2 = {**params, "MessageSid": "SMother"}
        assert (await client.post(WEBHOOK, data=params2, headers=public)).status_code == 403
