"""`intempo whatsapp templates`: list the interactive templates the channel uses, creating
the missing ones (with --check, only list)."""

import argparse

from bot.whatsapp.templates import catalogue, ensure


def add_commands(commands, with_runtime) -> None:
    """Register `intempo whatsapp …` on the CLI's sub-parsers."""
    whatsapp = commands.add_parser("whatsapp", help="the WhatsApp channel")
    actions = whatsapp.add_subparsers(required=True, metavar="ACTION")
    templates = actions.add_parser(
        "templates", help="list the interactive Content templates, creating missing ones")
    templates.add_argument("--check", action="store_true",
                           help="only list: create nothing (exit 1 if any is missing)")
    templates.set_defaults(run=with_runtime(list_templates))


async def list_templates(runtime, args: argparse.Namespace) -> int:
    sender = runtime.senders.get("whatsapp")
    if sender is None:
        print("WhatsApp is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
              "TWILIO_WHATSAPP_FROM")
        return 2
    before = await ensure(sender.client, runtime.sessions, create=False)
    found = before if args.check else await ensure(sender.client, runtime.sessions)
    for template in catalogue():
        sid = found.get(template.friendly_name)
        state = "missing" if sid is None else "found" if template.friendly_name in before \
            else "created"
        print(f"{template.friendly_name:<32} {sid or '—':<34} {state}")
    missing = len(catalogue()) - len(found)
    print(f"{len(found)} of {len(catalogue())} templates"
          + (f", {missing} missing" if missing else ""))
    return 1 if missing else 0
