"""The Telegram channel end to end: real PTB objects and Update JSON, the real dialogue and
store (SQLite, Crema catalogue), the Bot API faked at the HTTP transport."""

import asyncio

import pytest
from sqlmodel import func, select
from telegram import Update

from bot.settings import Settings
from bot.telegram.channel import install
from handlers.messages import text
from models.base import RequestStatus
from models.db import transaction
from models.tables import ChatIdentity, Person, ProcessedUpdate, ServiceRequest
from tests.support.chat import new_code
from tests.support.fake_telegram import TOKEN, TelegramChat, Updates, buttons

pytestmark = pytest.mark.asyncio
GIULIA, MARCO = 4242, 5151


@pytest.fixture
def updates() -> Updates:
    return Updates()


@pytest.fixture
def giulia(channel, api, updates) -> TelegramChat:
    return TelegramChat(channel, api, updates, GIULIA)


async def enrol(runtime, chat: TelegramChat, name: str = "Giulia") -> None:
    await chat.enrol(await new_code(runtime), name)


async def count(runtime, table, *conditions) -> int:
    async with transaction(runtime.sessions) as session:
        query = select(func.count()).select_from(table)
        for condition in conditions:
            query = query.where(condition)
        return (await session.exec(query)).one()


async def test_a_worker_goes_from_the_deep_link_to_a_confirmed_request(runtime, giulia, api):
    await enrol(runtime, giulia)
    assert buttons(giulia.keyboard_message())[0]["text"] == "➕ Nuova richiesta"

    await giulia.press("Nuova richiesta")
    await giulia.press("Commissioni")
    await giulia.press("Spesa")
    await giulia.say("Crema")
    first_day = buttons(giulia.keyboard_message())[0]["text"]
    await giulia.press(first_day)
    first_time = buttons(giulia.keyboard_message())[0]["text"]
    await giulia.press(first_time)
    await giulia.say("Via Mazzini 12")
    summary = await giulia.press("Nessuna nota")
    assert "Crema" in summary and "Via Mazzini 12" in summary
    confirmed = await giulia.press("Conferma")

    assert "confermata" in confirmed, confirmed
    async with transaction(runtime.sessions) as session:
        request = (await session.exec(select(ServiceRequest))).one()
        identity = (await session.exec(select(ChatIdentity).where(
            ChatIdentity.channel == "telegram"))).one()
    assert request.status == RequestStatus.PENDING and request.address == "Via Mazzini 12"
    assert identity.external_id == str(GIULIA) and identity.person_id == request.worker_id
    # every pressed keyboard was taken off its message, showing the choice made
    edits = api.called("editMessageText")
    assert edits and all("reply_markup" not in edit for edit in edits)
    assert edits[-1]["text"].endswith("✔️ ✅ Conferma")
    assert len(api.called("answerCallbackQuery")) == len(edits)


async def test_the_deep_link_enrols_with_the_code_in_one_tap(runtime, giulia, api):
    code = await new_code(runtime)
    reply = await giulia.say(f"/start {code}")

    assert [b["text"] for b in buttons(giulia.keyboard_message())] == ["Italiano", "English"]
    assert reply == text("it", "onboarding.language")
    assert api.sent(GIULIA)[-1]["chat_id"] == GIULIA
    assert "parse_mode" not in api.sent(GIULIA)[-1]  # plain text: user input cannot break it


async def test_a_bare_start_shows_the_welcome_in_the_apps_language(channel, api, updates):
    english = TelegramChat(channel, api, updates, 9090, language="en")
    reply = await english.say("/start")
    assert reply.startswith(text("en", "onboarding.welcome")[:40])


async def test_the_same_update_twice_acts_and_answers_once(runtime, giulia, api, updates):
    await enrol(runtime, giulia)
    await giulia.press("Nuova richiesta")
    await giulia.press("Commissioni")
    await giulia.press("Spesa")
    await giulia.say("Crema")
    await giulia.press(buttons(giulia.keyboard_message())[0]["text"])
    await giulia.press(buttons(giulia.keyboard_message())[0]["text"])
    await giulia.say("Via Mazzini 12")
    await giulia.press("Nessuna nota")
    confirm = giulia.press_update("Conferma")
    sent_before = len(api.sent(GIULIA))

    await giulia.deliver(confirm)
    replayed = await giulia.deliver(confirm)

    assert replayed == ""
    assert len(api.sent(GIULIA)) == sent_before + 1
    assert await count(runtime, ServiceRequest) == 1
    assert await count(runtime, ProcessedUpdate,
                       ProcessedUpdate.update_id.startswith(f"{confirm['update_id']}:")) == 1


async def test_a_typed_message_delivered_twice_is_answered_once(giulia, api, updates):
    hello = updates.message(GIULIA, "ciao")
    await giulia.deliver(hello)
    await giulia.deliver(hello)
    assert len(api.sent(GIULIA)) == 1


async def test_a_stale_keyboard_press_changes_nothing(runtime, giulia, api):
    await enrol(runtime, giulia)
    menu = giulia.keyboard_message()
    await giulia.say("menu")  # a new menu: the keyboard above is now an old one
    stale = await giulia.press("Nuova richiesta", message=menu)

    assert stale.startswith(text("it", "choice.stale"))
    assert "➕ Nuova richiesta" in [b["text"] for b in buttons(giulia.keyboard_message())]
    # the old keyboard is taken away, but no ✔️ says it was chosen
    assert api.called("editMessageReplyMarkup")[-1]["message_id"] == menu["message_id"]
    assert not any(e["message_id"] == menu["message_id"]
                   for e in api.called("editMessageText"))
    async with transaction(runtime.sessions) as session:
        assert (await session.exec(select(func.count()).select_from(ServiceRequest))).one() == 0


async def test_another_persons_callback_data_is_refused(runtime, channel, api, updates, giulia):
    await enrol(runtime, giulia)
    marco = TelegramChat(channel, api, updates, MARCO)
    await enrol(runtime, marco, name="Marco")
    giulias_menu = giulia.keyboard_message()
    # Marco's client sends a press carrying Giulia's token, from his own chat
    forged = updates.press(MARCO, marco.keyboard_message(),
                           giulia.button("Nuova richiesta", giulias_menu)["callback_data"])
    answer = await marco.deliver(forged)

    assert answer.startswith(text("it", "choice.stale"))
    # Giulia's conversation did not move: her menu is still the current one
    await giulia.press("Nuova richiesta", giulias_menu)
    assert "Commissioni" in str(buttons(giulia.keyboard_message()))


@pytest.mark.parametrize("kind", ["photo", "voice", "sticker", "location"])
async def test_media_gets_a_polite_text_only(giulia, api, updates, kind):
    reply = await giulia.deliver(getattr(updates, kind)(GIULIA))
    assert reply == text("it", "channel.text_only")


async def test_media_is_answered_in_the_enrolled_persons_language(runtime, giulia, updates):
    await enrol(runtime, giulia)
    async with transaction(runtime.sessions) as session:
        person = (await session.exec(select(Person))).one()
        person.language = "en"
        session.add(person)
    # the Telegram app says Italian, the profile says English: the profile wins
    assert await giulia.deliver(updates.photo(GIULIA, language="it")) == \
        text("en", "channel.text_only")


async def test_an_edited_message_is_not_read_again(runtime, giulia, api, updates):
    code = await new_code(runtime)
    edited = updates.message(GIULIA, f"/start {code}", edited=True)
    assert await giulia.deliver(edited) == text("it", "channel.text_only")
    assert await count(runtime, ChatIdentity) == 0  # the dialogue never saw it


async def test_a_group_chat_is_told_to_write_in_private(runtime, channel, api, updates):
    group = TelegramChat(channel, api, updates, -100123)
    reply = await group.deliver(updates.message(-100123, "/start@intempo_test_bot",
                                                chat_type="supergroup", language="en"))
    assert reply == text("en", "channel.private_only")
    assert await count(runtime, ChatIdentity) == 0


async def test_chats_are_handled_in_parallel_and_each_in_order(runtime, channel, api, updates):
    chats = [TelegramChat(channel, api, updates, 7000 + n) for n in range(5)]
    for chat in chats:
        await chat.say(f"/start {await new_code(runtime)}")
    # each chat sends "Italiano" then "Accetto" (typed), all submitted at once
    for chat in chats:
        for typed in ("Italiano", "Accetto"):
            channel.processor.submit(Update.de_json(
                updates.message(chat.chat_id, typed), channel.bot))
    await asyncio.wait_for(channel.processor.order.drain(), 10)

    for chat in chats:
        last = api.sent(chat.chat_id)[-1]["text"]
        assert last == text("it", "onboarding.name"), last  # language, then privacy: in order


async def test_a_button_pressed_in_a_group_gets_a_toast_and_nothing_else(runtime, channel,
                                                                           api, updates):
    in_group = {"message_id": 5, "date": 1, "chat": {"id": -100, "type": "group",
                                                     "title": "Colleghi"},
                "text": "?", "reply_markup": {"inline_keyboard": [
                    [{"text": "Sì", "callback_data": "tok12345"}]]}}
    press = updates.press(-100, in_group, "tok12345", from_id=GIULIA)
    await channel.processor.process(Update.de_json(press, channel.bot))

    (answer,) = api.called("answerCallbackQuery")
    assert answer["text"] == text("it", "channel.private_only")
    assert api.sent() == [] and await count(runtime, ChatIdentity) == 0


async def test_one_update_reaching_two_processes_at_once_acts_once(any_runtime, api, updates):
    """A webhook retried while the first delivery is still being handled, by another web
    process: both race on the processed-update row, on SQLite and on PostgreSQL."""
    any_runtime.settings = Settings(database_url=any_runtime.settings.database_url,
                                    _env_file=None, telegram_bot_token=TOKEN)
    first, second = install(any_runtime, request=api), install(any_runtime, request=api)
    start = updates.message(GIULIA, f"/start {await new_code(any_runtime)}")

    await asyncio.gather(first.processor.process(Update.de_json(start, first.bot)),
                         second.processor.process(Update.de_json(start, second.bot)))

    assert len(api.sent(GIULIA)) == 1
    assert await count(any_runtime, ProcessedUpdate) == 1
    assert await count(any_runtime, ChatIdentity) == 1
