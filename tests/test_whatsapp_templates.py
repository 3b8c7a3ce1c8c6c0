"""Interactive replies through Twilio's Content API: the templates found again or created
once (also by two processes starting together on PostgreSQL), filled with
ContentVariables, used only inside the 24-hour window, and refused ones sent as numbered
text. Against our fake (stateful, checks shapes and variables) and against Prism serving
Twilio's own description of both APIs."""

import argparse
import asyncio
import json
from datetime import timedelta

import pytest

from bot.settings import Settings
from bot.whatsapp import templates
from bot.whatsapp.commands import list_templates
from bot.whatsapp.sender import WhatsAppSender
from bot.whatsapp.settings import WhatsAppSettings
from handlers.types import Choice, Reply
from models.tables import ChatIdentity, Notice
from tests.support.fake_twilio import FakeTwilio, serving
from tests.support.whatsapp import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    TEMPLATE_SID,
    TWILIO_CLIENT_WARNINGS,
    wire_whatsapp,
)

GIULIA = "+393331234567"
ALL = len(templates.catalogue())
pytestmark = TWILIO_CLIENT_WARNINGS


@pytest.fixture
def twilio(twilio_with_content):
    return twilio_with_content


def sender_for(runtime, url: str, approved: WhatsAppSettings | None = None) -> WhatsAppSender:
    wire_whatsapp(runtime, api_base_url=url,
                  templates=approved or WhatsAppSettings(_env_file=None))
    return runtime.senders["whatsapp"]


def chat(clock, hours: float = 1) -> ChatIdentity:
    return ChatIdentity(channel="whatsapp", external_id=GIULIA,
                        last_inbound_at=clock.now - timedelta(hours=hours))


def choices(*labels: str) -> tuple[Choice, ...]:
    return tuple(Choice(label, f"tok{n}") for n, label in enumerate(labels, 1))


def message_requests(twilio: FakeTwilio):
    return [r for r in twilio.requests if r.path.endswith("/Messages.json")]


@pytest.mark.asyncio
async def test_three_choices_go_as_buttons_filled_with_the_tokens(runtime, twilio, clock):
    sender = sender_for(runtime, twilio.base_url)
    reply = Reply("Confermi la richiesta?", choices("✅ Confermo", "🔁 Cambia", "🗑️ Lascia"),
                  hint="Rispondi con il numero.")
    result = await sender.send(chat(clock), reply)
    assert result.ok, result.error
    assert len(twilio.created_templates) == ALL  # none existed: all made, once
    [message] = message_requests(twilio)
    sid = message.one("ContentSid")
    assert twilio.templates[sid]["friendly_name"] == "intempo_v1_buttons_3"
    assert message.one("Body") is None
    assert json.loads(message.one("ContentVariables")) == {
        "1": "Confermi la richiesta?", "2": "✅ Confermo", "3": "tok1", "4": "🔁 Cambia",
        "5": "tok2", "6": "🗑️ Lascia", "7": "tok3"}
    quick = twilio.templates[sid]["types"]["twilio/quick-reply"]
    assert quick["actions"][2] == {"type": "QUICK_REPLY", "title": "{{6}}", "id": "{{7}}"}


@pytest.mark.asyncio
async def test_a_long_service_list_is_a_described_list_with_the_persons_button_label(
        runtime, twilio, clock):
    from tests.support.chat import enrolled

    await enrolled(runtime, GIULIA, channel="whatsapp")  # Italian
    sender = sender_for(runtime, twilio.base_url)
    labels = ["Accompagnamento a visite mediche · 90 min · 30,00 €", "Spesa · 60 min · 20,00 €",
              "⬅️ Indietro", "🏠 Menu"]
    assert (await sender.send(chat(clock), Reply("Quale servizio?", choices(*labels)))).ok
    [message] = message_requests(twilio)
    template = twilio.templates[message.one("ContentSid")]
    assert template["friendly_name"] == "intempo_v1_list_4_described"
    variables = json.loads(message.one("ContentVariables"))
    assert variables["2"] == "Accompagnamento a…"
    assert variables["4"] == "…visite mediche · 90 min · 30,00 €"
    assert variables["14"] == "Scegli"
    picker = template["types"]["twilio/list-picker"]
    assert picker["button"] == "{{14}}" and len(picker["items"]) == 4


@pytest.mark.asyncio
async def test_templates_are_found_again_after_a_restart(runtime, twilio, clock):
    first = sender_for(runtime, twilio.base_url)
    assert await first.interactive.prepare()
    await first.close()
    again = WhatsAppSender(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                           from_number="whatsapp:+14155238886",
                           templates=WhatsAppSettings(_env_file=None),
                           api_base_url=twilio.base_url, clock=runtime.clock,
                           sessions=runtime.sessions)
    assert await again.interactive.prepare()
    assert again.interactive.sids == first.interactive.sids
    assert len(twilio.created_templates) == ALL  # nothing created the second time
    await again.close()


@pytest.mark.asyncio
async def test_two_processes_starting_together_on_postgresql_create_each_template_once(
        postgres_url, twilio, clock):
    from bot.runtime import start_runtime

    runtimes = [await start_runtime(Settings(database_url=postgres_url, _env_file=None),
                                    clock=clock) for _ in range(2)]
    try:
        senders = [sender_for(runtime, twilio.base_url) for runtime in runtimes]
        ready = await asyncio.gather(*(s.interactive.prepare() for s in senders))
        assert ready == [True, True]
        names = [json.loads(r.one("json"))["friendly_name"] for r in twilio.created_templates]
        assert sorted(names) == sorted(t.friendly_name for t in templates.catalogue())
        assert senders[0].interactive.sids == senders[1].interactive.sids
    finally:
        for runtime in runtimes:
            await runtime.close()


@pytest.mark.asyncio
async def test_outside_the_window_only_the_approved_template_is_used(runtime, twilio, clock):
    sender = sender_for(runtime, twilio.base_url,
                        WhatsAppSettings(coordinator_unserved=TEMPLATE_SID, _env_file=None))
    notice = Notice(kind="coordinator.unserved", params={}, status="pending", dedupe_key="x")
    reply = Reply("Nuovo lavoro n. 4", choices("Accetto", "Rifiuto"), notice=True)
    assert (await sender.send(chat(clock, hours=30), reply, notice)).ok
    [message] = message_requests(twilio)
    assert message.one("ContentSid") == TEMPLATE_SID
    assert twilio.created_templates == []  # the interactive ones were not even looked for


@pytest.mark.asyncio
async def test_an_interactive_message_refused_goes_as_numbered_text(runtime, twilio, clock):
    sender = sender_for(runtime, twilio.base_url)
    assert await sender.interactive.prepare()
    twilio.fail_next(400, 63013, "This message violates a channel policy")
    reply = Reply("Che giorno?", choices("Lunedì", "Martedì"), hint="Rispondi con il numero.")
    result = await sender.send(chat(clock), reply)
    assert result.ok
    refused, numbered = message_requests(twilio)
    assert refused.one("ContentSid") and not refused.created
    assert numbered.one("Body") == "Che giorno?\n\n1. Lunedì\n2. Martedì\n_Rispondi con il numero._"


@pytest.mark.asyncio
async def test_without_the_content_api_replies_are_numbered(runtime, clock):
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)  # Messages only: /v1/Content is a 404
    async with serving(fake.app()) as url:
        fake.base_url = url
        sender = sender_for(runtime, url)
        assert (await sender.send(chat(clock), Reply("Sì o no?", choices("Sì", "No")))).ok
        await sender.close()
    [message] = message_requests(fake)
    assert message.one("Body") == "Sì o no?\n\n1. Sì\n2. No"


@pytest.mark.asyncio
async def test_the_command_lists_and_creates_the_templates(runtime, twilio, capsys):
    sender_for(runtime, twilio.base_url)
    assert await list_templates(runtime, argparse.Namespace(check=True)) == 1
    assert twilio.created_templates == []
    assert await list_templates(runtime, argparse.Namespace(check=False)) == 0
    assert len(twilio.created_templates) == ALL
    assert await list_templates(runtime, argparse.Namespace(check=True)) == 0
    out = capsys.readouterr().out
    assert "intempo_v1_list_10_described" in out and "created" in out
    assert out.rstrip().endswith(f"{ALL} of {ALL} templates")


# --- Prism serving Twilio's description of Messages and Content together ----------------

@pytest.mark.asyncio
async def test_prism_accepts_our_templates_and_interactive_messages(
        runtime, prism_content_url, clock):
    """Prism checks each request against Twilio's descriptions (422 if invalid) and
    answers with their examples; it keeps no state, so every template is created."""
    sender = sender_for(runtime, prism_content_url)
    assert await sender.interactive.prepare(), "Prism refused a template"
    for reply in (Reply("Sì?", choices("Sì", "No")),
                  Reply("Quale?", choices(*[f"Opzione {n}" for n in range(1, 8)])),
                  Reply("Quale servizio?", choices("Accompagnamento a visite mediche · 90 min",
                                                   "Spesa"))):
        result = await sender.send(chat(clock), reply)
        assert result.ok, result.error
    await sender.close()
