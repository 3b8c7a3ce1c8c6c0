"""Webhook mode: POST /telegram/webhook on the project's web app, guarded by the secret
header, and setWebhook/setMyCommands when the web app starts."""

import httpx
import pytest
import pytest_asyncio
from sqlmodel import func, select

from bot.settings import Settings
from bot.telegram.channel import ALLOWED_UPDATES, install
from bot.telegram.webhook import SECRET_HEADER
from bot.web import create_app
from handlers.messages import text
from models.db import transaction
from models.tables import ProcessedUpdate
from tests.support.fake_telegram import TOKEN, Updates

pytestmark = pytest.mark.asyncio
SECRET = "s3cret-Token_for-the-webhook"
PUBLIC = "https://intempo.example.org/"
CHAT = 4242


def webhook_settings(runtime, **values) -> Settings:
    return Settings(database_url=runtime.settings.database_url, _env_file=None,
                    telegram_bot_token=TOKEN, public_base_url=PUBLIC, **values)


@pytest_asyncio.fixture
async def channel(runtime, api):
    runtime.settings = webhook_settings(runtime, telegram_webhook_secret=SECRET)
    return install(runtime, request=api)


@pytest_asyncio.fixture
async def client(runtime, channel):
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        yield client


async def processed(runtime) -> int:
    async with transaction(runtime.sessions) as session:
        return (await session.exec(select(func.count()).select_from(ProcessedUpdate))).one()


async def test_webhook_mode_installs_a_route_and_no_polling(runtime, channel):
    assert [route.path for route in runtime.routes] == ["/telegram/webhook"]
    assert runtime.serve_jobs == []
    assert runtime.senders["telegram"] is channel.sender


async def test_an_update_with_the_right_secret_is_handled(runtime, channel, client, api):
    update = Updates().message(CHAT, "/start")
    response = await client.post("/telegram/webhook", json=update,
                                 headers={SECRET_HEADER: SECRET})
    assert response.status_code == 200
    assert await processed(runtime) == 1  # committed before Telegram got its 200
    await channel.processor.order.drain()
    assert api.sent(CHAT)[-1]["text"].startswith(text("it", "onboarding.welcome")[:40])


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "wrong"},
                                     {SECRET_HEADER: SECRET + "x"}, {SECRET_HEADER: ""}],
                         ids=["missing", "wrong", "longer", "empty"])
async def test_an_update_without_the_right_secret_is_refused(runtime, client, api, headers):
    response = await client.post("/telegram/webhook", json=Updates().message(CHAT, "ciao"),
                                 headers=headers)
    assert response.status_code == 403
    assert await processed(runtime) == 0
    assert api.sent() == []


async def test_without_a_configured_secret_everything_is_refused(runtime, api):
    runtime.settings = webhook_settings(runtime)
    install(runtime, request=api)
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        response = await client.post("/telegram/webhook", json=Updates().message(CHAT, "x"),
                                     headers={SECRET_HEADER: ""})
    assert response.status_code == 403
    assert await processed(runtime) == 0


async def test_the_same_update_posted_twice_is_answered_once(runtime, channel, client, api):
    update = Updates().message(CHAT, "ciao")
    for _ in range(2):
        response = await client.post("/telegram/webhook", json=update,
                                     headers={SECRET_HEADER: SECRET})
        assert response.status_code == 200
    await channel.processor.order.drain()
    assert len(api.sent(CHAT)) == 1
    assert await processed(runtime) == 1


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"message": {}}'])
async def test_a_body_that_is_not_an_update_is_a_bad_request(client, api, body):
    response = await client.post("/telegram/webhook", content=body,
                                 headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400
    assert api.sent() == []


async def test_only_post_is_accepted(client):
    assert (await client.get("/telegram/webhook")).status_code == 405


async def test_start_up_sets_the_webhook_and_the_commands(runtime, channel, api):
    app = create_app(runtime)
    async with app.router.lifespan_context(app):
        pass
    (webhook,) = api.called("setWebhook")
    assert webhook["url"] == "https://intempo.example.org/telegram/webhook"
    assert webhook["secret_token"] == SECRET
    assert webhook["allowed_updates"] == ALLOWED_UPDATES
    commands = {c.get("language_code"): c["commands"] for c in api.called("setMyCommands")}
    assert set(commands) == {None, "it", "en"}
    assert {"command": "richieste", "description": text("en", "command.richieste")} \
        in commands["en"]
    assert [c["command"] for c in commands["it"]] == ["start", "menu", "aiuto", "annulla",
                                                      "richieste"]
    assert api.called("getMe")


async def test_start_up_without_a_secret_does_not_set_the_webhook(runtime, api):
    runtime.settings = webhook_settings(runtime)
    install(runtime, request=api)
    app = create_app(runtime)
    async with app.router.lifespan_context(app):
        pass
    assert api.called("setWebhook") == []
    assert api.called("setMyCommands")  # the menu is still set


async def test_a_local_bot_api_server_is_used_for_webhook_mode(runtime, api):
    runtime.settings = webhook_settings(runtime, telegram_webhook_secret=SECRET,
                                        telegram_api_base_url="http://127.0.0.1:8081")
    channel = install(runtime, request=api)
    await channel.start_webhook(runtime)
    assert api.calls and all(call.url.startswith(f"http://127.0.0.1:8081/bot{TOKEN}/")
                             for call in api.calls)
