"""Benchmark (a) of the clock issue: drain 10,000 notices to 2,000 people through a fake
Telegram sender on simulated time (looptime), and report the achieved rate as a fraction
of Telegram's 30 messages/s, the busiest second and the closest two messages to one chat.

    .venv/bin/python bench/outbox_drain.py [--people 2000] [--each 5]
"""

import argparse
import asyncio
import bisect
import itertools
import sys
import tempfile
import time
from pathlib import Path

import looptime

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.runtime import start_runtime
from bot.settings import Settings
from handlers.sending import Limits, SendResult
from models import migrate
from models.base import Role
from models.catalog import load_catalog, read_catalog
from models.db import transaction
from models.outbox import queue_notice
from models.tables import ChatIdentity, Organisation, Person
from scheduler.dispatcher import Dispatcher

ROOT = Path(__file__).resolve().parent.parent


class FakeTelegram:
    channel = "telegram"
    limits = Limits(per_second=30, per_chat_seconds=1.0)

    def __init__(self, timer):
        self.timer, self.sent = timer, []

    async def send(self, identity, reply, notice=None):
        self.sent.append((self.timer(), identity.external_id))
        return SendResult(ok=True)


async def queue(runtime, people: int, each: int) -> None:
    from sqlmodel import select

    async with transaction(runtime.sessions) as session:
        org = (await session.exec(select(Organisation).where(
            Organisation.code == "comune-crema"))).one()
        for n in range(people):
            person = Person(role=Role.COORDINATOR, organisation_id=org.id, first_name=f"P{n}")
            session.add(person)
            await session.flush()
            session.add(ChatIdentity(channel="telegram", external_id=str(n), person_id=person.id))
            for k in range(each):
                await queue_notice(session, person_id=person.id, kind="coordinator.digest",
                                   params={"text": f"notice {k}"}, dedupe_key=f"b:{n}:{k}",
                                   now=runtime.clock())


async def main(people: int, each: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        await asyncio.to_thread(migrate.upgrade, url)
        runtime = await start_runtime(Settings(database_url=url, _env_file=None))
        async with transaction(runtime.sessions) as session:
            await load_catalog(session, read_catalog(ROOT / "data" / "crema.toml"))
        await queue(runtime, people, each)
        loop = asyncio.get_running_loop()
        looptime.patch_event_loop(loop)  # simulated time from here on
        sender = FakeTelegram(loop.time)
        dispatcher = Dispatcher(runtime.sessions, {"telegram": sender}, batch=500,
                                timer=loop.time, sleep=asyncio.sleep)
        started = time.perf_counter()
        while await dispatcher.run_once():
            pass
        wall = time.perf_counter() - started
        await runtime.close()
    times = sorted(t for t, _ in sender.sent)
    busiest = max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))
    chats: dict[str, list[float]] = {}
    for t, chat in sender.sent:
        chats.setdefault(chat, []).append(t)
    closest = min(b - a for ts in chats.values() for a, b in itertools.pairwise(ts))
    rate = (len(times) - 1) / (times[-1] - times[0])
    print(f"notices sent:             {len(times)} to {people} people")
    print(f"simulated span:           {times[-1] - times[0]:.1f} s (real time {wall:.1f} s)")
    print(f"achieved rate:            {rate:.2f} msg/s = {rate / 30:.1%} of 30 msg/s")
    print(f"busiest one-second window: {busiest} (limit 30)")
    print(f"closest two to one chat:  {closest:.3f} s (limit 1 s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--each", type=int, default=5)
    options = parser.parse_args()
    asyncio.run(main(options.people, options.each))
