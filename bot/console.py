"""The console channel: the whole dialogue in a terminal, choices numbered; works
interactively and with piped input (one input per line). Notices for a console chat are
'delivered' into the person's console inbox and shown when they next use the console."""

import sys
from collections.abc import Callable
from typing import TextIO

from handlers.messages import text
from handlers.types import Incoming, Reply
from models.base import NoticeStatus, utcnow
from models.db import transaction
from models.outbox import unseen_console_notices
from models.people import identity_for
from models.tables import ChatIdentity, Person
from scheduler.dispatcher import SendResult


class ConsoleSender:
    """Delivering to the console means leaving it in the inbox the chat command reads."""

    channel = "console"

    async def send(self, identity: ChatIdentity, reply: Reply):
        return SendResult(ok=True, status=NoticeStatus.DELIVERED)


def render(reply: Reply) -> str:
    """A reply as terminal text: the message, then its choices as a numbered list."""
    lines = [reply.text]
    if reply.notice:
        if reply.hint:
            lines.append(f"({reply.hint})")
    elif reply.choices:
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
        notices = await unseen_console_notices(session, person.id)
        if notices:
            write(text(person.language, "console.notices", count=len(notices)))
        for notice in notices:
            write(f"  • {notice.rendered_text}")
            notice.shown_at = utcnow()
            session.add(notice)
        return len(notices)


async def chat(runtime, phone: str, source: TextIO = sys.stdin,
               write: Callable[[str], None] = print) -> None:
    """Run the dialogue for one console identity until end of input."""
    interactive = source.isatty()
    dispatcher = runtime.dispatcher()
    await dispatcher.run_once()
    await show_inbox(runtime, phone, write)
    first = await runtime.dialogue.handle(Incoming("console", phone, text="menu"))
    for reply in first:
        write(render(reply))
    while True:
        if interactive:
            write("")
        line = source.readline()
        if not line:
            break
        if not interactive:
            write(f"> {line.rstrip()}")
        for reply in await runtime.dialogue.handle(Incoming("console", phone, text=line)):
            write(render(reply))
        await dispatcher.run_once()
        await show_inbox(runtime, phone, write)
