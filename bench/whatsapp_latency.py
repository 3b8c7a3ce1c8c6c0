"""Latency of the WhatsApp webhook under 100 concurrent signed requests, on loopback.

A real ASGI server (uvicorn, started in this process on 127.0.0.1, a free port) serves the
project's app with the WhatsApp channel installed, plus a bare endpoint that only checks
the Twilio signature and answers empty TwiML. A load generator in a child process (so it
does not share the server's event loop or interpreter lock) sends rounds of concurrent
requests, alternating bare and real rounds, each request signed with the twilio library
and coming from a different enrolled worker typing "menu" (one dialogue turn: read the
conversation, write it and its choice tokens, answer the main menu).

`--mode rest` (the product's default): the webhook stores the message and answers empty
TwiML, the turn runs right after and its reply (the menu, as a list) goes through the REST
API to a fake Twilio in a third process (tests/support/fake_twilio.py, Messages and
Content), which notes when each request arrives: the script also reports the time from the
webhook's arrival to the reply's REST request, and waits for every reply before the next
round.
`--mode twiml`: the whole turn inside the webhook, the menu in the TwiML answer.

It runs on SQLite (a temporary file) and on PostgreSQL (a temporary database created on
postgresql://postgres@127.0.0.1:5432 — INTEMPO_BENCH_PG to change — and dropped after;
skipped with a message when the server does not answer).

    .venv/bin/python bench/whatsapp_latency.py [--concurrency 100] [--rounds 5] [--profile]
        [--mode rest|twiml] [--only sqlite|postgres]
"""

import argparse
import asyncio
import contextlib
import cProfile
import io
import itertools
import multiprocessing
import os
import pstats
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "b" * 32
FROM = "whatsapp:+14155238886"
PUBLIC = "https://intempo.example.org"
WEBHOOK, BARE = "/whatsapp/webhook", "/bench/bare"
PG_ADMIN = os.environ.get("INTEMPO_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
MAX_CONCURRENCY, MAX_ROUNDS = 500, 50  # bounded: this is a benchmark, not a load test


# --- the load generator (child process) ---------------------------------------------------

def load_generator(connection, base_url: str) -> None:
    """Receives rounds [(path, form, signature), …]; answers with each request's seconds."""
    asyncio.run(_generate(connection, base_url))


async def _generate(connection, base_url: str) -> None:
    import httpx

    limits = httpx.Limits(max_connections=MAX_CONCURRENCY, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        while (batch := connection.recv()) is not None:
            try:
                connection.send(await asyncio.gather(*(_timed(client, *r) for r in batch)))
            except Exception as problem:  # tell the server side, which stops the run
                connection.send(f"{type(problem).__name__}: {problem}")


async def _timed(client, path: str, form: dict, signature: str) -> tuple[float, float]:
    """(when it left, on the machine-wide monotonic clock; how long the answer took)."""
    sent_at = time.monotonic()
    started = time.perf_counter()
    response = await client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
    return sent_at, elapsed


# --- the fake Twilio (child process, rest mode) --------------------------------------------

def fake_twilio(connection) -> None:
    """Serve tests/support/fake_twilio.py on a free port (sent back); GET /bench/received
    lists (To, arrival) of every message created, arrival on the machine-wide monotonic
    clock."""
    import uvicorn
    from starlette.responses import JSONResponse

    from tests.support.fake_twilio import FakeTwilio

    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, content=True)
    app = fake.app()

    async def received(request):
        return JSONResponse([[r.one("To"), r.arrived] for r in fake.sent])

    app.add_route("/bench/received", received, methods=["GET"])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    fake.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    connection.send(fake.base_url)
    uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning",
                                  access_log=False)).run(sockets=[sock])


# --- the server side (this process) -------------------------------------------------------

def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def form_for(phone: str, sid: str) -> dict:
    return {"MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{phone}", "To": FROM, "Body": "menu", "NumMedia": "0",
            "ProfileName": "Bench", "WaId": phone[1:], "MessageType": "text",
            "SmsStatus": "received", "NumSegments": "1", "ApiVersion": "2010-04-01"}


async def enrol_workers(runtime, count: int) -> list[str]:
    """`count` workers enrolled on WhatsApp through the real onboarding dialogue."""
    from handlers.types import Incoming
    from models.base import Role
    from models.db import transaction
    from models.people import create_codes

    async with transaction(runtime.sessions) as session:
        codes = await create_codes(session, "iride", Role.WORKER, count, runtime.clock(), 30)
    phones = [f"+39333{n:07d}" for n in range(1_000_000, 1_000_000 + count)]
    for phone, code in zip(phones, codes, strict=True):
        for text in (code, "1", "accetto", "Bench", "4"):
            await runtime.dialogue.handle(Incoming("whatsapp", phone, text=text))
    return phones


def bare_route(runtime):
    """The floor: signature check and empty TwiML, nothing else."""
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route
    from twilio.request_validator import RequestValidator
    from twilio.twiml.messaging_response import MessagingResponse

    from bot.whatsapp.signature import Refused, signed_form

    validator = RequestValidator(AUTH_TOKEN)

    async def bare(request):
        try:
            await signed_form(request, validator, PUBLIC)
        except Refused:
            return PlainTextResponse("forbidden", status_code=403)
        return Response(str(MessagingResponse()), media_type="application/xml")

    return Route(BARE, bare, methods=["POST"])


async def replies_received(fake_url: str) -> list[tuple[str, float]]:
    import httpx

    async with httpx.AsyncClient() as client:
        return [tuple(pair) for pair in (await client.get(f"{fake_url}/bench/received")).json()]


async def measure(database_url: str, concurrency: int, rounds: int, profile: bool,
                  mode: str = "rest") -> dict:
    import uvicorn
    from twilio.request_validator import RequestValidator

    from bot.runtime import start_runtime
    from bot.settings import Settings
    from bot.web import create_app
    from models.catalog import load_catalog, read_catalog
    from models.db import transaction

    context = multiprocessing.get_context("spawn")
    fake_url, fake = None, None
    if mode == "rest":
        ours_fake, theirs_fake = context.Pipe()
        fake = context.Process(target=fake_twilio, args=(theirs_fake,), daemon=True)
        fake.start()
        fake_url = ours_fake.recv()
    settings = Settings(database_url=database_url, twilio_account_sid=ACCOUNT_SID,
                        twilio_auth_token=AUTH_TOKEN, twilio_whatsapp_from=FROM,
                        public_base_url=PUBLIC, twilio_api_base_url=fake_url,
                        whatsapp_reply_mode=mode, _env_file=None)
    runtime = await start_runtime(settings)
    sender = runtime.senders["whatsapp"]
    if mode == "rest" and not await sender.interactive.prepare():
        raise RuntimeError("the fake Twilio did not take the templates")
    if mode == "rest":
        await sender.runner.start()  # what the web process's start-up does
    async with transaction(runtime.sessions) as session:
        await load_catalog(session, read_catalog(ROOT / "data" / "crema.toml"))
    phones = await enrol_workers(runtime, concurrency)
    runtime.routes.append(bare_route(runtime))
    app = create_app(runtime)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning",
                                           access_log=False, backlog=2048))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(10):
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped it
            await asyncio.sleep(0.01)

    validator = RequestValidator(AUTH_TOKEN)
    sids = (f"SM{uuid.uuid4().hex}" for _ in itertools.count())

    def batch(path: str) -> list[tuple[str, dict, str]]:
        forms = [form_for(phone, next(sids)) for phone in phones]
        return [(path, form, validator.compute_signature(PUBLIC + path, form))
                for form in forms]

    ours, theirs = context.Pipe()
    child = context.Process(target=load_generator, args=(theirs, f"http://127.0.0.1:{port}"))
    child.start()
    loop = asyncio.get_running_loop()

    def receive(seconds: float = 300) -> list[tuple[float, float]]:
        deadline = time.monotonic() + seconds
        while not ours.poll(0.5):
            if not child.is_alive():
                raise RuntimeError(f"the load generator died (exit code {child.exitcode})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer from the load generator in {seconds:.0f} s")
        answer = ours.recv()
        if isinstance(answer, str):
            raise RuntimeError(f"a request failed: {answer}")
        return answer

    arrival_to_reply: list[float] = []

    async def run(path: str) -> list[float]:
        ours.send(batch(path))
        timings = await loop.run_in_executor(None, receive)
        if path == WEBHOOK and mode == "rest":
            arrival_to_reply.extend(await replies_to(timings))
        return [elapsed for _, elapsed in timings]

    async def replies_to(timings: list[tuple[float, float]]) -> list[float]:
        """Wait for every reply of the round; each one's delay after its webhook left."""
        await sender.runner.settle()
        deadline = time.monotonic() + 120
        started = {f"whatsapp:{phone}": sent_at
                   for phone, (sent_at, _) in zip(phones, timings, strict=True)}
        while True:
            first: dict[str, float] = {}
            for to, at in await replies_received(fake_url):
                if to in started and at >= started[to]:
                    first[to] = min(first.get(to, at), at)
            if len(first) == len(started) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        if len(first) < len(started):
            raise RuntimeError(f"only {len(first)} of {len(started)} replies arrived")
        return [first[to] - started[to] for to in started]

    samples: dict[str, list[float]] = {BARE: [], WEBHOOK: []}
    profiler = cProfile.Profile() if profile else None
    try:
        await run(BARE)  # warm-up: connections, caches, the catalogue in memory
        await run(WEBHOOK)
        for _ in range(rounds):
            samples[BARE] += await run(BARE)
            if profiler:
                profiler.enable()
            samples[WEBHOOK] += await run(WEBHOOK)
            if profiler:
                profiler.disable()
    finally:
        if child.is_alive():
            ours.send(None)
        await loop.run_in_executor(None, child.join, 30)
        if child.is_alive():
            child.terminate()
        server.should_exit = True
        await serving
        await runtime.close()
        if fake is not None:
            fake.terminate()
            fake.join(10)
    if profiler:
        report = io.StringIO()
        pstats.Stats(profiler, stream=report).sort_stats("cumulative").print_stats(30)
        print(report.getvalue())
    results = {path: (percentile(values, 0.5), percentile(values, 0.99), len(values))
               for path, values in samples.items()}
    if arrival_to_reply:
        results["reply"] = (percentile(arrival_to_reply, 0.5),
                            percentile(arrival_to_reply, 0.99), len(arrival_to_reply))
    return results


# --- databases ----------------------------------------------------------------------------

@contextlib.contextmanager
def sqlite_database():
    with tempfile.TemporaryDirectory(prefix="intempo-bench-") as folder:
        yield f"sqlite+aiosqlite:///{folder}/bench.db"


@contextlib.contextmanager
def postgres_database():
    import asyncpg

    name = f"intempo_bench_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(PG_ADMIN, timeout=5)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, asyncpg.PostgresError) as problem:
        raise Unavailable(f"{type(problem).__name__}: {problem}") from problem
    try:
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Unavailable(Exception):
    """The database server is not there: that database is skipped."""


def bench(label: str, database, args) -> None:
    from models import migrate

    try:
        with database() as url:
            migrate.upgrade(url)
            results = asyncio.run(measure(url, args.concurrency, args.rounds, args.profile,
                                          args.mode))
    except Unavailable as problem:
        print(f"{label}: skipped, the server does not answer ({problem})")
        return
    (bare50, bare99, n), (hook50, hook99, _) = results[BARE], results[WEBHOOK]
    print(f"{label} ({args.mode}): {n} requests per endpoint, {args.concurrency} at a time")
    print(f"  bare endpoint  p50 {bare50 * 1000:8.1f} ms   p99 {bare99 * 1000:8.1f} ms")
    print(f"  webhook        p50 {hook50 * 1000:8.1f} ms   p99 {hook99 * 1000:8.1f} ms")
    print(f"  ratio          p50 {hook50 / bare50:8.2f} ×    p99 {hook99 / bare99:8.2f} ×"
          f"   (target: p99 ≤ 2 ×)")
    if "reply" in results:
        reply50, reply99, _ = results["reply"]
        print(f"  arrival → reply REST request   p50 {reply50 * 1000:8.1f} ms   "
              f"p99 {reply99 * 1000:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the server during the webhook rounds")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--mode", choices=["rest", "twiml"], default="rest",
                        help="how the webhook answers (default: rest, the product's)")
    args = parser.parse_args()
    if not (1 <= args.concurrency <= MAX_CONCURRENCY and 1 <= args.rounds <= MAX_ROUNDS):
        parser.error(f"--concurrency ≤ {MAX_CONCURRENCY}, --rounds ≤ {MAX_ROUNDS}")
    import logging

    logging.basicConfig(level=logging.WARNING)
    for label, database in (("SQLite", sqlite_database), ("PostgreSQL", postgres_database)):
        if args.only in (None, label.lower().replace("postgresql", "postgres")):
            bench(label, database, args)
    print(f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs, warm-up round excluded)")


if __name__ == "__main__":
    main()
