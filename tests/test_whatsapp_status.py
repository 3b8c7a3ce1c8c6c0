"""Delivery status callbacks: signed like the inbound hook, recorded on the outbox row
monotonically and idempotently, whatever order Twilio's callbacks arrive in."""

import asyncio

import pytest
import pytest_asyncio
from sqlmodel import select

from bot.whatsapp.settings import WhatsAppSettings
from models.db import transaction
from models.outbox import queue_notice
from models.tables import Notice
from tests.support.chat import enrolled
from tests.support.fake_twilio import FakeTwilio, serving
from tests.support.outbox import load_notice
from tests.support.whatsapp import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    STATUS,
    callback,
    client_for,
    identity,
    post_signed,
    signature,
    wire_whatsapp,
)

GIULIA = "+393331234567"
SID = "SM" + "5" * 32


# the twilio library's own use of aiohttp's deprecated BasicAuth, not ours
pytestmark = [pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:The 'auth' parameter:DeprecationWarning")]


async def sent_notice(runtime, sid: str = SID, key: str = "n1") -> int:
    """A notice the dispatcher handed to Twilio as `sid`."""
    chat = await identity(runtime, GIULIA)
    async with transaction(runtime.sessions) as session:
        await queue_notice(session, person_id=chat.person_id, kind="coordinator.unserved",
                           params={}, dedupe_key=key, now=runtime.clock())
        row = (await session.exec(select(Notice).where(Notice.dedupe_key == key))).one()
        row.status, row.channel, row.provider_message_id = "sent", "whatsapp", sid
        row.sent_at = runtime.clock()
        session.add(row)
        await session.flush()
        return row.id


@pytest_asyncio.fixture
async def web(runtime):
    async with client_for(wire_whatsapp(runtime)) as client:
        await enrolled(runtime, GIULIA, channel="whatsapp")
        yield client


async def report(client, *statuses: str, sid: str = SID, error_code: str | None = None):
    for status in statuses:
        response = await post_signed(client, STATUS, callback(status, sid, error_code, to=GIULIA))
        assert response.status_code == 200, response.text


@pytest.mark.asyncio
async def test_delivered_then_a_late_sent_stays_delivered(runtime, web):
    notice_id = await sent_notice(runtime)
    await report(web, "queued", "delivered", "sent", "sending", "queued")
    notice = await load_notice(runtime, notice_id)
    assert (notice.delivery_status, notice.status) == ("delivered", "delivered")


@pytest.mark.asyncio
async def test_read_after_delivered_and_never_back(runtime, web):
    notice_id = await sent_notice(runtime)
    await report(web, "sent", "delivered", "read")
    assert (await load_notice(runtime, notice_id)).delivery_status == "read"
    await report(web, "delivered", "failed", "sent")
    notice = await load_notice(runtime, notice_id)
    assert (notice.delivery_status, notice.status, notice.last_error) == \
        ("read", "delivered", None)


@pytest.mark.asyncio
async def test_a_failure_is_recorded_with_its_error_code(runtime, web):
    notice_id = await sent_notice(runtime)
    await report(web, "sent")
    await report(web, "failed", error_code="30008")  # Twilio's "unknown error"
    await report(web, "sent", "undelivered")  # late and repeated news change nothing
    notice = await load_notice(runtime, notice_id)
    assert (notice.delivery_status, notice.status) == ("failed", "failed")
    assert notice.last_error == "failed (Twilio error 30008)"


@pytest.mark.asyncio
async def test_a_read_receipt_after_a_failure_wins(runtime, web):
    notice_id = await sent_notice(runtime)
    await report(web, "undelivered", error_code="30008")
    await report(web, "read")
    notice = await load_notice(runtime, notice_id)
    assert (notice.delivery_status, notice.status, notice.last_error) == \
        ("read", "delivered", None)


@pytest.mark.asyncio
async def test_undelivered_outside_the_window_waits_for_the_person(runtime, web):
    notice_id = await sent_notice(runtime)
    await report(web, "undelivered", error_code="63016")
    notice = await load_notice(runtime, notice_id)
    assert (notice.status, notice.held_reason, notice.delivery_status) == \
        ("held", "whatsapp_window", "undelivered")


@pytest.mark.asyncio
async def test_the_same_callback_twice_is_one_change(runtime, web):
    notice_id = await sent_notice(runtime)
    await report(web, "delivered")
    first = await load_notice(runtime, notice_id)
    await report(web, "delivered")
    assert await load_notice(runtime, notice_id) == first


@pytest.mark.asyncio
async def test_an_unknown_sid_or_status_is_acknowledged_and_changes_nothing(runtime, web):
    notice_id = await sent_notice(runtime)
    before = await load_notice(runtime, notice_id)
    await report(web, "delivered", sid="SM" + "9" * 32)
    await report(web, "teleported")
    assert await load_notice(runtime, notice_id) == before


@pytest.mark.asyncio
@pytest.mark.parametrize("headers", [
    lambda form: {},
    lambda form: {"X-Twilio-Signature": signature(STATUS, form, token="1" * 32)},
    lambda form: {"X-Twilio-Signature": signature(STATUS, {**form, "MessageStatus": "sent"})},
    lambda form: {"X-Twilio-Signature": signature("/whatsapp/webhook", form)},
], ids=["missing", "forged", "other-params", "other-path"])
async def test_unsigned_callbacks_are_refused(runtime, web, headers):
    notice_id = await sent_notice(runtime)
    form = callback("delivered", SID, to=GIULIA)
    response = await web.post(STATUS, data=form, headers=headers(form))
    assert response.status_code == 403
    assert (await load_notice(runtime, notice_id)).delivery_status is None


@pytest.mark.asyncio
async def test_callbacks_racing_each_other_end_at_the_furthest(any_runtime):
    async with client_for(wire_whatsapp(any_runtime)) as client:
        await enrolled(any_runtime, GIULIA, channel="whatsapp")
        notice_id = await sent_notice(any_runtime)
        order = ["read", "sent", "delivered", "queued", "sending", "sent", "delivered"]
        responses = await asyncio.gather(*(post_signed(client, STATUS, callback(s, SID, to=GIULIA))
                                           for s in order))
    assert {r.status_code for r in responses} == {200}
    assert (await load_notice(any_runtime, notice_id)).delivery_status == "read"


@pytest.mark.asyncio
async def test_from_dispatch_to_read(runtime, clock):
    """The SID the sender got from Twilio is the one the callbacks name."""
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    async with serving(fake.app()) as url:
        app = wire_whatsapp(runtime, api_base_url=url,
                            templates=WhatsAppSettings(_env_file=None))
        await enrolled(runtime, GIULIA, channel="whatsapp")
        chat = await identity(runtime, GIULIA)
        async with transaction(runtime.sessions) as session:
            await queue_notice(session, person_id=chat.person_id, kind="coordinator.unserved",
                               params={"request_id": 3, "service": "Spesa", "place": "Crema",
                                       "when": "domani"}, dedupe_key="d", now=clock.now)
        await runtime.dispatcher().run_once()
    [request] = fake.sent
    async with client_for(app) as client:
        async with transaction(runtime.sessions) as session:
            notice = (await session.exec(select(Notice))).one()
        assert request.one("StatusCallback") == \
            f"https://intempo.example.org/whatsapp/status?notice={notice.id}"
        await report(client, "sent", "delivered", "read", sid=notice.provider_message_id)
    assert (await load_notice(runtime, notice.id)).delivery_status == "read"


@pytest.mark.asyncio
async def test_a_number_without_whatsapp_is_marked_and_the_other_chat_gets_the_notice(
        runtime, web):
    from models.tables import ChatIdentity

    notice_id = await sent_notice(runtime)
    await report(web, "failed", error_code="63003")  # no WhatsApp on this number
    notice = await load_notice(runtime, notice_id)
    assert (notice.status, notice.held_reason) == ("held", "unreachable")  # no other chat
    assert (await identity(runtime, GIULIA)).unreachable_at is not None
    # with a Telegram chat linked, the next notice that fails this way goes there
    async with transaction(runtime.sessions) as session:
        person_id = (await identity(runtime, GIULIA)).person_id
        session.add(ChatIdentity(channel="telegram", external_id="4242", person_id=person_id))
    other = await sent_notice(runtime, sid="SM" + "6" * 32, key="n2")
    await report(web, "undelivered", sid="SM" + "6" * 32, error_code="63024")
    assert (await load_notice(runtime, other)).status == "pending"  # the dispatcher tries Telegram
