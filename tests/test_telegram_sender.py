"""The outbox's Telegram sender over the fake Bot API: flood control, blocked bots,
network trouble, long messages — and, through the dispatcher, Telegram's rate limits and
what becomes of each failure."""

import itertools
from datetime import date, timedelta
from datetime import time as dt_time

import pytest
from sqlmodel import select

from bot.telegram.flood import FloodGate
from bot.telegram.sender import RetryPolicy, TelegramSender
from handlers.types import Choice, File, Reply
from models.base import NoticeStatus
from models.db import transaction
from models.outbox import queue_notice
from models.tables import ChatIdentity, Notice, Person
from scheduler.dispatcher import Dispatcher
from tests.support.booking import book
from tests.support.chat import new_code
from tests.support.fake_telegram import TelegramChat, Updates, buttons

pytestmark = [
    pytest.mark.asyncio,
    # PTB 22 itself warns, when it builds a RetryAfter, that retry_after becomes a timedelta
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]
CHAT, OTHER = 4242, 5151


class VirtualTime:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self):
        self.now, self.slept = 1000.0, []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


@pytest.fixture
def time() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def sender(channel, time) -> TelegramSender:
    return TelegramSender(channel.bot, ready=channel.ready, flood=FloodGate(time.clock),
                          sleep=time.sleep)


def identity(chat_id: int = CHAT) -> ChatIdentity:
    return ChatIdentity(channel="telegram", external_id=str(chat_id))


async def test_a_notice_is_sent_as_plain_text_with_its_buttons(sender, api):
    result = await sender.send(identity(), Reply("Nuovo lavoro", (Choice("Accetta", "tok1"),)))
    assert result.ok and result.provider_message_id == str(api.messages(CHAT)[0]["message_id"])
    (sent,) = api.sent(CHAT)
    assert sent["text"] == "Nuovo lavoro" and "parse_mode" not in sent
    assert buttons(sent) == [{"text": "Accetta", "callback_data": "tok1"}]


async def test_a_chart_goes_as_a_photo_and_a_csv_as_a_document(sender, api):
    chart = File("digest.png", "image/png", b"\x89PNG fake", 7)
    result = await sender.send(identity(), Reply("Riepilogo di oggi", file=chart))
    assert result.ok
    assert [call.method for call in api.calls if call.method.startswith("send")] == [
        "sendMessage", "sendPhoto"]
    csv = File("indicatori.csv", "text/csv", b"sezione;voce", 8)
    assert (await sender.send(identity(), Reply("Indicatori", file=csv))).ok
    assert api.calls[-1].method == "sendDocument"
    assert api.calls[-1].params["chat_id"] == CHAT


async def test_a_short_flood_wait_is_waited_out_and_the_message_sent(sender, api, time):
    api.flood("sendMessage", 3)
    result = await sender.send(identity(), Reply("Ciao"))
    assert result.ok
    assert len(api.sent(CHAT)) == 2  # refused once, then accepted
    assert 3.0 in time.slept


async def test_a_long_flood_wait_is_handed_back_and_holds_every_send(sender, api):
    api.flood("sendMessage", 60)
    result = await sender.send(identity(), Reply("Ciao"))
    assert not result.ok and result.retry_after == 60 and not result.permanent
    assert len(api.sent(CHAT)) == 1
    # the pause is for the whole bot: the next notice is not even tried
    other = await sender.send(identity(OTHER), Reply("Ciao"))
    assert not other.ok and other.retry_after == pytest.approx(60, abs=0.1)
    assert api.sent(OTHER) == []


async def test_a_blocked_bot_makes_the_chat_unreachable(sender, api):
    api.blocked()
    result = await sender.send(identity(), Reply("Ciao"))
    assert result.unreachable and not result.ok
    assert "blocked" in result.error
    assert len(api.sent(CHAT)) == 1  # not retried


async def test_a_chat_that_no_longer_exists_is_unreachable(sender, api):
    api.fail("sendMessage", 400, {"ok": False, "error_code": 400,
                                  "description": "Bad Request: chat not found"})
    assert (await sender.send(identity(), Reply("Ciao"))).unreachable


async def test_any_other_bad_request_is_permanent(sender, api):
    api.fail("sendMessage", 400, {"ok": False, "error_code": 400,
                                  "description": "Bad Request: can't parse entities"})
    result = await sender.send(identity(), Reply("Ciao"))
    assert result.permanent and not result.unreachable
    assert len(api.sent(CHAT)) == 1


async def test_network_trouble_is_retried_with_growing_pauses(sender, api, time):
    api.network_failure("sendMessage")
    api.network_failure("sendMessage")
    result = await sender.send(identity(), Reply("Ciao"))
    assert result.ok and len(api.sent(CHAT)) == 3
    assert time.slept == [0.5, 1.0]


async def test_network_trouble_that_lasts_is_a_failure_to_retry_later(sender, api):
    for _ in range(RetryPolicy().network_attempts):
        api.network_failure("sendMessage")
    result = await sender.send(identity(), Reply("Ciao"))
    assert not result.ok and not result.permanent and not result.unreachable
    assert "TimedOut" in result.error


async def test_a_reply_waits_out_a_flood_pause_a_notice_hands_it_back(sender, api, time):
    sender.flood.close_for(10)
    notice = await sender.send(identity(), Reply("Avviso"))
    assert not notice.ok and notice.retry_after == 10 and api.sent() == []
    reply = await sender.send_reply(CHAT, Reply("Risposta"), notice=False)
    assert reply.ok and time.slept == [10]


async def test_a_text_longer_than_telegram_allows_is_split(sender, api, time):
    paragraph = "Una riga di testo piuttosto lunga per riempire il messaggio. " * 10
    long_text = "\n\n".join([paragraph] * 10)  # about 6,200 characters
    result = await sender.send(identity(), Reply(long_text, (Choice("OK", "tok"),)))
    assert result.ok
    first, second = api.sent(CHAT)
    assert len(first["text"]) <= 4096 and len(second["text"]) <= 4096
    assert "reply_markup" not in first and buttons(second) == [{"text": "OK",
                                                                "callback_data": "tok"}]
    assert time.slept == [1.0]  # the second part keeps the chat's one-a-second pace
    assert second["text"].startswith("Una riga")  # cut between paragraphs
    assert (first["text"] + " " + second["text"]).split() == long_text.split()


# --- through the dispatcher ------------------------------------------------------------

async def enrolled_on_telegram(runtime, channel, api) -> Person:
    await TelegramChat(channel, api, Updates(), CHAT).enrol(await new_code(runtime))
    async with transaction(runtime.sessions) as session:
        return (await session.exec(select(Person))).one()


async def queue_for(runtime, person: Person, key: str = "test:1") -> None:
    async with transaction(runtime.sessions) as session:
        await queue_notice(session, person_id=person.id, kind="worker.done",
                           params={"number": 7, "service_id": 1}, dedupe_key=key,
                           now=runtime.clock())


async def test_the_dispatcher_marks_a_blocked_chat_and_holds_the_notice(runtime, channel, api):
    person = await enrolled_on_telegram(runtime, channel, api)
    await queue_for(runtime, person)
    api.blocked()

    assert await runtime.dispatcher().run_once() == 1

    async with transaction(runtime.sessions) as session:
        notice = (await session.exec(select(Notice))).one()
        chat = (await session.exec(select(ChatIdentity))).one()
    assert chat.unreachable_at == runtime.clock()
    assert notice.status == NoticeStatus.HELD  # kept until the person writes again


async def test_the_dispatcher_reschedules_after_a_long_flood_wait(runtime, channel, api):
    person = await enrolled_on_telegram(runtime, channel, api)
    await queue_for(runtime, person)
    api.flood("sendMessage", 120)

    await runtime.dispatcher().run_once()

    async with transaction(runtime.sessions) as session:
        notice = (await session.exec(select(Notice))).one()
    assert notice.status == NoticeStatus.PENDING and notice.attempts == 0  # a wait, not a failure
    assert notice.next_attempt_at == runtime.clock() + timedelta(seconds=120)


async def test_a_bot_that_cannot_start_is_a_failure_to_retry_later(channel, api, time):
    api.network_failure("getMe")  # the worker's first send, Telegram unreachable
    sender = TelegramSender(channel.bot, ready=channel.ready, sleep=time.sleep)
    result = await sender.send(identity(), Reply("Ciao"))
    assert not result.ok and not result.permanent and "not ready" in result.error
    assert (await sender.send(identity(), Reply("Ciao"))).ok  # the next pass works


async def test_the_dispatcher_keeps_telegrams_limits_for_notices(runtime, channel, api,
                                                                time):
    person = await enrolled_on_telegram(runtime, channel, api)
    for n in range(3):
        await queue_for(runtime, person, key=f"pace:{n}")
    api.clear()
    api.timer = time.clock
    dispatcher = Dispatcher(runtime.sessions, runtime.senders, clock=runtime.clock,
                            timer=time.clock, sleep=time.sleep)

    assert await dispatcher.run_once() == 3

    sent_at = [call.at for call in api.calls if call.method == "sendMessage"]
    assert len(sent_at) == 3
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(sent_at))


async def test_a_withdrawn_notice_loses_its_buttons_when_the_next_one_is_sent(runtime,
                                                                             channel, api):
    """An offer a colleague took: the notice that says so takes the offer's buttons off."""
    person = await enrolled_on_telegram(runtime, channel, api)
    booked = await book(runtime, person.id, "babysitting", "Crema", date(2026, 11, 27),
                        dt_time(18))
    request_id = booked.request.id
    async with transaction(runtime.sessions) as session:
        from models.tables import Offer  # an offer that stands (one for nothing is withdrawn)
        offer = Offer(request_id=request_id, operator_id=person.id, round=1)
        session.add(offer)
        await session.flush()
        await queue_notice(session, person_id=person.id, kind="operator.new_offer",
                           params={"request_id": request_id}, dedupe_key="offer:1",
                           choices=[{"key": "offer.accept", "value": f"offer:accept:{offer.id}"}],
                           now=runtime.clock())
    await runtime.dispatcher().run_once()
    offer_message = api.last_message(CHAT)
    assert buttons(offer_message)
    async with transaction(runtime.sessions) as session:
        await queue_notice(session, person_id=person.id, kind="operator.taken",
                           params={"request_id": request_id, "withdraws": "offer:1"},
                           dedupe_key="taken:1", now=runtime.clock())
    await runtime.dispatcher().run_once()
    (edit,) = api.called("editMessageReplyMarkup")
    assert edit["chat_id"] == CHAT and edit["message_id"] == offer_message["message_id"]
    assert "reply_markup" not in edit or not edit["reply_markup"]
    assert api.calls[-1].method == "sendMessage"  # and the notice itself follows
