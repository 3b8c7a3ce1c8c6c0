"""The console channel: the whole dialogue in a terminal, choices numbered; works
interactively and with piped input (one input per line). Notices for a console chat are
'delivered' into the person's console inbox and shown when they next use the console."""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from handlers.dialogue import show_notice
from handlers.kept_files import kept_file
from handlers.messages import DEFAULT_LANGUAGE, text
from handlers.notices import still_stands
from handlers.sending import SendResult
from handlers.types import File, Incoming, Reply
from models import outbox
from models.base import NoticeStatus
from models.db import transaction
from models.people import identity_for
from models.tables import ChatIdentity, Person


class ConsoleSender:
    """Delivering to the console means leaving it in the inbox the chat command reads."""

    channel = "console"

    async def send(self, identity: ChatIdentity, reply: Reply, notice=None):
        return SendResult(ok=True, status=NoticeStatus.DELIVERED)


def render(reply: Reply) -> str:
    """A reply as terminal text: the message, then its choices as a numbered list. (Notices
    reach a console chat through its inbox, see `show_inbox`.)"""
    lines = [reply.text]
    if reply.choices:
        lines.append("")
        lines += [f"  {n}. {choice.label}" for n, choice in enumerate(reply.choices, 1)]
        if reply.hint:
            lines.append(f"({reply.hint})")
    return "\n".join(lines)


async def show_inbox(runtime, phone: str, write: Callable[[str], None]) -> int:
    """Print and mark as shown the notices waiting in this phone's console inbox."""
    async with transaction(runtime.sessions) as session:
        identity = await identity_for(session, "console", phone)
        if identity.person_id is None:
            return 0
        person = await session.get(Person, identity.person_id)
        notices = []
        for notice in await outbox.unseen_notices(session, person.id, ConsoleSender.channel):
            if await still_stands(session, notice):
                notices.append(notice)
            else:  # e.g. an offer for a job cancelled meanwhile: nothing to answer
                outbox.mark_shown(session, notice, runtime.clock())
                outbox.withdraw(session, notice, "withdrawn")
        if notices:
            write(text(person.language, "console.notices", count=len(notices)))
        for notice in notices:
            write(f"  • {notice.rendered_text}")
            for number, choice in enumerate(notice.choices, 1):  # answered by number
                write(f"      {number}. {text(person.language, choice['key'])}")
            file = await kept_file(session, notice.params["attachment_id"]) \
                if notice.params.get("attachment_id") else None
            if file is not None:
                write(text(person.language, "console.file_saved", path=save_file(file)))
            outbox.mark_shown(session, notice, runtime.clock())
            # now that it is on screen, its numbers are what the next answer means
            await show_notice(session, identity.id, notice.id, runtime.clock())
        return len(notices)


def save_file(file: File, folder: Path = Path("exports")) -> Path:
    """Files sent to a console chat (charts, CSVs, one's own data) land in ./exports."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(file.filename).name
    path.write_bytes(file.data)
    return path


def show(reply: Reply, language: str, write: Callable[[str], None]) -> None:
    write(render(reply))
    if reply.file is not None:
        write(text(language, "console.file_saved", path=save_file(reply.file)))


async def chat(runtime, phone: str, source: TextIO = sys.stdin,
               write: Callable[[str], None] = print) -> None:
    """Run the dialogue for one console identity until end of input."""
    interactive = source.isatty()
    dispatcher = runtime.dispatcher()
    await dispatcher.run_once()
    # where this chat was left (a half-written request goes on), not the main menu
    first = await runtime.dialogue.handle(Incoming("console", phone, resume=True))
    for reply in first:
        show(reply, DEFAULT_LANGUAGE, write)
    await show_inbox(runtime, phone, write)  # last, so that a number answers a notice
    while True:
        if interactive:
            write("")
        line = source.readline()
        if not line:
            break
        if not interactive:
            write(f"> {line.rstrip()}")
        for reply in await runtime.dialogue.handle(Incoming("console", phone, text=line)):
            show(reply, DEFAULT_LANGUAGE, write)
        await dispatcher.run_once()
        await show_inbox(runtime, phone, write)
