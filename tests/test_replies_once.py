"""A turn's replies are queued with its effect: a crash (or a platform that would not take
them) between the commit and the sending loses nothing. The redelivered update gets the
replies it never got, without a second effect; the dispatcher sends those whose update
never comes again; nothing goes out twice."""

import pytest
import pytest_asyncio
from sqlmodel import func, select
from telegram import Update

from models import inbound as store
from models import privacy
from models.db import transaction
from models.inbound import REPLY_LEASE
from models.tables import Person, ProcessedUpdate, ServiceRequest
from tests.support.chat import new_code
from tests.support.fake_telegram import TelegramChat, Updates, buttons

pytestmark = pytest.mark.asyncio
GIULIA = 4242


@pytest_asyncio.fixture
async def giulia(runtime, channel, api) -> TelegramChat:
    chat = TelegramChat(channel, api, Updates(), GIULIA)
    await chat.enrol(await new_code(runtime), "Giulia")
    return chat


def telegram_down(api, times: int = 10) -> None:
    """sendMessage fails as if the network were gone, `times` times in a row."""
    for _ in range(times):
        api.network_failure("sendMessage")


async def undelivered(runtime) -> list[ProcessedUpdate]:
    async with transaction(runtime.sessions) as session:
        return list((await session.exec(select(ProcessedUpdate).where(
            ProcessedUpdate.delivered_at.is_(None)))).all())


async def requests(runtime) -> int:
    async with transaction(runtime.sessions) as session:
        return (await session.exec(select(func.count()).select_from(ServiceRequest))).one()


async def booked_up_to_the_summary(chat: TelegramChat) -> None:
    await chat.press("Nuova richiesta")
    await chat.press("Commissioni")
    await chat.press("Spesa")
    await chat.say("Crema")
    await chat.press(buttons(chat.keyboard_message())[0]["text"])  # the first day
    await chat.press(buttons(chat.keyboard_message())[0]["text"])  # its first time
    await chat.say("Via Mazzini 12")
    assert "Riepilogo" in await chat.press("Nessuna nota")


async def test_a_confirmation_lost_on_the_way_comes_with_the_redelivered_update(
        runtime, giulia, api):
    await booked_up_to_the_summary(giulia)
    confirm = giulia.press_update("Conferma")
    api.clear()
    telegram_down(api)
    await giulia.channel.processor.process(Update.de_json(confirm, giulia.channel.bot))
    assert await requests(runtime) == 1
    assert len(await undelivered(runtime)) == 1  # the worker was not told, the store knows
    api.failures.clear()
    api.clear()

    # Telegram delivers the update again (the webhook's answer, or the offset, was lost)
    await giulia.channel.processor.process(Update.de_json(confirm, giulia.channel.bot))
    assert await requests(runtime) == 1  # no second request
    sent = api.sent(GIULIA)
    assert len(sent) == 1 and "confermata" in sent[0]["text"]
    assert await undelivered(runtime) == []

    # a third delivery: replies delivered already, nothing more is said or done
    api.clear()
    await giulia.channel.processor.process(Update.de_json(confirm, giulia.channel.bot))
    assert api.sent(GIULIA) == [] and await requests(runtime) == 1


async def test_replies_nobody_delivered_are_sent_by_the_dispatcher_once(
        runtime, giulia, api, clock):
    api.clear()
    telegram_down(api)
    await giulia.say("le mie richieste")
    assert len(await undelivered(runtime)) == 1
    api.failures.clear()
    api.clear()
    dispatcher = runtime.dispatcher()

    await dispatcher.run_once()  # handed back by the turn's process: taken at once
    sent = api.sent(GIULIA)
    assert len(sent) == 1 and "richieste" in sent[0]["text"].lower()
    assert await undelivered(runtime) == []

    clock.advance(seconds=REPLY_LEASE.total_seconds() + 1)
    await dispatcher.run_once()
    assert len(api.sent(GIULIA)) == 1  # not twice


async def test_replies_being_delivered_are_left_to_their_process_until_its_lease_ends(
        runtime, clock):
    """A process that ran a turn has REPLY_LEASE to deliver its replies (a fast path takes
    well under a second); only then may a dispatcher take them: it stopped, or it hung."""
    async with transaction(runtime.sessions) as session:
        assert await store.record_update(session, "telegram", "77:1", clock(), chat="77",
                                         replies=[{"text": "ciao"}])
    async with transaction(runtime.sessions) as session:
        assert await store.claim_undelivered(session, clock()) == []
        assert not await store.claim_replies(session, "telegram", "77:1", clock())
    clock.advance(seconds=REPLY_LEASE.total_seconds() + 1)
    async with transaction(runtime.sessions) as session:
        claimed = await store.claim_undelivered(session, clock())
    assert [row.update_id for row in claimed] == ["77:1"]
    async with transaction(runtime.sessions) as session:  # claimed now: nobody else
        assert await store.claim_undelivered(session, clock()) == []
        assert not await store.claim_replies(session, "telegram", "77:1", clock())


async def test_a_stored_reply_keeps_its_buttons(runtime, giulia, api, clock):
    """What the dispatcher sends is the reply as the turn made it: text and choices, so
    the buttons it carries still answer the step the chat is at."""
    api.clear()
    telegram_down(api)
    await giulia.say("nuova richiesta")
    api.failures.clear()
    api.clear()
    await runtime.dispatcher().run_once()
    assert "Commissioni" in str(giulia.keyboard_message()["reply_markup"])
    await giulia.press("Commissioni")
    assert "Spesa" in str(api.last_message(GIULIA)["reply_markup"])


async def test_replies_are_kept_only_until_delivered_and_a_day_and_go_with_the_person(
        runtime, giulia, clock):
    """Replies repeat what the person wrote (an address, a name): the nightly retention
    blanks delivered ones after a day, and erasing the person blanks theirs at once."""
    await giulia.say("nuova richiesta")

    async def kept() -> list:
        async with transaction(runtime.sessions) as session:
            return [row.replies for row in (await session.exec(select(ProcessedUpdate).where(
                ProcessedUpdate.chat == str(GIULIA)))).all()]

    assert any(replies for replies in await kept())
    clock.advance(days=2)
    async with transaction(runtime.sessions) as session:
        await privacy.erase_expired(session, clock(), days=90)
    assert await kept() == []  # blanked, and no longer tied to the chat

    await giulia.say("menu")
    assert len(await kept()) == 1
    async with transaction(runtime.sessions) as session:
        person = (await session.exec(select(Person))).first()
        await privacy.erase_person(session, person, clock())
    assert await kept() == []
