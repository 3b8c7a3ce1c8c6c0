"""A notice that one chat cannot take goes out on the person's other chat: after a
permanent error at once, after transient ones when the notice's attempts run out; and the
reason of every chat's failure is kept."""

from datetime import timedelta

import pytest
import pytest_asyncio
from sqlmodel import select

from bot.settings import Settings
from bot.telegram.channel import install
from handlers.sending import SendResult
from models.base import NoticeStatus, Role
from models.db import transaction
from models.outbox import MAX_ATTEMPTS, queue_notice
from models.tables import ChatIdentity, Notice
from scheduler.dispatcher import Dispatcher
from tests.support.fake_telegram import TOKEN, FakeBotApi
from tests.support.outbox import load_notice
from tests.support.people import make_person
from tests.support.senders import RecordingSender

TIMEOUT = SendResult(ok=False, error="timeout")
pytestmark = [
    pytest.mark.asyncio,
    # PTB 22 itself warns, when it builds a RetryAfter, that retry_after becomes a timedelta
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]


async def notice_for(runtime, *chats: tuple[str, str], org: str = "employer") -> int:
    """A coordinator of `org` with chats (channel, id), the first listed written from last,
    and one notice queued for them; returns the notice's id."""
    person = await make_person(runtime, org, Role.COORDINATOR)
    async with transaction(runtime.sessions) as session:
        for age, (channel, external_id) in enumerate(chats):
            session.add(ChatIdentity(channel=channel, external_id=external_id,
                                     person_id=person.id,
                                     last_inbound_at=runtime.clock() - timedelta(hours=age)))
        await queue_notice(session, person_id=person.id, kind="coordinator.digest",
                           params={"text": "Riepilogo del giorno"}, dedupe_key="digest:1",
                           now=runtime.clock())
    async with transaction(runtime.sessions) as session:
        return (await session.exec(select(Notice.id))).one()


@pytest_asyncio.fixture
async def telegram(any_runtime) -> FakeBotApi:
    """The real Telegram channel of `any_runtime`, talking to the fake Bot API."""
    api = FakeBotApi()
    any_runtime.settings = Settings(database_url=any_runtime.settings.database_url,
                                    _env_file=None, telegram_bot_token=TOKEN)
    install(any_runtime, request=api)
    return api


async def test_a_telegram_bad_request_goes_out_on_the_other_chat(any_runtime, telegram):
    notice_id = await notice_for(any_runtime, ("telegram", "4242"), ("console", "+393330001"),
                                 org="comune-crema")
    telegram.fail("sendMessage", 400, {"ok": False, "error_code": 400,
                                       "description": "Bad Request: message is too long"})

    assert await any_runtime.dispatcher().run_once() == 1

    notice = await load_notice(any_runtime, notice_id)
    assert (notice.status, notice.channel) == (NoticeStatus.DELIVERED, "console")
    assert notice.last_error.startswith("telegram: BadRequest")  # why not on Telegram
    assert "too long" in notice.last_error.lower()
    async with transaction(any_runtime.sessions) as session:
        chat = (await session.exec(select(ChatIdentity).where(
            ChatIdentity.channel == "telegram"))).one()
    assert chat.unreachable_at is None  # one notice's error says nothing about the chat


async def test_when_attempts_run_out_on_telegram_whatsapp_has_a_go(mini, clock):
    notice_id = await notice_for(mini, ("telegram", "1"), ("whatsapp", "+393330002"))
    telegram = RecordingSender("telegram", *[TIMEOUT] * MAX_ATTEMPTS)
    whatsapp = RecordingSender("whatsapp", SendResult(ok=True, provider_message_id="SM1"))
    dispatcher = Dispatcher(mini.sessions, {"telegram": telegram, "whatsapp": whatsapp},
                            clock=clock)
    for attempt in range(1, MAX_ATTEMPTS):  # the preferred chat, with back-off
        assert await dispatcher.run_once() == 1
        notice = await load_notice(mini, notice_id)
        assert (notice.status, notice.attempts) == (NoticeStatus.PENDING, attempt)
        clock.now = notice.next_attempt_at
    assert whatsapp.sent == []

    assert await dispatcher.run_once() == 1  # the last attempt: Telegram, then WhatsApp

    notice = await load_notice(mini, notice_id)
    assert (notice.status, notice.channel, notice.provider_message_id) == (
        NoticeStatus.SENT, "whatsapp", "SM1")
    assert notice.last_error == "telegram: timeout"
    assert len(telegram.sent) == MAX_ATTEMPTS and len(whatsapp.sent) == 1


async def test_failing_on_every_chat_fails_with_each_reason(mini, clock):
    notice_id = await notice_for(mini, ("telegram", "1"), ("whatsapp", "+393330003"))
    telegram = RecordingSender("telegram", SendResult(ok=False, permanent=True,
                                                      error="BadRequest: can't parse"))
    whatsapp = RecordingSender("whatsapp", SendResult(ok=False, permanent=True,
                                                      error="twilio 21408: not enabled"))
    await Dispatcher(mini.sessions, {"telegram": telegram, "whatsapp": whatsapp},
                     clock=clock).run_once()
    notice = await load_notice(mini, notice_id)
    assert (notice.status, notice.attempts) == (NoticeStatus.FAILED, 1)
    assert notice.last_error == ("telegram: BadRequest: can't parse; "
                                 "whatsapp: twilio 21408: not enabled")


async def test_a_transient_failure_on_the_other_chat_is_retried_later(mini, clock):
    notice_id = await notice_for(mini, ("telegram", "1"), ("whatsapp", "+393330004"))
    telegram = RecordingSender("telegram", SendResult(ok=False, permanent=True,
                                                      error="BadRequest: can't parse"))
    whatsapp = RecordingSender("whatsapp", SendResult(ok=False, error="twilio 20503"))
    await Dispatcher(mini.sessions, {"telegram": telegram, "whatsapp": whatsapp},
                     clock=clock).run_once()
    notice = await load_notice(mini, notice_id)
    assert (notice.status, notice.attempts) == (NoticeStatus.PENDING, 1)
    assert notice.next_attempt_at == clock() + timedelta(seconds=30)
    assert notice.last_error == "telegram: BadRequest: can't parse; whatsapp: twilio 20503"
