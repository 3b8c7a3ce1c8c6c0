"""A real `intempo serve` (or `worker`) as a child process on a test's database and a fake
Twilio on loopback, and what crash tests and bench/crash_campaign.py do around it:
people enrolled on WhatsApp, rounds of notices queued, signed messages written in, and
the store read back."""

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx
from sqlmodel import select

from bot.runtime import start_runtime
from bot.settings import Settings
from models.catalog import load_catalog, read_catalog
from models.db import transaction
from models.outbox import queue_notice
from models.tables import ChatIdentity, Notice, ProcessedUpdate
from tests.support.catalogs import CATALOG
from tests.support.chat import enrolled
from tests.support.fake_telegram import TOKEN
from tests.support.net import free_port
from tests.support.whatsapp import ACCOUNT_SID, AUTH_TOKEN, FROM, WEBHOOK, inbound_form, signature

ROOT = Path(__file__).resolve().parent.parent.parent
PEOPLE = [f"+3933340000{n:02d}" for n in range(8)]
PER_ROUND = 16  # notices queued in each life of the process
PARAMS = {"request_id": 7, "service": "Spesa a domicilio", "place": "Crema",
          "when": "giovedì 26 novembre, 08:00"}


class Serve:
    """`intempo serve` (or `worker`) as a child process, on the test's database and fake
    Twilio (and, given `telegram_url`, a fake Bot API server it polls and sends to)."""

    def __init__(self, url: str, twilio_url: str, log: Path, command: str = "serve", *,
                 telegram_url: str | None = None):
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
        if telegram_url is not None:
            self.env |= {"TELEGRAM_BOT_TOKEN": TOKEN,
                         "TELEGRAM_API_BASE_URL": f"{telegram_url}/bot"}
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


async def prepare(url: str, channel: str = "whatsapp") -> None:
    """The catalogue, and eight workers enrolled on WhatsApp (their window open), or on
    another channel."""
    runtime = await start_runtime(Settings(database_url=url, _env_file=None))
    try:
        async with transaction(runtime.sessions) as session:
            await load_catalog(session, read_catalog(CATALOG))
        for phone in PEOPLE:
            await enrolled(runtime, phone if channel == "whatsapp" else phone[1:],
                           channel=channel)
    finally:
        await runtime.close()


async def queue_round(url: str, round_number: int) -> None:
    runtime = await start_runtime(Settings(database_url=url, _env_file=None))
    try:
        async with transaction(runtime.sessions) as session:
            people = sorted(set((await session.exec(select(ChatIdentity.person_id).where(
                ChatIdentity.person_id.is_not(None)))).all()))
            for n in range(PER_ROUND):
                # each notice's text its own (the number), so a message sent twice shows
                number = 10_000 + round_number * PER_ROUND + n
                await queue_notice(session, person_id=people[n % len(people)],
                                   kind="coordinator.unserved",
                                   params=PARAMS | {"request_id": number},
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


async def one_life(serve: Serve, twilio, url: str, round_number: int, signum: int,
                   answered: list[str], writes: int = 6) -> None:
    """Start the process, queue a round of notices, write in while they go out, and stop
    it with `signum` while a send is at Twilio, its answer not back."""
    await serve.start()
    before = len(twilio.sent)
    await queue_round(url, round_number)
    writing = asyncio.create_task(write_in(serve, answered, writes))
    for _ in range(400):
        if len(twilio.sent) >= before + 3 and twilio.answering:
            break
        await asyncio.sleep(0.01)
    await serve.stop(signum)
    await writing


async def last_life(serve: Serve, url: str, patience: float = 30.0) -> None:
    """Start the process once more and let everything left go out (until all is sent, or
    nothing more went out for `patience` seconds), then stop it."""
    await serve.start()
    waiting, since = None, time.monotonic()
    while time.monotonic() - since < patience:
        notices, _ = await stored(url)
        left = sum(n.status not in ("sent", "delivered") for n in notices)
        if left == 0:
            break
        if left != waiting:
            waiting, since = left, time.monotonic()
        await asyncio.sleep(0.2)
    await serve.stop(signal.SIGTERM)


async def put_down(serve: Serve) -> None:
    """Kill the process if it still runs (a failed test or run leaves no server behind)."""
    if serve.process is not None and serve.process.returncode is None:
        serve.process.kill()
        await serve.process.wait()
