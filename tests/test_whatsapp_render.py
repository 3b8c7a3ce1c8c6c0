"""Rendering for WhatsApp, the template settings and the channel's installation."""

import pydantic
import pytest

from bot.settings import Settings
from bot.whatsapp import render
from bot.whatsapp.channel import install
from bot.whatsapp.settings import WhatsAppSettings
from handlers.types import Choice, Reply
from tests.support.whatsapp import TEMPLATE_SID, wire_whatsapp


def test_choices_become_a_numbered_list_with_the_hint():
    reply = Reply("Che giorno?", (Choice("gio 26 nov", "a"), Choice("🏠 Menu", "b")),
                  hint="Rispondi con il numero.")
    assert render.as_text(reply) == "Che giorno?\n\n1. gio 26 nov\n2. 🏠 Menu\n" \
                                    "_Rispondi con il numero._"
    assert render.as_text(Reply("Solo testo", hint="ignored without choices")) == "Solo testo"


def test_a_notice_shows_its_choices_numbered_and_its_hint():
    reply = Reply("Nuovo lavoro n. 4", (Choice("Accetto", "t1"), Choice("Rifiuto", "t2")),
                  hint="Rispondi con il numero.", notice=True)
    assert render.as_text(reply) == \
        "Nuovo lavoro n. 4\n\n1. Accetto\n2. Rifiuto\n_Rispondi con il numero._"
    assert render.as_text(Reply("Fatto.", notice=True)) == "Fatto."
    assert render.template_variable(reply) == \
        "Nuovo lavoro n. 4 · 1. Accetto · 2. Rifiuto · Rispondi con il numero."


def test_a_short_text_is_one_message():
    assert render.split("  Ciao!  ") == ["Ciao!"]
    assert render.split(" \n ") == []


def test_paragraphs_are_kept_whole_when_they_fit():
    paragraphs = ["a" * 700, "b" * 700, "c" * 700]
    assert render.split("\n\n".join(paragraphs)) == [
        "a" * 700 + "\n\n" + "b" * 700, "c" * 700]


def test_a_paragraph_too_long_is_cut_between_lines_then_words():
    lines = "\n".join(["riga " * 100] * 5)  # 5 lines of 500 characters, one paragraph
    parts = render.split(lines)
    assert all(render.units(p) <= 1600 for p in parts)
    assert all(p.startswith("riga") and p.endswith("riga") for p in parts)
    assert [p.count("\n") for p in parts] == [2, 1]
    words = " ".join(["parola"] * 400)  # one line of 2,799 characters
    parts = render.split(words)
    assert len(parts) == 2 and " ".join(parts) == words
    assert all(not p.startswith(" ") and not p.endswith(" ") for p in parts)


def test_a_word_longer_than_a_message_is_cut_by_characters():
    assert render.split("x" * 3500) == ["x" * 1600, "x" * 1600, "x" * 300]


def test_lengths_are_counted_as_twilio_counts_them():
    emoji = "🙂" * 1000  # 2,000 UTF-16 units: over the limit though only 1,000 characters
    parts = render.split(emoji)
    assert [len(p) for p in parts] == [800, 200]
    assert all(render.units(p) <= 1600 for p in parts)


def test_several_replies_keep_their_order():
    replies = [Reply("uno"), Reply("due", (Choice("Sì", "t"),))]
    assert render.messages(replies) == ["uno", "due\n\n1. Sì"]


def test_a_template_variable_is_one_line_and_not_too_long():
    assert render.template_variable(Reply("Riga uno\n\n  Riga\tdue    tre")) == \
        "Riga uno · Riga due tre"
    long = render.template_variable(Reply("parola " * 500))
    assert render.units(long) == 900 and long.endswith("…")
    link = "📎 https://intempo.example.org/files/7?exp=1767225600&sig=" + "ab_cd" * 8
    with_link = render.template_variable(Reply("parola " * 500), tail=link)
    assert render.units(with_link) <= 900 and with_link.endswith("… · " + link)


def test_templates_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TWILIO_TEMPLATE_COORDINATOR_UNSERVED", TEMPLATE_SID)
    templates = WhatsAppSettings(_env_file=None)
    assert templates.content_sid("coordinator.unserved") == TEMPLATE_SID
    assert templates.content_sid("operator.new_offer") is None
    assert templates.content_sid("no.such.kind") is None
    assert templates.content_sid("default") is None


def test_the_default_template_serves_kinds_without_their_own(monkeypatch):
    other = "HX" + "cd" * 16
    monkeypatch.setenv("TWILIO_TEMPLATE_DEFAULT", other)
    monkeypatch.setenv("TWILIO_TEMPLATE_WORKER_ASSIGNED", TEMPLATE_SID)
    templates = WhatsAppSettings(_env_file=None)
    assert templates.content_sid("worker.assigned") == TEMPLATE_SID
    assert templates.content_sid("worker.done") == other


def test_a_malformed_content_sid_is_refused(monkeypatch):
    monkeypatch.setenv("TWILIO_TEMPLATE_COORDINATOR_UNSERVED", "not-a-content-sid")
    with pytest.raises(pydantic.ValidationError):
        WhatsAppSettings(_env_file=None)


@pytest.mark.asyncio
async def test_without_twilio_settings_nothing_is_installed(runtime):
    runtime.settings = Settings(database_url=runtime.settings.database_url,
                                twilio_account_sid="AC" + "1" * 32,
                                twilio_whatsapp_from="whatsapp:+14155238886", _env_file=None)
    install(runtime)  # no auth token
    assert "whatsapp" not in runtime.senders and runtime.routes == []


@pytest.mark.asyncio
async def test_with_twilio_settings_the_hooks_and_the_sender_are_installed(runtime):
    wire_whatsapp(runtime)
    assert {route.path for route in runtime.routes} == {"/whatsapp/webhook",
                                                        "/whatsapp/status"}
    assert runtime.senders["whatsapp"].channel == "whatsapp"
