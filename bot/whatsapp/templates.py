"""The interactive Content templates: a handful, one per shape, filled with ContentVariables.

Content templates take variables also in button titles, ids and list items, so one
template serves every reply of its shape:

- `intempo_v1_buttons_N` (N = 1…3): `twilio/quick-reply`, body {{1}}, then for each
  button its title and id;
- `intempo_v1_list_N` (N = 1…10): `twilio/list-picker`, body {{1}}, for each item its
  title and id, and the list's button label last («Scegli» / «Choose»);
- `intempo_v1_list_N_described`: the same with a description under each item.

The only fixed words a template would hold are the list's button label, so it is a
variable too, and one template per shape serves both languages. These templates are for
the 24-hour session only (WhatsApp does not approve list pickers; the sender never uses
them outside the window, where the approved templates of settings.py apply).

At start-up the channel finds them by `friendly_name` and creates only the missing ones,
holding a database lock meanwhile (PostgreSQL: an advisory lock; SQLite: its write lock,
which every transaction takes), so a restart or a second process starting at the same
moment creates nothing twice."""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList

from bot.whatsapp.interactive import MAX_BUTTONS, MAX_ITEMS, Shape
from models.db import transaction

log = logging.getLogger(__name__)
PREFIX = "intempo_v1_"
LANGUAGE = "it"  # the Content API wants one; the words are all variables
LOCK_KEY = 7_406_201_010  # pg_advisory_xact_lock key: "creating IN...TEMPO's templates"
RETRY_SECONDS = 300.0


@dataclass(frozen=True)
class Template:
    friendly_name: str
    kind: str  # buttons | list
    size: int
    described: bool = False

    def types(self) -> dict:
        """The `types` of the Content resource, with {{n}} placeholders."""
        numbers = iter(range(2, 100))
        if self.kind == "buttons":
            actions = [{"type": "QUICK_REPLY", "title": f"{{{{{next(numbers)}}}}}",
                        "id": f"{{{{{next(numbers)}}}}}"} for _ in range(self.size)]
            return {"twilio/quick-reply": {"body": "{{1}}", "actions": actions}}
        items = []
        for _ in range(self.size):
            item = {"item": f"{{{{{next(numbers)}}}}}", "id": f"{{{{{next(numbers)}}}}}"}
            if self.described:
                item["description"] = f"{{{{{next(numbers)}}}}}"
            items.append(item)
        button = f"{{{{{next(numbers)}}}}}"
        return {"twilio/list-picker": {"body": "{{1}}", "button": button, "items": items}}

    def samples(self) -> dict[str, str]:
        """A sample value for each variable (the Content API keeps them as defaults)."""
        values = ["Cosa ti serve?"]
        for n in range(1, self.size + 1):
            values += [f"Opzione {n}", f"id{n}"]
            if self.described:
                values.append(f"Descrizione {n}")
        if self.kind == "list":
            values.append("Scegli")
        return {str(number): value for number, value in enumerate(values, 1)}

    def request(self) -> ContentList.ContentCreateRequest:
        return ContentList.ContentCreateRequest({
            "friendly_name": self.friendly_name, "language": LANGUAGE,
            "variables": self.samples(), "types": self.types()})


def catalogue() -> list[Template]:
    """Every template the channel uses: 3 quick replies and 10 + 10 lists."""
    buttons = [Template(f"{PREFIX}buttons_{n}", "buttons", n) for n in range(1, MAX_BUTTONS + 1)]
    lists = [Template(f"{PREFIX}list_{n}{'_described' if described else ''}", "list", n,
                      described)
             for described in (False, True) for n in range(1, MAX_ITEMS + 1)]
    return buttons + lists


def name_for(shape: Shape) -> str:
    """The friendly name of the template that renders `shape` (buttons or list)."""
    suffix = "_described" if shape.kind == "list" and shape.described else ""
    return f"{PREFIX}{shape.kind}_{len(shape.items)}{suffix}"


async def existing(client: Client) -> dict[str, str]:
    """friendly_name → Content SID of the account's templates (the newest of a name)."""
    found: dict[str, str] = {}
    for content in await client.content.v1.contents.list_async(page_size=1000):
        if content.friendly_name and content.sid:
            found.setdefault(content.friendly_name, content.sid)
    return found


async def _lock(session: AsyncSession) -> None:
    if session.bind.dialect.name == "postgresql":
        await session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=LOCK_KEY))


async def ensure(client: Client, sessions: async_sessionmaker[AsyncSession],
                 create: bool = True) -> dict[str, str]:
    """Find every template by name and (with `create`) create the missing ones, under the
    lock; returns friendly_name → Content SID for those of `catalogue()` that exist."""
    wanted = catalogue()
    async with transaction(sessions) as session:
        await _lock(session)
        found = await existing(client)
        for template in wanted:
            if template.friendly_name in found or not create:
                continue
            made = await client.content.v1.contents.create_async(template.request())
            log.info("created WhatsApp template %s (%s)", template.friendly_name, made.sid)
            found[template.friendly_name] = made.sid
    names = {template.friendly_name for template in wanted}
    return {name: sid for name, sid in found.items() if name in names}


class TemplateSet:
    """The templates of one process: found (or made) once, looked up by shape. Until
    they are ready — or while Twilio cannot be reached — replies go as numbered text."""

    def __init__(self, client: Callable[[], Client],
                 sessions: async_sessionmaker[AsyncSession] | None,
                 monotonic: Callable[[], float] | None = None):
        self._client, self.sessions = client, sessions
        self.sids: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._monotonic = monotonic or time.monotonic
        self._next_try = 0.0

    @property
    def ready(self) -> bool:
        return len(self.sids) == len(catalogue())

    async def prepare(self) -> bool:
        """Find or create the templates (once; again after a failure, at most every
        RETRY_SECONDS); True when every template is known."""
        if self.ready or self.sessions is None:
            return self.ready
        async with self._lock:
            if self.ready or self._monotonic() < self._next_try:
                return self.ready
            try:
                self.sids = await ensure(self._client(), self.sessions)
            except Exception as error:  # Twilio down or refusing: numbered text meanwhile
                log.warning("WhatsApp templates not ready (%s): numbered text for now",
                            error)
                self._next_try = self._monotonic() + RETRY_SECONDS
            return self.ready

    def sid_for(self, shape: Shape) -> str | None:
        return self.sids.get(name_for(shape)) if shape.kind != "text" else None
