"""A real `intempo serve` killed while notices flow and messages come in: SIGKILL, SIGTERM,
SIGKILL again, restarted each time. Afterwards every notice queued was sent exactly once
(to a small Twilio on loopback that counts each message by the notice its status
callback names) and every inbound message answered 200 was recorded. Bounded: a few
dozen notices, three kills, a short lease (DISPATCH_LEASE_SECONDS=2)."""

import asyncio
import signal
from collections import Counter

import pytest

from tests.support.fake_twilio import FakeTwilio, serving
from tests.support.serve import (
    PER_ROUND,
    Serve,
    last_life,
    one_life,
    prepare,
    put_down,
    queue_round,
    stored,
)
from tests.support.whatsapp import ACCOUNT_SID, AUTH_TOKEN

pytestmark = [pytest.mark.asyncio,
              pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:The 'auth' parameter:DeprecationWarning")]
KILLS = [signal.SIGKILL, signal.SIGTERM, signal.SIGKILL]


async def test_serve_killed_and_stopped_while_notices_flow_sends_each_once(sqlite_url,
                                                                         tmp_path):
    await prepare(sqlite_url)
    twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, delay=0.15)  # sends stay in flight a while
    answered: list[str] = []
    async with serving(twilio.app()) as twilio_url:
        serve = Serve(sqlite_url, twilio_url, tmp_path / "serve.log")
        try:
            for round_number, signum in enumerate(KILLS):
                await one_life(serve, twilio, sqlite_url, round_number, signum, answered)
            await last_life(serve, sqlite_url)  # everything left goes out
        finally:
            await put_down(serve)
    notices, updates = await stored(sqlite_url)
    assert len(notices) == PER_ROUND * len(KILLS)
    assert Counter(n.status for n in notices) == {"sent": len(notices)}  # none lost
    callbacks = Counter(r.one("StatusCallback").rsplit("=", 1)[1] for r in twilio.sent)
    assert set(callbacks) == {str(n.id) for n in notices}
    assert [i for i, times in callbacks.items() if times > 1] == []  # none twice
    assert set(answered) <= updates  # every message answered was recorded
    unknown = sum(n.unknown_outcomes for n in notices)
    assert unknown >= 2  # each SIGKILL left a send in flight, settled without a second one
    print(f"{len(twilio.sent)} messages for {len(notices)} notices; {unknown} sends left "
          f"unknown by a kill and settled by asking Twilio; {len(answered)} inbound answered; "
          f"serve started in {max(serve.startup_seconds):.1f} s at most")


async def test_a_worker_told_to_stop_finishes_its_send_and_hands_back_the_rest(sqlite_url,
                                                                             tmp_path):
    await prepare(sqlite_url)
    twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, delay=1.0)  # a slow Twilio
    async with serving(twilio.app()) as twilio_url:
        worker = Serve(sqlite_url, twilio_url, tmp_path / "worker.log", command="worker")
        worker.env["LOG_LEVEL"] = "WARNING"
        await queue_round(sqlite_url, 0)
        try:
            await worker.start()
            for _ in range(3000):  # SIGTERM while a message is at Twilio
                if twilio.answering:
                    break
                await asyncio.sleep(0.01)
            assert twilio.answering, (tmp_path / "worker.log").read_text()[-3000:]
            await worker.stop(signal.SIGTERM)
        finally:
            await put_down(worker)
    assert worker.process.returncode == 0, (tmp_path / "worker.log").read_text()[-3000:]
    notices, _ = await stored(sqlite_url)
    sent = {r.one("StatusCallback").rsplit("=", 1)[1] for r in twilio.sent}
    assert sent  # at least the one under way at the signal
    for notice in notices:
        assert notice.in_flight_at is None  # nothing it sent went unrecorded
        if str(notice.id) in sent:
            assert notice.status == "sent" and notice.provider_message_id
        else:  # handed back: due at once for the next dispatcher, not after a lease
            assert notice.status == "pending" and notice.claimed_until is None
