"""Restart campaigns: a real `intempo serve` stopped again and again while notices flow
to WhatsApp and signed messages come in, then counted: every notice sent exactly once?
any lost? every message answered recorded?

Each life of the process: start it, queue 16 notices for 8 people, write «menu» in as
them, and — while a send is at the fake Twilio on loopback (each held there 0.15 s), its
answer not back — stop it: SIGTERM (a deploy: the process finishes or hands back what it
claimed) or SIGKILL (a crash: the next claim, after a 2 s lease, finds the send's outcome
unknown and asks Twilio before sending again). A last life sends what is left. The fake
Twilio counts each message by the notice its status-callback URL names.

    .venv/bin/python bench/crash_campaign.py [--terms 20] [--kills 20] [--postgres]
                                             [--channel whatsapp|telegram]

On Telegram (`--channel telegram`: the process polls and sends to a fake Bot API server
on loopback, each sendMessage held 0.15 s too) nobody can be asked what was sent, so a
notice whose send a kill cut off is re-sent at most once (README, "Every notice once"):
at most one duplicate per kill is the target there."""

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import migrate  # noqa: E402
from tests.support.fake_telegram_server import FakeBotServer  # noqa: E402
from tests.support.fake_twilio import FakeTwilio, serving  # noqa: E402
from tests.support.postgres import scratch_database  # noqa: E402
from tests.support.serve import (  # noqa: E402
    PER_ROUND,
    Serve,
    last_life,
    one_life,
    prepare,
    put_down,
    stored,
)
from tests.support.whatsapp import ACCOUNT_SID, AUTH_TOKEN  # noqa: E402


async def campaign(url: str, signals: list[int], log: Path, channel: str) -> dict:
    """The lives, then the figures. On WhatsApp people also write in during each life,
    and a message counts for the notice its status callback names; on Telegram a
    message counts for the notice whose text (its own number) it carries."""
    await prepare(url, channel)
    twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, delay=0.15)
    telegram = FakeBotServer(delay=0.15)
    platform = twilio if channel == "whatsapp" else telegram
    answered: list[str] = []
    started = time.monotonic()
    async with serving(twilio.app()) as twilio_url, serving(telegram.app()) as telegram_url:
        serve = Serve(url, twilio_url, log,
                      telegram_url=telegram_url if channel == "telegram" else None)
        try:
            for life, signum in enumerate(signals):
                await one_life(serve, platform, url, life, signum, answered,
                               writes=6 if channel == "whatsapp" else 0)
                print(f"  life {life + 1:2d}: {signal.Signals(signum).name}, "
                      f"{len(platform.sent)} messages so far", flush=True)
            await last_life(serve, url)
        finally:
            await put_down(serve)
    notices, updates = await stored(url)
    if channel == "whatsapp":
        sends = Counter(r.one("StatusCallback").rsplit("=", 1)[1] for r in twilio.sent)
    else:
        by_number = {str(n.params["request_id"]): str(n.id) for n in notices}
        sends = Counter(by_number.get(_number(params.get("text", "")), "?")
                        for params in telegram.sent)
    return {
        "notices": len(notices),
        "sent once": sum(1 for n in notices if sends.get(str(n.id)) == 1),
        "sent twice or more": sum(1 for n in notices if sends.get(str(n.id), 0) > 1),
        "lost (never sent)": sum(1 for n in notices if str(n.id) not in sends),
        "not recorded as sent": sum(1 for n in notices if n.status not in ("sent", "delivered")),
        "statuses": dict(Counter(n.status for n in notices)),
        "sends left unknown by a stop": sum(n.unknown_outcomes for n in notices),
        "messages answered 200": len(answered),
        "of those not recorded": len(set(answered) - updates),
        "seconds": round(time.monotonic() - started),
    }


@contextmanager
def database(postgres: bool, sqlite_file: Path) -> Iterator[str]:
    if postgres:
        with scratch_database("intempo_crash") as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{sqlite_file}"


def _number(text: str) -> str:
    """The request number a notice's text names («Richiesta n. 10023 …»)."""
    return text.split("n. ", 1)[-1].split(" ", 1)[0]


def report(label: str, figures: dict) -> None:
    print(f"{label}:")
    for name, value in figures.items():
        print(f"  {name:32s} {value}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--terms", type=int, default=20, help="lives ended by SIGTERM")
    parser.add_argument("--kills", type=int, default=20, help="lives ended by SIGKILL")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--channel", choices=("whatsapp", "telegram"), default="whatsapp")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="intempo-crash-") as folder:
        runs = [("graceful stops (SIGTERM)", [signal.SIGTERM] * args.terms),
                ("kills (SIGKILL)", [signal.SIGKILL] * args.kills)]
        for label, signals in runs:
            if not signals:
                continue
            print(f"{label} on {args.channel}: {len(signals)} lives of {PER_ROUND} notices "
                  "each", flush=True)
            with database(args.postgres, Path(folder) / f"{signals[0]}.db") as url:
                migrate.upgrade(url)
                figures = asyncio.run(campaign(url, signals, Path(folder) / "serve.log",
                                               args.channel))
            report(label, figures)


if __name__ == "__main__":
    main()
