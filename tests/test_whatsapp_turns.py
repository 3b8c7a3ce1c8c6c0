"""The webhook that answers at once (the default, WHATSAPP_REPLY_MODE=rest): the message
is stored and acknowledged with empty TwiML, the turn runs right after, and the replies
go out through the REST API as buttons and lists — a whole worker story by taps, and one
by typed answers; a message stored by a process that died is answered once after the
restart; on PostgreSQL, two processes looking for it take it once."""

import asyncio

import pytest
from sqlmodel import select

from bot.runtime import start_runtime
from bot.settings import Settings
from bot.whatsapp.inbound import parse
from models.db import transaction
from models.tables import ProcessedUpdate, ServiceRequest
from models.whatsapp_inbox import WhatsAppInbound, claim_next
from tests.support.chat import new_code
from tests.support.whatsapp import (
    TWILIO_CLIENT_WARNINGS,
    WEBHOOK,
    TappingPhone,
    client_for,
    inbound_form,
    messages_of,
    new_message_sid,
    post_signed,
    wire_whatsapp,
)

GIULIA = "+393331234567"
pytestmark = TWILIO_CLIENT_WARNINGS


@pytest.fixture
def twilio(twilio_with_content):
    return twilio_with_content


def rest_app(runtime, twilio):
    return wire_whatsapp(runtime, api_base_url=twilio.base_url, reply_mode="rest")


def runner_of(runtime):
    return runtime.senders["whatsapp"].runner


async def requests_of(runtime) -> list[ServiceRequest]:
    async with transaction(runtime.sessions) as session:
        return list((await session.exec(select(ServiceRequest))).all())


@pytest.mark.asyncio
async def test_a_worker_enrols_and_books_by_tapping(runtime, twilio):
    app = rest_app(runtime, twilio)
    async with client_for(app) as client:
        phone = TappingPhone(client, GIULIA, twilio, runner_of(runtime))
        await phone.say(await new_code(runtime, "koala"))
        assert phone.last[-1].kind == "buttons" and "Italiano" in phone.taps
        await phone.tap("Italiano")
        await phone.tap("Accetto")
        await phone.say("Giulia")  # a name is typed
        assert "Fatto" in await phone.tap("Donna")
        await phone.tap("Nuova richiesta")
        await phone.tap("Commissioni")
        assert phone.last[-1].kind == "list"
        await phone.tap("Spesa")
        if "Crema" in phone.taps:
            await phone.tap("Crema")
        else:
            await phone.say("Crema")
        # 12 days and the way back are 14 choices, more than a list holds: numbered text,
        # answered with a number as shown
        assert phone.last[-1].kind == "text" and "\n2. " in phone.last[-1].text
        await phone.say("2")
        if "ora" in phone.last[-1].text.split("\n")[0]:
            times = [title for title in phone.taps if ":" in title]
            if times:
                await phone.tap(times[0])
            else:
                await phone.say("1")
        await phone.say("Via Mazzini 12")  # an address is typed
        await phone.tap("Nessuna nota")
        confirmation = await phone.tap("Conferma")
    assert "affidata a Koala" in confirmation or "Richiesta n." in confirmation
    [booked] = await requests_of(runtime)
    assert booked.address == "Via Mazzini 12"
    # every choice went as buttons or a list, and every tap came back as a token
    interactive = [r for r in twilio.sent if r.one("ContentSid")]
    assert len(interactive) >= 10 and all(r.one("Body") is None for r in interactive)


@pytest.mark.asyncio
async def test_the_same_story_by_typed_answers(runtime, twilio):
    app = rest_app(runtime, twilio)
    async with client_for(app) as client:
        phone = TappingPhone(client, GIULIA, twilio, runner_of(runtime))
        await phone.say(await new_code(runtime, "koala"))
        await phone.say("italiano")
        await phone.say("accetto")
        await phone.say("Giulia")
        assert "Fatto" in await phone.say("donna")
        await phone.say("nuova richiesta")
        await phone.say("commissioni")
        await phone.say("spesa")
        await phone.say("Crema")
        await phone.say("domani alle 15")
        if "ora" in phone.last[-1].text:
            await phone.say("15:00")
        await phone.say("Via Mazzini 12")
        await phone.say("nessuna nota")
        await phone.say("conferma")
    [booked] = await requests_of(runtime)
    assert booked.address == "Via Mazzini 12"


@pytest.mark.asyncio
async def test_the_webhook_acknowledges_before_the_turn_and_a_retry_adds_nothing(
        runtime, twilio):
    app = rest_app(runtime, twilio)
    form = inbound_form(GIULIA, "ciao")
    async with client_for(app) as client:
        first = await post_signed(client, WEBHOOK, form)
        assert messages_of(first) == []
        async with transaction(runtime.sessions) as session:  # stored, turn not yet run
            [row] = (await session.exec(select(WhatsAppInbound))).all()
            assert row.message_sid == form["MessageSid"] and row.handled_at is None
        await runner_of(runtime).settle()
        again = await post_signed(client, WEBHOOK, form)  # Twilio's retry
        assert messages_of(again) == []
        await runner_of(runtime).settle()
        forged = await client.post(WEBHOOK, data=form,
                                   headers={"X-Twilio-Signature": "forged"})
        assert forged.status_code == 403
    assert len(twilio.sent) == 1  # one welcome, sent once
    async with transaction(runtime.sessions) as session:
        [row] = (await session.exec(select(WhatsAppInbound))).all()
        assert row.done_at is not None and row.message == {} and row.replies == []


@pytest.mark.asyncio
async def test_messages_of_one_chat_are_answered_in_their_order(runtime, twilio):
    app = rest_app(runtime, twilio)
    code = await new_code(runtime, "koala")
    async with client_for(app) as client:
        for text in (code, "italiano", "accetto"):  # each acknowledged at once, in a row
            response = await post_signed(client, WEBHOOK, inbound_form(GIULIA, text))
            assert messages_of(response) == []
        await runner_of(runtime).settle()
    bodies = [r.one("ContentVariables") or r.one("Body") for r in twilio.sent]
    assert len(bodies) == 3
    assert "Italiano" in bodies[0] and "privacy" in bodies[1].lower()


async def restarted(url: str, twilio, clock):
    runtime = await start_runtime(Settings(database_url=url, _env_file=None), clock=clock)
    rest_app(runtime, twilio)
    return runtime


@pytest.mark.asyncio
async def test_a_message_stored_by_a_process_that_died_is_answered_once_after_restart(
        sqlite_url, twilio, clock):
    first = await restarted(sqlite_url, twilio, clock)
    form = inbound_form(GIULIA, "ciao")
    runner = runner_of(first)
    # what the webhook does once the signature is checked: store the message, acknowledge
    # it, start the chat's task — and the process dies before that task first runs
    assert await runner.receive(parse(form))
    for task in runner.tasks.values():
        task.cancel()
    await asyncio.gather(*runner.tasks.values(), return_exceptions=True)
    await first.close()
    assert twilio.sent == []

    second = await restarted(sqlite_url, twilio, clock)
    try:
        assert await runner_of(second).recover() == 1
        await runner_of(second).settle()
        assert len(twilio.sent) == 1
        async with client_for(wire_whatsapp(second, api_base_url=twilio.base_url,
                                            reply_mode="rest")) as client:
            await post_signed(client, WEBHOOK, form)  # Twilio redelivers it: nothing more
            await runner_of(second).settle()
        assert await runner_of(second).recover() == 0
        async with transaction(second.sessions) as session:
            updates = (await session.exec(select(ProcessedUpdate))).all()
        assert [u.update_id for u in updates] == [form["MessageSid"]]
        assert len(twilio.sent) == 1
    finally:
        await second.close()


@pytest.mark.asyncio
async def test_a_claim_left_by_a_dead_process_is_taken_after_its_lease(runtime, twilio,
                                                                      clock):
    app = rest_app(runtime, twilio)
    runner = runner_of(runtime)
    from models.whatsapp_inbox import store_inbound

    sid = new_message_sid()  # what the dead process did: store, claim, and no more
    await store_inbound(runtime.engine, sid, GIULIA,
                        {"sid": sid, "phone": GIULIA, "text": "ciao"}, clock.now)
    async with transaction(runtime.sessions) as session:
        assert await claim_next(session, GIULIA, clock.now, runner.lease) is not None
    assert await runner.recover() == 0  # its lease still runs
    clock.advance(seconds=61)
    assert await runner.recover() == 1
    await runner.settle()
    assert len(twilio.sent) == 1 and app is not None


@pytest.mark.asyncio
async def test_on_postgresql_two_processes_recovering_at_once_answer_a_message_once(
        postgres_url, twilio, clock):
    first = await restarted(postgres_url, twilio, clock)
    second = await restarted(postgres_url, twilio, clock)
    try:
        from models.whatsapp_inbox import store_inbound

        sid = new_message_sid()
        await store_inbound(first.engine, sid, GIULIA,
                            {"sid": sid, "phone": GIULIA, "text": "ciao"}, clock.now)
        counts = await asyncio.gather(runner_of(first).recover(), runner_of(second).recover())
        assert counts == [1, 1]  # both saw it waiting …
        await asyncio.gather(runner_of(first).settle(), runner_of(second).settle())
        assert len(twilio.sent) == 1  # … one took it
    finally:
        await first.close()
        await second.close()


@pytest.mark.asyncio
async def test_an_operator_takes_a_job_by_tapping_the_offers_button(runtime, twilio, clock):
    """The offer reaches the operator as buttons; the tap answers the offer, whatever
    screen their chat is on (a typed «2» used to answer the screen instead)."""
    from models.base import Role
    from tests.support.chat import enrolled as console_enrolled

    app = rest_app(runtime, twilio)
    async with client_for(app) as client:
        operator = TappingPhone(client, "+393401112233", twilio, runner_of(runtime))
        await operator.say(await new_code(runtime, "koala", Role.OPERATOR))
        await operator.tap("Italiano")
        await operator.tap("Accetto")
        assert "Fatto" in await operator.say("Paola")
        await operator.tap("I miei lavori")  # the chat is on another screen
        worker = await console_enrolled(runtime, "+393331110001", org="ali")
        await worker.press("Nuova richiesta")
        await worker.press("figli")
        await worker.press("Babysitting")
        await worker.say("Crema")
        await worker.say("venerdì alle 18")
        await worker.say("Via Roma 1")
        await worker.press("Nessuna nota")
        assert "affidata a Koala" in await worker.press("Conferma")
        clock.advance(minutes=1)
        await runtime.dispatcher().run_once()
        offer = operator.read()
        assert "Nuovo lavoro" in offer and operator.last[-1].kind == "buttons"
        assert "è tuo" in await operator.tap("Accetto")
    [request] = await requests_of(runtime)
    assert request.status == "assigned"


@pytest.mark.asyncio
async def test_answered_messages_are_forgotten_with_the_handled_updates(runtime, twilio,
                                                                       clock):
    from models.privacy import erase_expired

    app = rest_app(runtime, twilio)
    async with client_for(app) as client:
        await post_signed(client, WEBHOOK, inbound_form(GIULIA, "ciao"))
        await runner_of(runtime).settle()
    for days, left in ((29, 1), (2, 0)):
        clock.advance(days=days)
        async with transaction(runtime.sessions) as session:
            await erase_expired(session, clock.now, 90)
        async with transaction(runtime.sessions) as session:
            assert len((await session.exec(select(WhatsAppInbound))).all()) == left


@pytest.mark.asyncio
async def test_the_write_gate_lets_a_waiting_webhook_before_a_waiting_turn():
    from bot.whatsapp.gate import WriteGate

    gate, order = WriteGate(enabled=True), []

    async def write(name: str, urgent: bool) -> None:
        async with gate.writing(urgent):
            order.append(name)
            await asyncio.sleep(0.01)

    first = asyncio.create_task(write("turn 1", False))
    await asyncio.sleep(0)  # turn 1 holds the gate
    others = [asyncio.create_task(write("turn 2", False)),
              asyncio.create_task(write("webhook", True))]
    cancelled = asyncio.create_task(write("turn 3", False))
    await asyncio.sleep(0)
    cancelled.cancel()  # a waiter that goes away leaves the queue
    await asyncio.gather(first, *others, return_exceptions=True)
    await asyncio.gather(cancelled, return_exceptions=True)
    assert order == ["turn 1", "webhook", "turn 2"] and not gate.busy
