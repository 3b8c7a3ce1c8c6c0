"""Webhook mode: `POST /telegram/webhook` on the project's web app, and `setWebhook` at
start-up. Telegram proves it is Telegram by echoing, in the X-Telegram-Bot-Api-Secret-Token
header, the secret we gave it in `setWebhook`; anything else gets 403."""

import asyncio
import hmac
import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Bot, Update
from telegram.error import TelegramError

from bot.telegram.updates import UpdateProcessor

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1_000_000  # an update is a few kilobytes


def secret_matches(given: str | None, secret: str | None) -> bool:
    """Constant-time check; no configured secret means no request is trusted."""
    if not secret or given is None:
        return False
    return hmac.compare_digest(given.encode(), secret.encode())


def webhook_route(processor: UpdateProcessor, bot: Bot, secret: str | None) -> Route:
    async def receive(request: Request) -> Response:
        if not secret_matches(request.headers.get(SECRET_HEADER), secret):
            return JSONResponse({"error": "forbidden"}, status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"error": "too large"}, status_code=413)
        try:
            data = json.loads(body)
            update = Update.de_json(data, bot) if isinstance(data, dict) else None
        except (ValueError, TypeError, KeyError, AttributeError):
            update = None
        if update is None:
            return JSONResponse({"error": "not a Telegram update"}, status_code=400)
        committed = asyncio.get_running_loop().create_future()
        processor.submit(update, committed)
        # answer once the effect is committed: a 500 makes Telegram deliver it again,
        # a 200 after the commit can never lose it; the replies go out after this
        await asyncio.shield(committed)
        return Response(status_code=200)

    return Route(WEBHOOK_PATH, receive, methods=["POST"], name="telegram_webhook")


def webhook_url(public_base_url: str) -> str:
    return public_base_url.rstrip("/") + WEBHOOK_PATH


async def register_webhook(bot: Bot, url: str, secret: str | None,
                           allowed_updates: list[str]) -> bool:
    """Point Telegram at `url`. Without a secret the route refuses everything, so the
    webhook is not set at all (logged as an error): better no updates than a retry storm."""
    if not secret:
        log.error("PUBLIC_BASE_URL is set but TELEGRAM_WEBHOOK_SECRET is not: Telegram "
                  "webhook not registered")
        return False
    try:
        await bot.set_webhook(url=url, secret_token=secret, allowed_updates=allowed_updates)
    except TelegramError as error:
        log.error("Telegram setWebhook(%s) failed: %s", url, error)
        return False
    log.info("Telegram webhook set to %s", url)
    return True
