"""People for tests: one straight in the store, the tiny alliance's cast enrolled through
the dialogue, and the ids behind a chat and an organisation's code."""

from sqlmodel import select

from models.base import Role
from models.db import transaction
from models.people import identity_for
from models.tables import Organisation, Person
from tests.support.chat import Chatter, enrolled


async def make_person(runtime, org_code: str, role: Role = Role.WORKER,
                      name: str = "Anna") -> Person:
    """A person straight in the store (for tests of store operations, not of dialogue)."""
    async with transaction(runtime.sessions) as session:
        org = (await session.exec(select(Organisation).where(
            Organisation.code == org_code))).one()
        person = Person(role=str(role), organisation_id=org.id, first_name=name,
                        consent_at=runtime.clock(), created_at=runtime.clock())
        session.add(person)
        await session.flush()
        return person


async def team(runtime):
    """A worker, two operators of each cooperative and a coordinator, all enrolled."""
    people = {"worker": await enrolled(runtime, "+393335550001", org="employer", name="Giulia")}
    for n, (org, name) in enumerate([("coop-a", "Luca"), ("coop-a", "Sara"),
                                     ("coop-b", "Ivo"), ("coop-b", "Eva")]):
        people[name] = await enrolled(runtime, f"+39333555001{n}", org=org,
                                      role=Role.OPERATOR, name=name)
    people["coordinator"] = await enrolled(runtime, "+393335550099", org="employer",
                                           role=Role.COORDINATOR, name="Paola")
    return people


async def person_named(runtime, first_name: str) -> Person:
    """The one person with that first name."""
    async with transaction(runtime.sessions) as session:
        return (await session.exec(select(Person).where(Person.first_name == first_name))).one()


async def person_id_of(runtime, chat: Chatter) -> int:
    """The id of the person who writes from `chat`."""
    async with transaction(runtime.sessions) as session:
        return (await identity_for(session, chat.channel, chat.external_id)).person_id


async def org_id(runtime, code: str) -> int:
    """The id of the organisation with that code."""
    async with transaction(runtime.sessions) as session:
        return (await session.exec(select(Organisation.id).where(
            Organisation.code == code))).one()
