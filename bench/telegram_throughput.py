"""Updates per second through the Telegram channel's full path, against two floors and a
bare python-telegram-bot echo bot, in the same run and over the same fake Bot API
transport: a PTB `ConversationHandler` bot persisting its state to the same database on
every update, and the minimal hand-written transaction (bench/floors.py); plus the SQL
statements a typed answer and a pressed button cost.

Full path: PTB Application (the TypeHandler polling feeds) → adapter → per-chat order →
one transaction (processed-update row + the dialogue's turn: identity, conversation,
choice tokens) on a temporary database → the reply rendered as sendMessage with an inline
keyboard → fake transport. Scripted turn: enrolled workers, each typing a round of menu
navigation ("menu", "Nuova richiesta", "Commissioni salva-tempo", "menu"); every update
of a round is queued at once, the workers' turns interleaved.

Echo bot: a PTB Application with one MessageHandler replying the text it got, fed the very
same updates, with PTB's defaults. A third figure, the dialogue alone (the same turns
through `Dialogue.handle`, no Telegram at all), shows what the channel itself costs.

Each figure is timed from the first update queued to the last reply handed to the
transport, which does no I/O. Rounds alternate the three; the best round of each is
reported (the least disturbed by the machine) with the median.

    .venv/bin/python bench/telegram_throughput.py [--workers 50] [--turns 20] [--rounds 3]
                                                  [--postgres] [--profile]

--postgres runs on a temporary database of postgresql://postgres@127.0.0.1:5432
(INTEMPO_BENCH_PG to change), dropped afterwards; --profile then times updates one at a
time (no queueing) through the dialogue alone and the full path, and shows where the full
path's time goes (SQL statements and the time the database driver spends in them;
cProfile's top functions by own time).
"""

import argparse
import asyncio
import collections
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, MessageHandler, filters  # noqa: E402

from bench.floors import Floors  # noqa: E402
from bot.runtime import start_runtime  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.telegram.channel import install  # noqa: E402
from handlers.types import Incoming  # noqa: E402
from models import migrate, one_hop  # noqa: E402
from models.base import Role  # noqa: E402
from models.catalog import load_catalog, read_catalog  # noqa: E402
from models.db import transaction  # noqa: E402
from models.people import create_codes  # noqa: E402
from tests.support.fake_telegram import TOKEN, FakeBotApi, TelegramChat, Updates  # noqa: E402

SCRIPT = ("menu", "Nuova richiesta", "Commissioni salva-tempo", "menu")
TARGET_RATIO = 0.5  # of the echo bot (issue 4's aim)
MUST_RATIO, AIM_RATIO = 0.25, 0.5  # of the ConversationHandler bot with its database
MAX_STATEMENTS = 5
FIRST_CHAT = 900_000
PG_ADMIN = os.environ.get("INTEMPO_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def script_updates(updates: Updates, workers: int, turns: int) -> list[dict]:
    """Turn n of every worker, then turn n+1 of every worker, …: chats interleave as they
    do when many people write at once."""
    return [updates.message(FIRST_CHAT + worker, SCRIPT[turn % len(SCRIPT)])
            for turn in range(turns) for worker in range(workers)]


async def timed_run(application, api: FakeBotApi, update_dicts: list[dict]) -> float:
    """Updates per second, from queuing them to the last reply handed to the transport."""
    parsed = [Update.de_json(data, application.bot) for data in update_dicts]
    done = api.expect(len(parsed))
    started = time.perf_counter()
    for update in parsed:
        application.update_queue.put_nowait(update)
    await done.wait()
    return len(parsed) / (time.perf_counter() - started)


async def dialogue_run(runtime, workers: int, turns: int) -> float:
    """The same turns through the dialogue alone, each worker's in order, workers at once."""
    async def worker(number: int) -> None:
        for turn in range(turns):
            await runtime.dialogue.handle(Incoming("telegram", str(FIRST_CHAT + number),
                                                   text=SCRIPT[turn % len(SCRIPT)]))

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(workers)))
    return workers * turns / (time.perf_counter() - started)


# --- the echo bot -------------------------------------------------------------------------

async def echo(update: Update, context) -> None:
    await update.message.reply_text(update.message.text)


async def start_echo_bot() -> tuple:
    api = FakeBotApi(record=False)
    application = (ApplicationBuilder().token(TOKEN).request(api).get_updates_request(api)
                   .updater(None).build())
    application.add_handler(MessageHandler(filters.TEXT, echo))
    await application.initialize()
    await application.start()
    return application, api


# --- the product --------------------------------------------------------------------------

async def start_product(url: str, workers: int) -> tuple:
    """The runtime on `url` with the Telegram channel over a fake transport, and `workers`
    workers enrolled through it (deep link, buttons, name)."""
    runtime = await start_runtime(Settings(database_url=url, _env_file=None))
    async with transaction(runtime.sessions) as session:
        await load_catalog(session, read_catalog(ROOT / "data" / "crema.toml"))
        codes = await create_codes(session, "iride", Role.WORKER, workers, runtime.clock(), 30)
    runtime.settings = Settings(database_url=url, _env_file=None, telegram_bot_token=TOKEN)
    api = FakeBotApi()
    channel = install(runtime, request=api)
    enrolment = Updates(first_id=1)
    for worker, code in enumerate(codes):
        await TelegramChat(channel, api, enrolment, FIRST_CHAT + worker).enrol(code)
        api.clear()
    api.record = False
    await channel.application.start()  # the polling path minus getUpdates: queue → handler
    return runtime, channel, api


async def stop_product(runtime, channel) -> None:
    await channel.application.stop()
    await runtime.close()


# --- where the time goes ------------------------------------------------------------------

class StatementTimes:
    """Counts the SQL statements run and the time the database driver spends in them."""

    def __init__(self, engines: list):
        self.per_statement = collections.defaultdict(lambda: [0, 0.0])
        for engine in engines:
            event.listen(engine, "before_cursor_execute", self._before)
            event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, params, context, many):
        context._bench_started = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, many):
        entry = self.per_statement[" ".join(statement.split())[:80]]
        entry[0] += 1
        entry[1] += time.perf_counter() - context._bench_started

    def report(self, updates: int, seconds_per_update: float) -> str:
        count = sum(n for n, _ in self.per_statement.values())
        working = {text: entry for text, entry in self.per_statement.items()
                   if not text.startswith("BEGIN")}  # BEGIN is where a write lock is awaited
        inside = sum(seconds for _, seconds in working.values())
        lines = [f"per update: {seconds_per_update * 1000:.2f} ms in all, of which "
                 f"{inside / updates * 1000:.2f} ms inside the database driver for "
                 f"{count / updates:.1f} SQL statements; the rest is Python: SQLAlchemy, "
                 "the driver's thread hand-offs, the dialogue, PTB, the channel",
                 "busiest statements (per update × mean ms):"]
        for text, (n, seconds) in sorted(self.per_statement.items(),
                                         key=lambda item: -item[1][1])[:8]:
            lines.append(f"  {n / updates:5.2f} × {seconds / n * 1000:6.3f} ms  {text}")
        return "\n".join(lines)


def engines_of(runtime) -> list:
    """The engines a turn's statements go through: the async engine, and the synchronous
    twin the hot path uses (models/one_hop.py)."""
    twin = one_hop.twin_engine(runtime.sessions)
    return [runtime.engine.sync_engine] + ([twin] if twin is not None else [])


async def statements_per_turn(runtime, channel, api, workers: int) -> dict[str, float]:
    """SQL statements per turn through the full path (the turn's transaction and marking
    its replies delivered; BEGIN and COMMIT not counted), for a typed answer and for a
    pressed button: each worker types «menu», then presses «Nuova richiesta»."""
    counted = {"typed": 0, "pressed": 0, "other": 0}
    current = ["typed"]

    def count(conn, cursor, statement, params, context, many) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            counted[current[0]] += 1

    await channel.processor.order.drain()  # the rounds' last replies marked delivered
    api.record = True
    updates = Updates(first_id=800_000_000)
    engines = engines_of(runtime)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        for worker in range(workers):
            chat = TelegramChat(channel, api, updates, FIRST_CHAT + worker)
            current[0] = "typed"
            await chat.say("menu")
            current[0] = "pressed"
            await chat.press("Nuova richiesta")
            current[0] = "other"
            await chat.say("menu")  # back at the menu
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
        api.clear()
        api.record = False
    return {"typed": counted["typed"] / workers, "pressed": counted["pressed"] / workers}


async def one_at_a_time(run_one, workers: int) -> float:
    """Seconds per update when each is handled alone: one turn of every worker in turn,
    four rounds (back at the main menu after)."""
    turns = len(SCRIPT) * workers
    started = time.perf_counter()
    for number in range(turns):
        await run_one(FIRST_CHAT + number % workers, SCRIPT[number // workers % len(SCRIPT)])
    return (time.perf_counter() - started) / turns


async def where_time_goes(runtime, channel, api, workers: int) -> None:
    """Where an update's time goes, with no queueing: the dialogue alone and the full
    path one update at a time, then the full path again under cProfile and SQL timing."""
    updates = Updates(first_id=900_000_000)

    async def through_dialogue(chat_id: int, text: str) -> None:
        await runtime.dialogue.handle(Incoming("telegram", str(chat_id), text=text))

    async def through_telegram(chat_id: int, text: str) -> None:
        done = api.expect(1)
        channel.application.update_queue.put_nowait(
            Update.de_json(updates.message(chat_id, text), channel.bot))
        await done.wait()

    dialogue_alone = await one_at_a_time(through_dialogue, workers)
    full_path = await one_at_a_time(through_telegram, workers)
    print("\n--- one update at a time (no queueing) ---")
    print(f"dialogue alone {dialogue_alone * 1000:.2f} ms, full path {full_path * 1000:.2f} ms"
          f" per update: the channel adds {(full_path - dialogue_alone) * 1000:.2f} ms")
    statements = StatementTimes(engines_of(runtime))
    profiler = cProfile.Profile()
    profiler.enable()
    profiled = await one_at_a_time(through_telegram, workers)
    profiler.disable()
    print("--- the full path again, under the profiler (slower) ---")
    print(statements.report(len(SCRIPT) * workers, profiled))
    stats = pstats.Stats(profiler)
    print("the main pieces (per update, wall time inside them, profiler included):")
    for label, (file_part, function) in PIECES.items():
        seconds = sum(entry[3] for (file, _, name), entry in stats.stats.items()
                      if file.endswith(file_part) and name == function)
        print(f"  {seconds / (len(SCRIPT) * workers) * 1000:7.2f} ms  {label}")
    report = io.StringIO()
    pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(12)
    print(report.getvalue())
    if runtime.engine.dialect.name == "sqlite":
        print(inside_the_turn(runtime, workers))


PIECES = {  # label: (end of the file's path, function name)
    "the whole update (adapter → transaction → replies)": ("telegram/updates.py", "_handle"),
    "  its transaction (the turn, the update and its replies recorded), one thread hop":
        ("models/one_hop.py", "run_transaction"),
    "  the reply: render + sendMessage through PTB": ("telegram/sender.py", "send_reply"),
    "  marking the replies delivered": ("handlers/inbound.py", "delivered"),
    "the adapter (Update → route)": ("telegram/adapter.py", "route_update"),
    "PTB: handing the update to the handler": ("ext/_application.py", "process_update"),
}


def inside_the_turn(runtime, workers: int) -> str:
    """cProfile of the turn's transaction itself, as it runs in its worker thread: the
    same turns, run here in a plain thread of their own (cProfile sees one thread)."""
    engine = one_hop.twin_engine(runtime.sessions)
    profiler = cProfile.Profile()
    turns = len(SCRIPT) * workers

    def run() -> None:
        profiler.enable()
        for number in range(turns):
            incoming = Incoming("telegram", str(FIRST_CHAT + number % workers),
                                text=SCRIPT[number // workers % len(SCRIPT)])
            one_hop._run_in_thread(
                engine, lambda session, i=incoming: runtime.dialogue.handle_in(session, i))
        profiler.disable()

    thread = threading.Thread(target=run)
    started = time.perf_counter()
    thread.start()
    thread.join()
    seconds = (time.perf_counter() - started) / turns
    stats = pstats.Stats(profiler)
    lines = [f"--- inside the turn's transaction (its thread; {seconds * 1000:.2f} ms a turn "
             "under the profiler) ---"]
    for label, (file_part, function) in TURN_PIECES.items():
        inside = sum(entry[3] for (file, _, name), entry in stats.stats.items()
                     if file.endswith(file_part) and name == function)
        lines.append(f"  {inside / turns * 1000:7.2f} ms  {label}")
    report = io.StringIO()
    pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(12)
    return "\n".join(lines) + "\n" + report.getvalue()


TURN_PIECES = {
    "the dialogue's turn (Dialogue.handle_in)": ("handlers/dialogue.py", "handle_in"),
    "  the chat's state, one statement": ("models/chat_state.py", "load_chat"),
    "  the step's prompt (its own read, the catalogue's words)": ("handlers/dialogue.py",
                                                                 "_render"),
    "  the conversation written": ("models/chat_state.py", "save_conversation"),
    "SQLite executing the statements": ("~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    "SQLite committing (the write to disk)":
        ("~", "<method 'commit' of 'sqlite3.Connection' objects>"),
}


# --- the run ------------------------------------------------------------------------------

def best_and_median(rates: list[float]) -> str:
    return f"{max(rates):8.0f} updates/s  (median {statistics.median(rates):.0f})"


async def measure(url: str, label: str, workers: int, turns: int, rounds: int,
                  profile: bool) -> float:
    print(f"Telegram throughput on {label}: {workers} enrolled workers × {turns} typed "
          f"turns = {workers * turns} updates a round, {rounds} rounds")
    runtime, channel, product_api = await start_product(url, workers)
    echo_app, echo_api = await start_echo_bot()
    floors = Floors(url, len(SCRIPT))
    await floors.start()
    echo_rates, dialogue_rates, full_rates, bot_rates, minimal_rates = [], [], [], [], []
    try:
        for round_number in range(rounds):
            batch = script_updates(Updates(first_id=10_000_000 * (round_number + 1)),
                                   workers, turns)
            echo_rates.append(await timed_run(echo_app, echo_api, batch))
            bot_rates.append(await timed_run(floors.application, floors.api, batch))
            minimal_rates.append(await floors.minimal_transactions(workers, turns))
            dialogue_rates.append(await dialogue_run(runtime, workers, turns))
            full_rates.append(await timed_run(channel.application, product_api, batch))
            print(f"  round {round_number + 1}: echo {echo_rates[-1]:6.0f}/s  conversation "
                  f"bot + db {bot_rates[-1]:5.0f}/s  minimal transaction "
                  f"{minimal_rates[-1]:5.0f}/s  dialogue alone {dialogue_rates[-1]:5.0f}/s"
                  f"  full path {full_rates[-1]:5.0f}/s")
        statements = await statements_per_turn(runtime, channel, product_api, min(workers, 10))
        if profile:
            await where_time_goes(runtime, channel, product_api, workers)
    finally:
        await echo_app.stop()
        await echo_app.shutdown()
        await floors.stop()
        await stop_product(runtime, channel)
    full = max(full_rates)
    to_bot, to_minimal = full / max(bot_rates), full / max(minimal_rates)
    print(f"echo bot (bare PTB)                    : {best_and_median(echo_rates)}")
    print(f"ConversationHandler bot + its database : {best_and_median(bot_rates)}")
    print(f"minimal transaction (read, update, dedupe row): {best_and_median(minimal_rates)}")
    print(f"dialogue alone (no Telegram)           : {best_and_median(dialogue_rates)}")
    print(f"full path                              : {best_and_median(full_rates)}")
    print(f"ratio full path / ConversationHandler bot + db : {to_bot:6.3f}   "
          f"(must ≥ {MUST_RATIO}, aim ≥ {AIM_RATIO})")
    print(f"ratio full path / minimal transaction          : {to_minimal:6.3f}")
    print(f"ratio full path / echo bot                     : {full / max(echo_rates):6.3f}")
    print(f"ratio full path / dialogue alone               : {full / max(dialogue_rates):6.3f}"
          "   (what the channel itself leaves of the dialogue's speed)")
    print(f"SQL statements per turn (BEGIN/COMMIT aside): typed answer "
          f"{statements['typed']:.1f}, pressed button {statements['pressed']:.1f}   "
          f"(must ≤ {MAX_STATEMENTS})")
    return to_bot


@contextmanager
def sqlite_database():
    with tempfile.TemporaryDirectory(prefix="intempo-bench-") as directory:
        yield f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"


@contextmanager
def postgres_database():
    import asyncpg

    name = f"intempo_bench_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(PG_ADMIN, timeout=5)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=50, choices=range(1, 1001),
                        metavar="1..1000")
    parser.add_argument("--turns", type=int, default=20, choices=range(1, 201),
                        metavar="1..200")
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 21), metavar="1..20")
    parser.add_argument("--postgres", action="store_true",
                        help="run on a temporary PostgreSQL database instead of SQLite")
    parser.add_argument("--profile", action="store_true",
                        help="after the rounds, profile one more and print where time goes")
    return parser.parse_args(argv)


def main(argv=None) -> float:
    args = parse_args(argv)
    database = postgres_database if args.postgres else sqlite_database
    with database() as url:
        migrate.upgrade(url)  # runs its own event loop: before ours
        label = "PostgreSQL" if args.postgres else "SQLite"
        return asyncio.run(measure(url, label, args.workers, args.turns, args.rounds,
                                   args.profile))


if __name__ == "__main__":
    main()
