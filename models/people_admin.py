"""People as the programme's staff manage them: who is enrolled (with their chats and
whether each can be reached), switching someone off and on again, and who may do that.

Deactivating an operator gives their taken jobs back to their colleagues and closes the
offers waiting for them; a worker's open requests are kept (the service still happens),
and nothing more is sent to them: their waiting notices are held until they are switched
on again."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import jobs, outbox
from models.audit import record_change, require_coordinator
from models.base import OrgRole, RequestStatus, Role
from models.offers import NotAllowed
from models.people import usable
from models.tables import (
    ChangeEvent,
    ChatIdentity,
    Offer,
    Organisation,
    Person,
    ServiceRequest,
)

INACTIVE = "inactive"  # held_reason of the notices of someone switched off


def may_manage(actor: Person | None, person: Person, org: Organisation) -> bool:
    """The coordinator manages everyone; a contact the workers (if their organisation
    employs) and operators (if it provides services) of their own organisation."""
    if actor is None or not actor.active or person.erased_at is not None:
        return False
    if actor.role == Role.COORDINATOR:
        return True
    if actor.role != Role.CONTACT or person.organisation_id != actor.organisation_id:
        return False
    return (person.role == Role.WORKER and OrgRole.EMPLOYER in org.roles) \
        or (person.role == Role.OPERATOR and OrgRole.PROVIDER in org.roles)


@dataclass(frozen=True)
class PersonRow:
    person: Person
    organisation: Organisation
    chats: list[tuple[str, bool]]  # (channel, reachable)

    @property
    def reachable(self) -> bool:
        return any(ok for _, ok in self.chats)


async def people_for(session: AsyncSession, actor: Person, *, org_id: int | None = None,
                     role: str | None = None, limit: int = 1000) -> list[PersonRow]:
    """Everyone `actor` may manage (never the erased), newest first."""
    query = select(Person, Organisation).join(
        Organisation, Organisation.id == Person.organisation_id).where(
        Person.erased_at.is_(None))
    if actor.role != Role.COORDINATOR:
        if actor.role != Role.CONTACT:
            raise NotAllowed(actor, "list people")
        query = query.where(Person.organisation_id == actor.organisation_id)
    if org_id is not None:
        query = query.where(Person.organisation_id == org_id)
    if role is not None:
        query = query.where(Person.role == role)
    rows = [(p, o) for p, o in (await session.exec(
        query.order_by(Person.id.desc()).limit(limit))).all() if may_manage(actor, p, o)]
    ids = [p.id for p, _ in rows]
    chats: dict[int, list[tuple[str, bool]]] = {}
    if ids:
        for chat in (await session.exec(select(ChatIdentity).where(
                ChatIdentity.person_id.in_(ids)).order_by(ChatIdentity.id))).all():
            chats.setdefault(chat.person_id, []).append((chat.channel, usable(chat)))
    return [PersonRow(p, o, chats.get(p.id, [])) for p, o in rows]


async def managed(session: AsyncSession, actor: Person, person_id: int) -> Person:
    """The person `actor` wants to act on, if they may; else NotAllowed."""
    person = await session.get(Person, person_id)
    org = await session.get(Organisation, person.organisation_id) if person else None
    if person is None or not may_manage(actor, person, org):
        raise NotAllowed(actor, f"manage person {person_id}")
    return person


async def _give_back_jobs(session: AsyncSession, person: Person, now: datetime) -> list[int]:
    """An operator who stops being one: offers waiting for them close, the jobs they took
    go back to their colleagues. Returns the jobs given back."""
    if person.role != Role.OPERATOR:
        return []
    await session.exec(update(Offer).where(
        Offer.operator_id == person.id, Offer.status == "open")
        .values(status="closed", answered_at=now))
    taken = (await session.exec(select(ServiceRequest).where(
        ServiceRequest.operator_id == person.id,
        ServiceRequest.status == RequestStatus.ASSIGNED))).all()
    return [request.id for request in taken if await jobs.release(session, request, person, now)]


async def deactivate(session: AsyncSession, actor: Person, person_id: int,
                     now: datetime) -> bool:
    """Switch someone off (False if they already were). See the module's docstring."""
    person = await managed(session, actor, person_id)
    if person.id == actor.id:
        raise NotAllowed(actor, "deactivate themselves")
    switched = await session.exec(update(Person).where(
        Person.id == person.id, Person.active.is_(True)).values(active=False))
    if switched.rowcount != 1:
        return False
    await session.refresh(person)
    given_back = await _give_back_jobs(session, person, now)
    await outbox.hold_pending(session, person.id, INACTIVE)
    await record_change(session, actor, "person", person.id, "deactivate", {"active": True},
                        {"active": False, "jobs_given_back": given_back}, now)
    return True


async def reactivate(session: AsyncSession, actor: Person, person_id: int,
                     now: datetime) -> bool:
    """Switch someone on again: the notices held while they were off are due now."""
    person = await managed(session, actor, person_id)
    switched = await session.exec(update(Person).where(
        Person.id == person.id, Person.active.is_(False)).values(active=True))
    if switched.rowcount != 1:
        return False
    await session.refresh(person)
    await outbox.release_held(session, person.id, now, reason=INACTIVE)
    await record_change(session, actor, "person", person.id, "reactivate", {"active": False},
                        {"active": True}, now)
    return True


async def set_contact(session: AsyncSession, actor: Person, person_id: int, give: bool,
                      now: datetime) -> bool:
    """Give someone the contact role (the console for their organisation), or take it back
    (they return to the role they had; an operator who becomes a contact gives their jobs
    back to colleagues). The coordinator only; False when there was nothing to change."""
    require_coordinator(actor, "give or take the contact role")
    person = await session.get(Person, person_id)
    if person is None or person.erased_at is not None or person.role == Role.COORDINATOR:
        raise NotAllowed(actor, f"change the role of person {person_id}")
    if give == (person.role == Role.CONTACT):
        return False
    before = person.role
    if give:
        await _give_back_jobs(session, person, now)
        after = str(Role.CONTACT)
    else:
        after = await _role_before_contact(session, person)
    person.role = after
    session.add(person)
    await record_change(session, actor, "person", person.id,
                        "give_contact" if give else "take_contact", {"role": before},
                        {"role": after}, now)
    return True


async def _role_before_contact(session: AsyncSession, person: Person) -> str:
    given = (await session.exec(select(ChangeEvent).where(
        ChangeEvent.subject == "person", ChangeEvent.subject_key == str(person.id),
        ChangeEvent.action == "give_contact").order_by(ChangeEvent.id.desc()))).first()
    if given is not None and given.before and given.before.get("role"):
        return given.before["role"]
    org = await session.get(Organisation, person.organisation_id)
    employs = OrgRole.EMPLOYER in org.roles or OrgRole.PROVIDER not in org.roles
    return str(Role.WORKER if employs else Role.OPERATOR)
