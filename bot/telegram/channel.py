"""The Telegram channel's wiring into the runtime.

With TELEGRAM_BOT_TOKEN set, the channel always registers its outbox sender. Then:
- PUBLIC_BASE_URL set → webhook mode: `POST /telegram/webhook` on the web app, and
  `setWebhook` + `setMyCommands` when the web app starts (`intempo web`, `intempo serve`);
- otherwise → polling mode: long polling runs as a job of `intempo serve` only.
TELEGRAM_API_BASE_URL points the bot at another Bot API server (a local one) in both."""

import asyncio
import logging

from telegram import Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import BaseRequest

from bot.telegram.adapter import CHANNEL
from bot.telegram.commands import publish_commands
from bot.telegram.sender import TelegramSender
from bot.telegram.updates import UpdateProcessor
from bot.telegram.webhook import register_webhook, webhook_route, webhook_url

log = logging.getLogger(__name__)
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CHANNEL_POST,
                   Update.CALLBACK_QUERY]
DEFAULT_API_URL = "https://api.telegram.org/bot"
START_BACKOFF_MAX = 60.0  # seconds between attempts to reach Telegram at start-up
DRAIN_SECONDS = 10.0  # at shutdown, time left to updates already being handled


def api_urls(value: str | None) -> tuple[str, str]:
    """TELEGRAM_API_BASE_URL → PTB's `base_url` and `base_file_url`.

    The value is the server's address up to and including `/bot` (the token is appended
    to it), e.g. `http://127.0.0.1:8081/bot`; a bare `http://127.0.0.1:8081` gets `/bot`
    added. A value containing `{token}` is used as is."""
    if not value:
        return DEFAULT_API_URL, "https://api.telegram.org/file/bot"
    value = value.strip().rstrip("/")
    if "{token}" in value:
        return value, value.replace("/bot{token}", "/file/bot{token}")
    if not value.endswith("/bot"):
        value += "/bot"
    return value, value.removesuffix("/bot") + "/file/bot"


def build_application(token: str, *, api_base_url: str | None = None,
                      request: BaseRequest | None = None, polling: bool = True) -> Application:
    """A PTB application. `request` replaces the HTTP transport (tests use a fake one)."""
    base_url, base_file_url = api_urls(api_base_url)
    builder = ApplicationBuilder().token(token).base_url(base_url).base_file_url(base_file_url)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if not polling:
        builder = builder.updater(None)
    return builder.build()


class TelegramChannel:
    """The PTB application, the sender and the update processor of one runtime."""

    def __init__(self, runtime, application: Application):
        self.application = application
        self.sender = TelegramSender(application.bot, ready=self.ready)
        self.processor = UpdateProcessor(runtime.sessions, runtime.dialogue, self.sender,
                                         runtime.clock)
        self._initialized = False
        self._initializing = asyncio.Lock()
        application.add_handler(TypeHandler(Update, self._on_polled_update))

    @property
    def bot(self):
        return self.application.bot

    async def ready(self) -> None:
        """Initialise the application once (`getMe`: checks the token)."""
        if self._initialized:
            return
        async with self._initializing:
            if not self._initialized:
                await self.application.initialize()
                self._initialized = True

    async def _on_polled_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE):
        # PTB hands polled updates over one at a time; the processor orders them by chat
        self.processor.submit(update)

    async def run_polling(self, runtime) -> None:
        """The `serve` job of polling mode: poll until cancelled, then stop cleanly."""
        updater = self.application.updater
        try:
            if not await self._start_polling():
                return
            await self.application.start()
            log.info("Telegram long polling started as @%s", self.bot.username)
            await asyncio.Event().wait()
        finally:
            if updater.running:
                await updater.stop()
            if self.application.running:
                await self.application.stop()
            await self._drain()
            log.info("Telegram long polling stopped")

    async def start_webhook(self, runtime) -> None:
        """The web app's start-up hook of webhook mode. Never stops the web app from
        starting: a failure is logged and the sender initialises the bot again later."""
        try:
            await self.ready()
        except (InvalidToken, NetworkError) as error:
            log.error("Telegram is not reachable with this token at start-up: %s", error)
            return
        await publish_commands(self.bot)
        await register_webhook(self.bot, webhook_url(runtime.settings.public_base_url),
                               _secret(runtime.settings.telegram_webhook_secret),
                               ALLOWED_UPDATES)

    async def close(self, runtime) -> None:
        await self._drain()
        if self._initialized and not self.application.running:
            await self.application.shutdown()
            self._initialized = False

    async def _start_polling(self) -> bool:
        """Check the token, set the commands menu, delete any webhook and start polling,
        waiting out network trouble (e.g. started before the network is up); a rejected
        token gives up, logged, and the rest of `serve` goes on without Telegram."""
        backoff = 1.0
        while True:
            try:
                await self.ready()
                await publish_commands(self.bot)
                # start_polling sends deleteWebhook first: polling and a webhook exclude
                # each other
                await self.application.updater.start_polling(
                    allowed_updates=ALLOWED_UPDATES, bootstrap_retries=3)
                return True
            except InvalidToken as error:
                log.error("Telegram rejected TELEGRAM_BOT_TOKEN; polling not started: %s", error)
                return False
            except NetworkError as error:
                log.warning("Telegram not reachable (%s); trying again in %.0f s", error,
                            backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, START_BACKOFF_MAX)

    async def _drain(self) -> None:
        try:
            await asyncio.wait_for(self.processor.order.drain(), DRAIN_SECONDS)
        except TimeoutError:
            log.warning("%d Telegram updates still being handled at shutdown",
                        self.processor.order.pending())


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def install(runtime, *, request: BaseRequest | None = None) -> TelegramChannel | None:
    """Wire the channel into `runtime` when a bot token is set (see the module docstring)."""
    settings = runtime.settings
    token = _secret(settings.telegram_bot_token)
    if not token:
        return None
    webhook_mode = bool(settings.public_base_url)
    application = build_application(token, api_base_url=settings.telegram_api_base_url,
                                    request=request, polling=not webhook_mode)
    channel = TelegramChannel(runtime, application)
    runtime.senders[CHANNEL] = channel.sender
    if webhook_mode:
        runtime.routes.append(webhook_route(channel.processor, application.bot,
                                            _secret(settings.telegram_webhook_secret)))
        runtime.web_startup.append(channel.start_webhook)
    else:
        runtime.serve_jobs.append(channel.run_polling)
    runtime.shutdown.append(channel.close)
    return channel
