"""The WhatsApp channel's wiring into the runtime: the two signed webhooks, the outbox
sender and (WHATSAPP_REPLY_MODE=rest, the default) the turn runner that answers the
stored messages, installed only when the Twilio account, token and sender number are all
set."""

import asyncio
import logging

from starlette.routing import Route
from twilio.request_validator import RequestValidator

from bot.whatsapp import inbound, status
from bot.whatsapp.sender import WhatsAppSender
from bot.whatsapp.settings import WhatsAppSettings
from bot.whatsapp.turns import TurnRunner

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/whatsapp/webhook"
STATUS_PATH = "/whatsapp/status"


def install(runtime, templates: WhatsAppSettings | None = None) -> None:
    """Add POST /whatsapp/webhook, POST /whatsapp/status and the "whatsapp" sender."""
    settings = runtime.settings
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token \
        else None
    if not (settings.twilio_account_sid and token and settings.twilio_whatsapp_from):
        return
    base = settings.public_base_url.rstrip("/") if settings.public_base_url else None
    if base is None:
        log.warning("PUBLIC_BASE_URL is not set: Twilio signatures are checked against the "
                    "URL this process sees, and no delivery status will be asked for")
    validator = RequestValidator(token)
    sender = WhatsAppSender(
        account_sid=settings.twilio_account_sid, auth_token=token,
        from_number=settings.twilio_whatsapp_from,
        templates=templates if templates is not None else WhatsAppSettings(),
        status_callback=f"{base}{STATUS_PATH}" if base else None,
        api_base_url=settings.twilio_api_base_url, clock=runtime.clock,
        links=runtime.file_links, sessions=runtime.sessions)
    runtime.senders["whatsapp"] = sender
    runner = TurnRunner(runtime, sender) if settings.whatsapp_reply_mode == "rest" else None
    runtime.routes += [
        Route(WEBHOOK_PATH, inbound.endpoint(runtime, validator, runner), methods=["POST"]),
        Route(STATUS_PATH, status.endpoint(runtime, validator), methods=["POST"]),
    ]
    if runner is not None:
        sender.runner = runner
        runtime.web_startup.append(runner.start)
        runtime.shutdown.append(runner.close)
    runtime.web_startup.append(lambda _runtime: prepare_templates(sender))

    async def close_sender(_runtime) -> None:
        await sender.close()

    runtime.shutdown.append(close_sender)


async def prepare_templates(sender: WhatsAppSender) -> None:
    """Find (or create) the interactive templates at start-up, without holding the start
    up: a reply sent meanwhile waits for them (at most the client's timeout), and if
    Twilio cannot be reached, replies go as numbered text until a later try works."""
    sender.preparing = asyncio.create_task(sender.interactive.prepare())
