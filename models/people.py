"""Identities, enrolment codes and people: who is writing, and what they may do."""

import re
import secrets
from datetime import UTC, datetime, timedelta

import phonenumbers
from sqlmodel import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import outbox
from models.base import Role, utcnow
from models.db import insert_ignoring_duplicates
from models.tables import ChatIdentity, EnrolmentCode, LinkCode, Organisation, Person

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed on a phone
CODE_LENGTH = 8
LINK_CODE_LENGTH = 6
LINK_CODE_MINUTES = 15
ADDRESS_SCHEME = re.compile(r"^[a-z]+:", re.IGNORECASE)  # e.g. a platform's "xyz:+39…"


class InvalidPhone(ValueError):
    pass


def normalise_phone(text: str, region: str = "IT") -> str:
    """Any way a person writes a phone number, or a platform's address of one ("scheme:"
    and the number) → E.164 (+39...), or InvalidPhone."""
    try:
        number = phonenumbers.parse(ADDRESS_SCHEME.sub("", text.strip()), region)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhone(text) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


async def identity_for(session: AsyncSession, channel: str, external_id: str, *,
                       lock: bool = False) -> ChatIdentity:
    """The identity of a chat, created on first contact (race-safe: unique constraint).
    `lock` holds its row until the transaction ends, so that two messages of one chat
    handled at once (two web processes, two webhook deliveries) take turns."""
    query = select(ChatIdentity).where(
        ChatIdentity.channel == channel, ChatIdentity.external_id == external_id)
    if lock:
        query = query.with_for_update()
    identity = (await session.exec(query)).first()
    if identity is None:
        await session.exec(insert_ignoring_duplicates(
            session, ChatIdentity, channel=channel, external_id=external_id, created_at=utcnow()))
        identity = (await session.exec(query)).one()
    return identity


async def create_codes(session: AsyncSession, org_code: str, role: Role, count: int,
                       now: datetime, valid_days: int) -> list[str]:
    org = (await session.exec(select(Organisation).where(Organisation.code == org_code))).first()
    if org is None:
        raise LookupError(f"no organisation with code {org_code!r}")
    if role == Role.OPERATOR and "provider" not in org.roles:
        raise ValueError(f"{org_code} is not a provider: it has no operators")
    if role == Role.COORDINATOR and "coordinator" not in org.roles:
        raise ValueError(f"{org_code} is not the coordinating organisation")
    if role == Role.CONTACT and not {"employer", "provider"} & set(org.roles):
        raise ValueError(f"{org_code} neither employs workers nor provides services")
    codes = []
    for _ in range(count):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        session.add(EnrolmentCode(code=code, organisation_id=org.id, role=str(role),
                                  expires_at=now + timedelta(days=valid_days)))
        codes.append(code)
    await session.flush()
    return codes


async def find_valid_code(session: AsyncSession, text: str, now: datetime) -> EnrolmentCode | None:
    code = normalise_code(text)
    if len(code) != CODE_LENGTH:
        return None
    row = (await session.exec(select(EnrolmentCode).where(EnrolmentCode.code == code))).first()
    if row is None or row.used_at is not None or row.revoked_at is not None \
            or row.expires_at <= now:
        return None
    return row


async def enrol(session: AsyncSession, identity: ChatIdentity, code: str, *, first_name: str,
                gender: str | None, language: str, now: datetime) -> Person | None:
    """Use the code (once: a conditional update) and make the identity a person.
    Returns None if the code was used or expired meanwhile."""
    row = await find_valid_code(session, code, now)
    if row is None:
        return None
    person = Person(role=row.role, organisation_id=row.organisation_id, first_name=first_name,
                    gender=gender, language=language, consent_at=now, created_at=now)
    session.add(person)
    await session.flush()
    claimed = await session.exec(
        update(EnrolmentCode)
        .where(EnrolmentCode.id == row.id, EnrolmentCode.used_at.is_(None),
               EnrolmentCode.revoked_at.is_(None))
        .values(used_at=now, used_by_person_id=person.id))
    if claimed.rowcount != 1:
        raise CodeRace()
    identity.person_id = person.id
    session.add(identity)
    if person.role in (Role.COORDINATOR, Role.OPERATOR):
        await outbox.hand_over_held(session, person)
    return person


class CodeRace(RuntimeError):
    """Two chats used the same code at the same instant; the loser's transaction rolls back."""


async def people_with_role(session: AsyncSession, role: Role,
                           organisation_id: int | None = None) -> list[Person]:
    query = select(Person).where(Person.role == role, Person.active.is_(True))
    if organisation_id is not None:
        query = query.where(Person.organisation_id == organisation_id)
    return list((await session.exec(query.order_by(Person.id))).all())


def usable(identity: ChatIdentity) -> bool:
    """A chat notices may go to: not found blocked or unreachable, not opted out."""
    return identity.unreachable_at is None and identity.opted_out_at is None


async def mark_unreachable(session: AsyncSession, identity_ids: list[int],
                           now: datetime) -> None:
    """These chats were found unable to receive from us (blocked, no such number): no
    notice goes to them until their person writes from them again."""
    for identity_id in identity_ids:
        identity = await session.get(ChatIdentity, identity_id)
        identity.unreachable_at = now
        session.add(identity)


async def identities_of(session: AsyncSession, person_id: int) -> list[ChatIdentity]:
    """A person's chats, the one they last wrote from first."""
    rows = (await session.exec(
        select(ChatIdentity).where(ChatIdentity.person_id == person_id))).all()
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(rows, key=lambda i: i.last_inbound_at or epoch, reverse=True)


async def create_link_code(session: AsyncSession, person: Person, now: datetime) -> str:
    """A six-digit code, valid for a quarter of an hour, to link another chat to `person`."""
    code = "".join(secrets.choice("0123456789") for _ in range(LINK_CODE_LENGTH))
    session.add(LinkCode(code=code, person_id=person.id,
                         expires_at=now + timedelta(minutes=LINK_CODE_MINUTES)))
    await session.flush()
    return code


def looks_like_link_code(text: str) -> bool:
    digits = "".join(text.split())
    return len(digits) == LINK_CODE_LENGTH and digits.isdigit()


async def use_link_code(session: AsyncSession, identity: ChatIdentity, text: str,
                        now: datetime) -> Person | None:
    """Make this chat belong to the person who asked for the code (once, if unexpired)."""
    code = "".join(text.split())
    claimed = await session.exec(
        update(LinkCode)
        .where(LinkCode.code == code, LinkCode.used_at.is_(None), LinkCode.expires_at > now)
        .values(used_at=now, used_by_identity_id=identity.id))
    if claimed.rowcount != 1:
        return None
    row = (await session.exec(select(LinkCode).where(LinkCode.code == code))).one()
    person = await session.get(Person, row.person_id)
    if person is None or not person.active:
        return None
    identity.person_id = person.id
    session.add(identity)
    return person
