"""A person chatting with the dialogue, for tests: type text, press choices by label."""

from handlers.types import Incoming, Reply
from models.base import Role
from models.db import transaction
from models.people import create_codes


def plain(text: str) -> str:
    """Babel writes '18,00\xa0€' (a no-break space); tests compare with plain spaces."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


class Chatter:
    """One chat (channel + id) talking to the runtime's dialogue."""

    def __init__(self, runtime, external_id: str, channel: str = "console"):
        self.runtime, self.external_id, self.channel = runtime, external_id, channel
        self.last: Reply | None = None

    async def say(self, text: str) -> str:
        return await self._send(Incoming(self.channel, self.external_id, text=text))

    async def press(self, label_part: str) -> str:
        """Press the first offered choice whose label contains `label_part`."""
        for choice in self.last.choices:
            if label_part.casefold() in choice.label.casefold():
                return await self.send_payload(choice.payload)
        raise AssertionError(f"no choice {label_part!r} in {self.labels}")

    async def send_payload(self, payload: str) -> str:
        return await self._send(Incoming(self.channel, self.external_id, payload=payload))

    async def _send(self, incoming: Incoming) -> str:
        replies = await self.runtime.dialogue.handle(incoming)
        self.last = replies[-1]
        return plain("\n\n".join(r.text for r in replies))

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.last.choices] if self.last else []


async def new_code(runtime, org: str = "iride", role: Role = Role.WORKER) -> str:
    async with transaction(runtime.sessions) as session:
        return (await create_codes(session, org, role, 1, runtime.clock(), 30))[0]


async def enrolled(runtime, external_id: str, *, org: str = "iride",
                   role: Role = Role.WORKER, name: str = "Giulia",
                   channel: str = "console") -> Chatter:
    """A person enrolled through the real onboarding dialogue, left at the main menu."""
    chatter = Chatter(runtime, external_id, channel)
    await chatter.say(await new_code(runtime, org, role))
    await chatter.press("Italiano")
    await chatter.press("Accetto")
    text = await chatter.say(name)
    if role == Role.WORKER:
        text = await chatter.press("Donna")
    assert "Fatto" in text, text
    return chatter

