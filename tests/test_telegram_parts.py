"""The Telegram channel's small parts on their own: rendering, routing of updates, the
API address, the per-chat order and the flood gate."""

import asyncio

import pytest
from telegram import Bot, Update

from bot.telegram.adapter import (
    PRIVATE_ONLY,
    TEXT_ONLY,
    Explain,
    ForDialogue,
    dedupe_key,
    route_update,
)
from bot.telegram.channel import api_urls
from bot.telegram.flood import FloodGate
from bot.telegram.ordering import ChatOrder
from bot.telegram.rendering import (
    MAX_MESSAGE_LENGTH,
    chosen_text,
    keyboard_for,
    render_reply,
    split_text,
    utf16_length,
)
from handlers.types import Choice, Reply
from tests.support.fake_telegram import TOKEN, Updates

BOT = Bot(TOKEN)


def update(data: dict) -> Update:
    return Update.de_json(data, BOT)


# --- rendering -------------------------------------------------------------------------

def test_long_labels_get_a_row_each_and_short_ones_pair_up():
    choices = [Choice("🛒 Commissioni salva-tempo", "a"), Choice("gio 26 nov", "b"),
               Choice("ven 27 nov", "c"), Choice("Spesa a domicilio (18,00 €, 60 min)", "d"),
               Choice("⬅️ Indietro", "e"), Choice("🏠 Menu", "f")]
    rows = keyboard_for(choices).inline_keyboard
    assert [[button.text for button in row] for row in rows] == [
        ["🛒 Commissioni salva-tempo"], ["gio 26 nov", "ven 27 nov"],
        ["Spesa a domicilio (18,00 €, 60 min)"], ["⬅️ Indietro", "🏠 Menu"]]
    assert rows[0][0].callback_data == "a"


def test_no_choices_no_keyboard_and_oversized_payloads_are_left_out():
    assert keyboard_for([]) is None
    keyboard = keyboard_for([Choice("OK", "x" * 65), Choice("Sì", "tok")])
    assert [[b.callback_data for b in row] for row in keyboard.inline_keyboard] == [["tok"]]


def test_a_short_reply_is_one_message_with_its_keyboard():
    (message,) = render_reply(Reply("Ciao", (Choice("Sì", "t1"),), hint="rispondi col numero"))
    assert message.text == "Ciao"  # the hint is for channels without buttons
    assert message.keyboard.inline_keyboard[0][0].callback_data == "t1"


def test_split_counts_like_telegram_in_utf16_units():
    text = "🌿" * 3000  # 3000 characters, 6000 UTF-16 units
    parts = split_text(text)
    assert len(parts) == 2 and "".join(parts) == text
    assert all(utf16_length(part) <= MAX_MESSAGE_LENGTH for part in parts)


def test_split_prefers_paragraphs_then_lines_then_words():
    paragraphs = "\n\n".join(["a" * 3000, "b" * 3000])
    assert split_text(paragraphs) == ["a" * 3000, "b" * 3000]
    words = " ".join(["parola"] * 1000)  # 6999 characters, no line breaks
    parts = split_text(words)
    assert all(part.startswith("parola") and part.endswith("parola") for part in parts)
    assert " ".join(parts) == words


def test_chosen_text_appends_the_choice_and_stays_within_the_limit():
    assert chosen_text("Che giorno?", "gio 26 nov") == "Che giorno?\n\n✔️ gio 26 nov"
    long = chosen_text("x" * 4096, "Conferma")
    assert utf16_length(long) <= MAX_MESSAGE_LENGTH and long.endswith("…\n\n✔️ Conferma")


# --- routing updates -------------------------------------------------------------------

def test_text_in_a_private_chat_goes_to_the_dialogue():
    route = route_update(update(Updates().message(42, "/start ABCD2345", language="en")))
    assert isinstance(route, ForDialogue) and route.pressed is None
    assert route.incoming.channel == "telegram" and route.incoming.external_id == "42"
    assert route.incoming.text == "/start ABCD2345"
    assert route.incoming.language_hint == "en" and route.incoming.display_name == "Giulia"


def test_a_press_carries_its_token_and_the_label_it_had():
    updates = Updates()
    sent = {"message_id": 9, "date": 1, "chat": {"id": 42, "type": "private"},
            "text": "Che giorno?", "reply_markup": {"inline_keyboard": [
                [{"text": "gio 26 nov", "callback_data": "tokA"}]]}}
    route = route_update(update(updates.press(42, sent, "tokA")))
    assert route.incoming.payload == "tokA" and route.incoming.text is None
    assert (route.pressed.message_id, route.pressed.label) == (9, "gio 26 nov")


@pytest.mark.parametrize("kind", ["photo", "voice", "sticker", "location"])
def test_media_is_explained(kind):
    route = route_update(update(getattr(Updates(), kind)(42)))
    assert route == Explain(42, TEXT_ONLY, 42, "it")


def test_groups_and_channels_are_told_private_only_but_edits_there_are_ignored():
    updates = Updates()
    group = route_update(update(updates.message(-5, "ciao", chat_type="group")))
    assert isinstance(group, Explain) and group.kind == PRIVATE_ONLY and group.chat_id == -5
    assert route_update(update(updates.message(-5, "x", chat_type="group", edited=True))) is None
    post = {"update_id": 1, "channel_post": {"message_id": 1, "date": 1, "text": "news",
                                             "chat": {"id": -100, "type": "channel"}}}
    assert route_update(update(post)).kind == PRIVATE_ONLY


def test_service_messages_are_ignored():
    pinned = Updates().message(42, None, new_chat_title="Nuovo titolo")
    assert route_update(update(pinned)) is None


def test_the_dedupe_key_is_the_update_id_and_what_it_is_about():
    updates = Updates(first_id=77)
    message = updates.message(42, "ciao")
    assert dedupe_key(update(message)) == f"77:42.{message['message']['message_id']}"
    assert dedupe_key(update(message)) == dedupe_key(update(dict(message)))  # a replay


# --- the Bot API address ---------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (None, ("https://api.telegram.org/bot", "https://api.telegram.org/file/bot")),
    ("http://127.0.0.1:8081/bot", ("http://127.0.0.1:8081/bot",
                                   "http://127.0.0.1:8081/file/bot")),
    ("http://127.0.0.1:8081/", ("http://127.0.0.1:8081/bot",
                                "http://127.0.0.1:8081/file/bot")),
    ("http://tg.local/api/bot{token}", ("http://tg.local/api/bot{token}",
                                        "http://tg.local/api/file/bot{token}")),
])
def test_the_api_base_url_accepts_the_usual_spellings(value, expected):
    assert api_urls(value) == expected


# --- per-chat order --------------------------------------------------------------------

@pytest.mark.asyncio
async def test_different_chats_run_side_by_side_and_one_chat_in_order():
    order, seen = ChatOrder(), []
    b_started = asyncio.Event()

    async def a_waits_for_b():
        await asyncio.wait_for(b_started.wait(), 1)  # only possible if B runs meanwhile
        seen.append("a1")

    async def b():
        b_started.set()
        seen.append("b1")

    async def a_second():
        seen.append("a2")

    order.submit("A", a_waits_for_b)
    order.submit("A", a_second)
    order.submit("B", b)
    await order.drain()
    assert seen == ["b1", "a1", "a2"]
    assert order.pending() == 0


@pytest.mark.asyncio
async def test_a_failed_job_does_not_block_its_chat():
    order, seen = ChatOrder(), []

    async def fails():
        raise RuntimeError("boom")

    async def then():
        seen.append("next")

    order.submit(1, fails)
    order.submit(1, then)
    await order.drain()
    assert seen == ["next"]


# --- flood control --------------------------------------------------------------------

def test_the_flood_gate_stays_closed_for_the_longest_wait_asked():
    now = [0.0]
    gate = FloodGate(clock=lambda: now[0])
    assert gate.remaining() == 0
    gate.close_for(12)
    gate.close_for(3)  # a shorter wait does not reopen it early
    now[0] = 5.0
    assert gate.remaining() == 7
    now[0] = 13.0
    assert gate.remaining() == 0
