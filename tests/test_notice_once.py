"""Every notice sent once: a stopping dispatcher finishes the sends it started and hands
back the rest; after a kill mid-send, WhatsApp asks Twilio before sending again (the
status callback names the notice; the message list), Telegram re-sends at most once."""

import asyncio
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlmodel import select

from bot.whatsapp.settings import WhatsAppSettings
from handlers.sending import SendResult
from models.base import NoticeStatus
from models.db import transaction
from models.outbox import queue_notice
from models.tables import ChatIdentity, Notice
from scheduler.dispatcher import NOT_SENT_AGAIN, Dispatcher
from tests.support.chat import enrolled
from tests.support.whatsapp import ACCOUNT_SID, STATUS, client_for, post_signed, wire_whatsapp

pytestmark = [pytest.mark.asyncio,
              pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:The 'auth' parameter:DeprecationWarning")]
PARAMS = {"request_id": 7, "service": "Spesa a domicilio", "place": "Crema",
          "when": "giovedì 26 novembre, 08:00"}
PAST_THE_LEASE = timedelta(minutes=3)


class GatedSender:
    """A channel that records each send and holds it at `gate` (a send under way): with
    `dies`, the send never returns, as when the process is killed during it; `delivered`
    says whether a held send reached the person before that."""

    def __init__(self, channel: str, *, dies: bool = False):
        self.channel, self.dies = channel, dies
        self.gate, self.started = asyncio.Event(), asyncio.Event()
        self.sent: list[int] = []  # notice ids, in order

    async def send(self, identity: ChatIdentity, reply, notice=None) -> SendResult:
        self.sent.append(notice.id)
        self.started.set()
        await self.gate.wait()
        if self.dies:
            await asyncio.Event().wait()  # killed here: never returns
        return SendResult(ok=True, status=NoticeStatus.SENT)


class KilledAfterTwilio:
    """The WhatsApp sender of a process killed right after Twilio accepted the message
    (`after=True`) or right before asking it (`after=False`)."""

    channel = "whatsapp"

    def __init__(self, real, *, after: bool):
        self.real, self.after = real, after
        self.reached = asyncio.Event()

    async def send(self, identity, reply, notice=None) -> SendResult:
        if self.after:
            await self.real.send(identity, reply, notice)
        self.reached.set()
        await asyncio.Event().wait()  # killed


async def queue_for(runtime, chat_id: str, channel: str, key: str) -> int:
    async with transaction(runtime.sessions) as session:
        chat = (await session.exec(select(ChatIdentity).where(
            ChatIdentity.channel == channel, ChatIdentity.external_id == chat_id))).one()
        await queue_notice(session, person_id=chat.person_id, kind="coordinator.unserved",
                           params=PARAMS, dedupe_key=key, now=runtime.clock())
        return (await session.exec(select(Notice).where(Notice.dedupe_key == key))).one().id


async def notices(runtime) -> dict[int, Notice]:
    async with transaction(runtime.sessions) as session:
        return {n.id: n for n in (await session.exec(select(Notice))).all()}


async def killed_mid_send(dispatcher: Dispatcher, started: asyncio.Event) -> None:
    """Run a pass and kill it (no graceful stop) once a send is under way."""
    task = asyncio.create_task(dispatcher.run_once())
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_stopping_dispatcher_finishes_its_send_and_hands_back_the_rest(any_runtime):
    runtime = any_runtime
    ids = []
    for n in range(3):
        await enrolled(runtime, f"+3933310000{n}", channel="telegram")
        ids.append(await queue_for(runtime, f"+3933310000{n}", "telegram", f"n{n}"))
    sender = GatedSender("telegram")
    dispatcher = Dispatcher(runtime.sessions, {"telegram": sender}, clock=runtime.clock,
                            concurrency=1)
    running = asyncio.create_task(dispatcher.run_until_cancelled(interval=0.05))
    await asyncio.wait_for(sender.started.wait(), 10)
    running.cancel()  # SIGTERM while the first notice is being sent
    await asyncio.sleep(0.05)
    assert not running.done()  # waits for the send under way
    sender.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await running
    [first] = sender.sent  # nothing new started after the stop
    stored = await notices(runtime)
    assert stored[first].status == NoticeStatus.SENT and stored[first].in_flight_at is None
    for notice_id in set(ids) - {first}:  # handed back: due at once, not after the lease
        assert stored[notice_id].status == NoticeStatus.PENDING
        assert stored[notice_id].claimed_until is None
    after = GatedSender("telegram")
    after.gate.set()
    await Dispatcher(runtime.sessions, {"telegram": after}, clock=runtime.clock).run_once()
    assert sorted(sender.sent + after.sent) == sorted(ids)  # each once


async def test_after_a_kill_telegram_re_sends_at_most_once(any_runtime, clock):
    runtime = any_runtime
    await enrolled(runtime, "555000111", channel="telegram")
    notice_id = await queue_for(runtime, "555000111", "telegram", "t1")
    first = GatedSender("telegram", dies=True)
    first.gate.set()
    await killed_mid_send(Dispatcher(runtime.sessions, {"telegram": first}, clock=clock),
                          first.started)
    stored = (await notices(runtime))[notice_id]
    assert stored.status == NoticeStatus.PENDING and stored.in_flight_at is not None
    clock.advance(minutes=3)  # the claim lapses; the outcome of that send is unknown
    second = GatedSender("telegram", dies=True)
    second.gate.set()
    await killed_mid_send(Dispatcher(runtime.sessions, {"telegram": second}, clock=clock),
                          second.started)  # re-sent once, and killed again
    clock.advance(minutes=3)
    third = GatedSender("telegram")
    third.gate.set()
    await Dispatcher(runtime.sessions, {"telegram": third}, clock=clock).run_once()
    assert (first.sent, second.sent, third.sent) == ([notice_id], [notice_id], [])
    stored = (await notices(runtime))[notice_id]
    assert stored.status == NoticeStatus.SENT and stored.last_error == NOT_SENT_AGAIN
    assert stored.unknown_outcomes == 2 and stored.in_flight_at is None


async def test_after_a_graceful_stop_nothing_is_unknown(runtime, clock):
    await enrolled(runtime, "555000222", channel="telegram")
    notice_id = await queue_for(runtime, "555000222", "telegram", "t2")
    sender = GatedSender("telegram")
    dispatcher = Dispatcher(runtime.sessions, {"telegram": sender}, clock=clock)
    running = asyncio.create_task(dispatcher.run_until_cancelled(interval=0.05))
    await asyncio.wait_for(sender.started.wait(), 10)
    running.cancel()
    sender.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await running
    stored = (await notices(runtime))[notice_id]
    assert (stored.status, stored.unknown_outcomes, stored.in_flight_at) == ("sent", 0, None)




@pytest_asyncio.fixture
async def whatsapp(runtime, twilio):
    """The WhatsApp channel against the fake Twilio; Giulia enrolled on WhatsApp, in her
    24-hour window, with one notice queued."""
    app = wire_whatsapp(runtime, api_base_url=twilio.base_url,
                        templates=WhatsAppSettings(_env_file=None))
    await enrolled(runtime, "+393331234567", channel="whatsapp")
    notice_id = await queue_for(runtime, "+393331234567", "whatsapp", "w1")
    return app, notice_id


async def kill_a_whatsapp_send(runtime, clock, *, after: bool) -> None:
    dying = KilledAfterTwilio(runtime.senders["whatsapp"], after=after)
    await killed_mid_send(Dispatcher(runtime.sessions, {"whatsapp": dying}, clock=clock),
                          dying.reached)


async def test_twilios_callback_naming_the_notice_settles_a_killed_send(runtime, clock,
                                                                         twilio, whatsapp):
    app, notice_id = whatsapp
    await kill_a_whatsapp_send(runtime, clock, after=True)
    [created] = twilio.sent
    callback_url = created.one("StatusCallback")
    assert callback_url.endswith(f"{STATUS}?notice={notice_id}")
    path = callback_url.removeprefix("https://intempo.example.org")
    form = {"MessageSid": created.sid, "MessageStatus": "sent", "SmsSid": created.sid,
            "SmsStatus": "sent", "AccountSid": ACCOUNT_SID}
    async with client_for(app) as client:
        assert (await post_signed(client, path, form)).status_code == 200
    stored = (await notices(runtime))[notice_id]
    assert (stored.status, stored.provider_message_id) == ("sent", created.sid)
    clock.advance(minutes=3)
    assert await runtime.dispatcher().run_once() == 0
    assert len(twilio.sent) == 1


async def test_without_its_callback_twilio_is_asked_before_sending_again(runtime, clock,
                                                                         twilio, whatsapp):
    _, notice_id = whatsapp
    await kill_a_whatsapp_send(runtime, clock, after=True)  # the callback never came
    clock.advance(minutes=3)
    assert await runtime.dispatcher().run_once() == 1
    [created] = twilio.sent  # found in Twilio's list: not sent again
    assert [r.method for r in twilio.requests] == ["POST", "GET"]
    stored = (await notices(runtime))[notice_id]
    assert (stored.status, stored.provider_message_id) == ("sent", created.sid)
    assert stored.in_flight_at is None


async def test_a_send_that_never_reached_twilio_goes_after_the_check(runtime, clock, twilio,
                                                                      whatsapp):
    _, notice_id = whatsapp
    await kill_a_whatsapp_send(runtime, clock, after=False)
    assert twilio.sent == []
    clock.advance(minutes=3)
    await runtime.dispatcher().run_once()
    assert [r.method for r in twilio.requests] == ["GET", "POST"]
    [created] = twilio.sent
    stored = (await notices(runtime))[notice_id]
    assert (stored.status, stored.provider_message_id) == ("sent", created.sid)


async def test_a_check_made_too_soon_waits_for_twilios_news(runtime, clock, twilio,
                                                             whatsapp):
    _, notice_id = whatsapp
    await kill_a_whatsapp_send(runtime, clock, after=False)
    async with transaction(runtime.sessions) as session:  # the lease ran out early
        stored = await session.get(Notice, notice_id)
        stored.claimed_until = clock.now - timedelta(seconds=1)
        session.add(stored)
    await runtime.dispatcher().run_once()
    stored = (await notices(runtime))[notice_id]
    assert twilio.sent == [] and stored.status == "pending"
    assert stored.in_flight_at is not None  # still to be settled
    assert stored.next_attempt_at > clock.now


async def test_a_message_another_notice_has_is_not_taken_for_a_killed_send(runtime, clock,
                                                                           twilio, whatsapp):
    _, first = whatsapp
    await runtime.dispatcher().run_once()  # sent and recorded
    second = await queue_for(runtime, "+393331234567", "whatsapp", "w2")  # the same text
    await kill_a_whatsapp_send(runtime, clock, after=False)  # never reached Twilio
    clock.advance(minutes=3)
    await runtime.dispatcher().run_once()
    assert len(twilio.sent) == 2  # the lookup found the first's message: not the second's
    stored = await notices(runtime)
    assert {stored[first].provider_message_id, stored[second].provider_message_id} == \
        {r.sid for r in twilio.sent}
