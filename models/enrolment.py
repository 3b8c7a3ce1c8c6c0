"""Enrolment codes as the programme's staff hand them out: who may issue codes for which
organisation and role, the codes issued and their state, and revoking one. (Making a chat
into a person with a code is `people.enrol`.)"""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import record_change
from models.base import OrgRole, Role
from models.offers import NotAllowed
from models.people import create_codes
from models.tables import EnrolmentCode, Organisation, Person

CONTACT = Role.CONTACT  # a partner's project contact ("referente"), who uses the console
MAX_CODES = 500


def may_enrol(actor: Person | None, org: Organisation, role: str) -> bool:
    """The coordinator enrols anyone; a contact enrols their own organisation's workers
    (if it employs) and operators (if it provides services)."""
    if actor is None or not actor.active:
        return False
    if actor.role == Role.COORDINATOR:
        return True
    if actor.role != CONTACT or actor.organisation_id != org.id:
        return False
    return (role == Role.WORKER and OrgRole.EMPLOYER in org.roles) \
        or (role == Role.OPERATOR and OrgRole.PROVIDER in org.roles)


def roles_for(actor: Person, org: Organisation) -> list[str]:
    """The roles `actor` may issue codes for in `org` (for the console's form)."""
    candidates = [Role.WORKER, Role.OPERATOR, Role.COORDINATOR, CONTACT]
    usable = {Role.WORKER: OrgRole.EMPLOYER in org.roles,
              Role.OPERATOR: OrgRole.PROVIDER in org.roles,
              Role.COORDINATOR: OrgRole.COORDINATOR in org.roles, CONTACT: True}
    return [str(role) for role in candidates if usable[role] and may_enrol(actor, org, role)]


async def issue_codes(session: AsyncSession, actor: Person, org_id: int, role: str,
                      count: int, now: datetime, valid_days: int) -> list[EnrolmentCode]:
    """`count` new single-use codes for `org_id` and `role`, issued by `actor`."""
    org = await session.get(Organisation, org_id)
    if org is None or not may_enrol(actor, org, role) or role not in roles_for(actor, org):
        raise NotAllowed(actor, f"issue {role} codes for organisation {org_id}")
    if not 1 <= count <= MAX_CODES:
        raise ValueError(count)
    texts = await create_codes(session, org.code, role, count, now, valid_days)
    rows = list((await session.exec(select(EnrolmentCode).where(
        EnrolmentCode.code.in_(texts)).order_by(EnrolmentCode.id))).all())
    for row in rows:
        row.issued_by_id = actor.id
        session.add(row)
    await record_change(session, actor, "enrolment", org.code, "issue", None,
                        {"role": role, "count": count, "first": rows[0].id,
                         "last": rows[-1].id}, now)
    return rows


@dataclass(frozen=True)
class CodeState:
    code: EnrolmentCode
    organisation: Organisation
    state: str  # unused, used, expired, revoked
    used_by: Person | None


def state_of(code: EnrolmentCode, now: datetime) -> str:
    if code.used_at is not None:
        return "used"
    if code.revoked_at is not None:
        return "revoked"
    return "expired" if code.expires_at <= now else "unused"


async def codes_for(session: AsyncSession, actor: Person, now: datetime, *,
                    org_id: int | None = None, ids: list[int] | None = None,
                    limit: int = 500) -> list[CodeState]:
    """The codes `actor` may see (the coordinator all; a contact their organisation's
    worker and operator codes), newest first, with their state."""
    query = select(EnrolmentCode, Organisation).join(
        Organisation, Organisation.id == EnrolmentCode.organisation_id)
    if actor.role != Role.COORDINATOR:
        if actor.role != CONTACT:
            raise NotAllowed(actor, "list enrolment codes")
        query = query.where(EnrolmentCode.organisation_id == actor.organisation_id,
                            EnrolmentCode.role.in_([Role.WORKER, Role.OPERATOR]))
    if org_id is not None:
        query = query.where(EnrolmentCode.organisation_id == org_id)
    if ids is not None:
        query = query.where(EnrolmentCode.id.in_(ids))
    rows = (await session.exec(query.order_by(EnrolmentCode.id.desc()).limit(limit))).all()
    people_ids = {code.used_by_person_id for code, _ in rows if code.used_by_person_id}
    people = {p.id: p for p in (await session.exec(select(Person).where(
        Person.id.in_(people_ids)))).all()} if people_ids else {}
    return [CodeState(code, org, state_of(code, now), people.get(code.used_by_person_id))
            for code, org in rows]


async def revoke_code(session: AsyncSession, actor: Person, code_id: int,
                      now: datetime) -> bool:
    """Revoke an unused code (one conditional update); False if it was used or revoked
    meanwhile. Only who may issue such a code may revoke it."""
    code = await session.get(EnrolmentCode, code_id)
    org = await session.get(Organisation, code.organisation_id) if code else None
    if code is None or not may_enrol(actor, org, code.role):
        raise NotAllowed(actor, f"revoke enrolment code {code_id}")
    revoked = await session.exec(
        update(EnrolmentCode)
        .where(EnrolmentCode.id == code_id, EnrolmentCode.used_at.is_(None),
               EnrolmentCode.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by_id=actor.id))
    if revoked.rowcount != 1:
        return False
    await record_change(session, actor, "enrolment", code.code, "revoke",
                        {"state": "unused"}, {"state": "revoked"}, now)
    return True
