"""`intempo console-link --phone P`: a sign-in link for the web console, printed (the first
time, or when the chat is not at hand)."""

import sys

from bot.panel.security import rules_of
from models.db import transaction
from models.panel import create_link, may_use_panel


def add_command(commands, with_runtime, find_person) -> None:
    """Register the command on the CLI's subparsers (`find_person(session, args)` is the
    CLI's own lookup of a person by chat)."""

    @with_runtime
    async def console_link(runtime, args) -> int:
        async with transaction(runtime.sessions) as session:
            person = await find_person(session, args)
            if person is None:
                print("no enrolled person writes from that chat", file=sys.stderr)
                return 1
            if not may_use_panel(person):
                print("only the coordinator and the partners' contacts use the console "
                      "(intempo enroll --role coordinator|contact)", file=sys.stderr)
                return 1
            rules = rules_of(runtime.settings)
            token = await create_link(session, person, runtime.clock(), rules)
        print(f"{runtime.settings.panel_url}/accesso/{token}")
        print(f"(single use, valid {rules.link_minutes} minutes)", file=sys.stderr)
        return 0

    link = commands.add_parser("console-link", help="print a sign-in link to the web console")
    link.add_argument("--phone", required=True, help="the chat's id: a phone or a chat id")
    link.add_argument("--channel", default="console",
                      choices=["console", "telegram", "whatsapp"])
    link.set_defaults(run=console_link)
