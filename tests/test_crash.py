"""A real `intempo serve` killed while notices flow and messages come in: SIGKILL, SIGTERM,
SIGKILL again, restarted each time. Afterwards every notice queued was sent exactly once
(to a small Twilio on loopback that counts each message by the notice its status
callback names) and every inbound message answered 200 was recorded. Bounded: a few
dozen notices, three kills, a short lease (DISPATCH_LEASE_SECONDS=2)."""

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.runtime import start_runtime
from bot.settings import Settings
from models.catalog import load_catalog, read_catalog
from models.db import transaction
from models.outbox import queue_notice
from models.tables import ChatIdentity, Notice, ProcessedUpdate
from tests.support.catalogs import CATALOG
from tests.support.chat import enrolled
from tests.support.fake_twilio import FakeTwilio, serving
from tests.support.net import free_port
from tests.support.whatsapp import ACCOUNT_SID, AUTH_TOKEN, FROM, WEBHOOK, inbound_form, signature

pytestmark = [pytest.mark.asyncio,
              pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:The 'auth' parameter:DeprecationWarning")]
ROOT = Path(__file__).resolve().parent.parent
PEOPLE = [f"+3933340000{n:02d}" for n in range(8)]
PER_ROUND = 16  # notices queued in each life of the process
KILLS = [signal.SIGKILL, signal.SIGTERM, signal.SIGKILL]
PARAMS = {"request_id": 7, "service": "Spesa a domicilio", "place": "Crema",
          "when": "giovedì 26 novembre, 08:00"}


class Serve:
    """`intempo serve` (or `worker`) as a child process, on the test's database and fake
    Twilio."""

    def __init__(self, url: str, twilio_url: str, log: Path, command: str = "serve"):
        self.command = command
        self.port = free_port()
        self.public = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": url, "PORT": str(self.port),
                    "HOST": "127.0.0.1", "PUBLIC_BASE_URL": self.public,
                    "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                    "TWILIO_WHATSAPP_FROM": FROM, "TWILIO_API_BASE_URL": twilio_url,
                    # replies inline: every REST send here is a notice, the thing counted
                    # (the stored-then-answered mode has its own restart tests)
                    "WHATSAPP_REPLY_MODE": "twiml",
                    "DISPATCH_INTERVAL_SECONDS": "0.1", "DISPATCH_LEASE_SECONDS": "2",
                    "LOG_LEVEL": "WARNING"}
        self.env.pop("TELEGRAM_BOT_TOKEN", None)
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.startup_seconds: list[float] = []

    async def start(self) -> None:
        began = time.monotonic()
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", self.command, cwd=ROOT, env=self.env,
                stdout=out, stderr=out)
        if self.command != "serve":
            return  # no web app to wait for
        async with httpx.AsyncClient(base_url=self.public) as client:
            for _ in range(300):
                try:
                    if (await client.get("/health")).status_code == 200:
                        self.startup_seconds.append(time.monotonic() - began)
                        return
                except httpx.TransportError:
                    pass
                if self.process.returncode is not None:
                    break
                await asyncio.sleep(0.1)
        raise AssertionError(f"serve did not start:\n{self.log.read_text()[-3000:]}")

    async def stop(self, signum: int) -> None:
        self.process.send_signal(signum)
        await asyncio.wait_for(self.process.wait(), 40)


async def prepare(url: str) -> None:
    """The catalogue, and eight workers enrolled on WhatsApp (their window open)."""
    runtime = await start_runtime(Settings(database_url=url, _env_file=None))
    try:
        async with transaction(runtime.sessions) as session:
            await load_catalog(session, read_catalog(CATALOG))
        for phone in PEOPLE:
            await enrolled(runtime, phone, channel="whatsapp")
    finally:
        await runtime.close()


async def queue_round(url: str, round_number: int) -> None:
    runtime = await start_runtime(Settings(database_url=url, _env_file=None))
    try:
        async with transaction(runtime.sessions) as session:
            people = (await session.exec(select(ChatIdentity.person_id).where(
                ChatIdentity.channel == "whatsapp"))).all()
            for n in range(PER_ROUND):
                await queue_notice(session, person_id=people[n % len(people)],
                                   kind="coordinator.unserved", params=PARAMS,
                                   dedupe_key=f"crash:{round_number}:{n}",
                                   now=runtime.clock())
    finally:
        await runtime.close()


async def write_in(serve: Serve, answered: list[str], count: int) -> None:
    """People writing «menu» while the process lives; the SIDs answered 200 are kept."""
    async with httpx.AsyncClient(base_url=serve.public) as client:
        for n in range(count):
            form = inbound_form(PEOPLE[n % len(PEOPLE)], "menu")
            headers = {"X-Twilio-Signature": signature(WEBHOOK, form, public=serve.public)}
            try:
                response = await client.post(WEBHOOK, data=form, headers=headers)
            except httpx.TransportError:
                return  # the process is gone: what was not answered may be lost
            assert response.status_code == 200, response.text
            answered.append(form["MessageSid"])


async def stored(url: str) -> tuple[list[Notice], set[str]]:
    runtime = await start_runtime(Settings(database_url=url, _env_file=None))
    try:
        async with transaction(runtime.sessions) as session:
            notices = list((await session.exec(select(Notice).where(
                Notice.dedupe_key.like("crash:%")))).all())
            updates = set((await session.exec(select(ProcessedUpdate.update_id))).all())
        return notices, updates
    finally:
        await runtime.close()


async def test_serve_killed_and_stopped_while_notices_flow_sends_each_once(sqlite_url,
                                                                         tmp_path):
    await prepare(sqlite_url)
    twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, delay=0.15)  # sends stay in flight a while
    answered: list[str] = []
    async with serving(twilio.app()) as twilio_url:
        serve = Serve(sqlite_url, twilio_url, tmp_path / "serve.log")
        try:
            for round_number, signum in enumerate(KILLS):
                await serve.start()
                before = len(twilio.sent)
                await queue_round(sqlite_url, round_number)
                writing = asyncio.create_task(write_in(serve, answered, 6))
                for _ in range(400):  # kill while a notice is at Twilio, its answer not back
                    if len(twilio.sent) >= before + 3 and twilio.answering:
                        break
                    await asyncio.sleep(0.01)
                await serve.stop(signum)
                await writing
            await serve.start()  # the last life: everything left goes out
            for _ in range(300):
                notices, _ = await stored(sqlite_url)
                if all(n.status in ("sent", "delivered") for n in notices):
                    break
                await asyncio.sleep(0.2)
            await serve.stop(signal.SIGTERM)
        finally:
            if serve.process is not None and serve.process.returncode is None:
                serve.process.kill()  # a failed test leaves no server behind
                await serve.process.wait()
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
            if worker.process.returncode is None:
                worker.process.kill()
                await worker.process.wait()
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
