"""Polling mode: long polling as a job of `intempo serve`, over the fake Bot API."""

import asyncio

import pytest
import pytest_asyncio

from bot.settings import Settings
from bot.telegram.channel import ALLOWED_UPDATES, install
from handlers.messages import text
from tests.support.fake_telegram import TOKEN, FakeBotApi, Updates

pytestmark = pytest.mark.asyncio
CHAT = 4242


def polling_settings(runtime, **values) -> Settings:
    return Settings(database_url=runtime.settings.database_url, _env_file=None,
                    telegram_bot_token=TOKEN, **values)


@pytest_asyncio.fixture
async def channel(runtime, api):
    runtime.settings = polling_settings(runtime)
    return install(runtime, request=api)


async def poll_until(job_runtime, channel, replies: int, api: FakeBotApi) -> None:
    """Run the polling job until `replies` messages were sent, then cancel it."""
    reached = api.expect(replies)
    job = asyncio.create_task(channel.run_polling(job_runtime))
    try:
        await asyncio.wait_for(reached.wait(), 10)
        await asyncio.sleep(0.1)  # room for a reply too many to show up
    finally:
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)


async def test_without_a_token_nothing_is_installed(runtime):
    assert install(runtime) is None
    assert "telegram" not in runtime.senders and runtime.routes == []


async def test_polling_mode_is_a_serve_job_only(runtime, channel):
    assert runtime.serve_jobs == [channel.run_polling]
    assert runtime.routes == [] and runtime.web_startup == []
    assert runtime.senders["telegram"] is channel.sender


async def test_long_polling_answers_each_update_once_in_order(runtime, channel, api):
    updates = Updates()
    start = updates.message(CHAT, "/start")
    api.queue_updates(start, start, updates.photo(CHAT))  # the first one replayed

    await poll_until(runtime, channel, 2, api)

    assert [m["text"][:30] for m in api.sent(CHAT)] == [
        text("it", "onboarding.welcome")[:30], text("it", "channel.text_only")[:30]]
    assert api.called("deleteWebhook")
    assert api.called("getUpdates")[0]["allowed_updates"] == ALLOWED_UPDATES
    assert {c.get("language_code") for c in api.called("setMyCommands")} == {None, "it", "en"}
    assert not channel.application.running
    assert not channel.application.updater.running


async def test_polling_through_a_local_bot_api_server(runtime, api):
    runtime.settings = polling_settings(runtime,
                                        telegram_api_base_url="http://127.0.0.1:8081/bot/")
    channel = install(runtime, request=api)
    api.queue_updates(Updates().message(CHAT, "/start"))

    await poll_until(runtime, channel, 1, api)

    assert {call.method for call in api.calls} >= {"getMe", "getUpdates", "sendMessage"}
    assert all(call.url.startswith(f"http://127.0.0.1:8081/bot{TOKEN}/") for call in api.calls)


async def test_a_rejected_token_stops_polling_before_it_starts(runtime, channel, api):
    api.fail("getMe", 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    await asyncio.wait_for(channel.run_polling(runtime), 5)
    assert api.called("getUpdates") == []


async def test_polling_waits_out_a_network_failure_at_start_up(runtime, channel, api):
    api.network_failure("getMe")  # e.g. `serve` started before the network was up
    api.queue_updates(Updates().message(CHAT, "/start"))

    await poll_until(runtime, channel, 1, api)

    assert len(api.called("getMe")) == 2
    assert api.sent(CHAT)
