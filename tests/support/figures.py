"""The coordinator's figures' data set, shared by the figures, the reports and the web
console's tests, and its readings (the digest's figures of a day, a period's).

The data set (tiny alliance of tests/data/mini.toml, fund of 50 euro):
  workers  w1 Datore f, w2 Datore m, w3 Coop A (gender not said), w4 Coop A f (no requests)
  Wed 25/11 09:00  r1 w1 spesa Alfa Thu 09:00 → coop-a, fund 10 €
                   r2 w2 baby Alfa Thu 15:00 → coop-a, fund 20 € (the worker's cap)
                   r3 w3 anziani Gamma Mon 30 → coop-b, nobody answers (pending)
                   r4 w2 anziani Beta Mon 30 → nobody serves Beta (unserved)
  Wed 09:30        operator A takes r1 and r2
  Thu 26/11 10:10  r1 done in 55 minutes (commits 10 €)
            11:00  r5 w3 baby Alfa Fri 10:00 → coop-a, fund 20 € (what is left), pending
            11:30  r6 w2 spesa Alfa Fri 11:00 → coop-a, no fund left; cancelled at 12:00
            17:30  r2 done in 130 minutes (commits 20 €)
  surveys: r1 sent Thu 12:10, scored 2; r2 sent Thu 17:45, no answer;
           r0 (an October errand done in 45 minutes for w1 by coop-b) sent in October, 4
  the digest is made on Thursday 26/11 at 18:00.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import select, update

from models import jobs, offers
from models import requests as store
from models.base import Role
from models.db import transaction
from models.figures import digest_figures, period_figures
from models.tables import (
    ChatIdentity,
    Municipality,
    Offer,
    Organisation,
    Person,
    Service,
    ServiceRequest,
    Survey,
)
from tests.support.booking import THURSDAY, book
from tests.support.clock import ROME
from tests.support.people import make_person

FRIDAY, MONDAY = date(2026, 11, 27), date(2026, 11, 30)
DIGEST_AT = datetime(2026, 11, 26, 18, 0, tzinfo=ROME).astimezone(UTC)


def rome(*args) -> datetime:
    return datetime(*args, tzinfo=ROME).astimezone(UTC)


@dataclass
class DataSet:
    runtime: object
    people: dict[str, Person]
    requests: dict[str, int]


async def worker(runtime, org: str, gender: str | None, name: str) -> Person:
    person = await make_person(runtime, org, name=name)
    async with transaction(runtime.sessions) as session:
        await session.exec(update(Person).where(Person.id == person.id).values(gender=gender))
    person.gender = gender
    return person


async def take(runtime, request_id: int, operator: Person) -> None:
    async with transaction(runtime.sessions) as session:
        offer = (await session.exec(select(Offer).where(
            Offer.request_id == request_id, Offer.operator_id == operator.id))).one()
        answer = await offers.accept(session, offer.id, operator, runtime.clock())
    assert answer.outcome == "won"


async def finish(runtime, request_id: int, operator: Person, minutes: int) -> None:
    async with transaction(runtime.sessions) as session:
        request = await session.get(ServiceRequest, request_id)
        assert await jobs.complete(session, request, operator, minutes, runtime.clock())


async def cancel(runtime, request_id: int, worker_id: int) -> None:
    async with transaction(runtime.sessions) as session:
        request = await session.get(ServiceRequest, request_id)
        assert await store.cancel(session, request, worker_id, "test", runtime.clock())


async def row_id(session, table, **where) -> int:
    query = select(table.id)
    for column, value in where.items():
        query = query.where(getattr(table, column) == value)
    return (await session.exec(query)).one()


async def october_errand(runtime, worker_id: int) -> int:
    """r0: an errand done in October, straight in the store (before the 30 days)."""
    async with transaction(runtime.sessions) as session:
        request = ServiceRequest(
            worker_id=worker_id, service_id=await row_id(session, Service, code="spesa"),
            municipality_id=await row_id(session, Municipality, name="Alfa"),
            starts_at=rome(2026, 10, 21, 10), duration_minutes=60, status="done",
            provider_id=await row_id(session, Organisation, code="coop-b"), price_cents=2000,
            actual_minutes=45, done_at=rome(2026, 10, 21, 11), created_at=rome(2026, 10, 20, 10),
            updated_at=rome(2026, 10, 21, 11))
        session.add(request)
        await session.flush()
        return request.id


async def survey(runtime, request_id: int, sent_at: datetime, score: int | None) -> None:
    """The request's survey (planned when the job was done, or new) sent at `sent_at`
    and, with a score, answered twenty minutes later."""
    async with transaction(runtime.sessions) as session:
        request = await session.get(ServiceRequest, request_id)
        row = (await session.exec(select(Survey).where(Survey.request_id == request_id))).first()
        row = row or Survey(request_id=request_id, worker_id=request.worker_id,
                            provider_id=request.provider_id, due_at=sent_at)
        row.sent_at, row.score = sent_at, score
        row.answered_at = None if score is None else sent_at + timedelta(minutes=20)
        session.add(row)


async def add_identities(runtime, person: Person, *states: str) -> None:
    """One chat per state: 'ok', 'unreachable' or 'opted_out'."""
    async with transaction(runtime.sessions) as session:
        for n, state in enumerate(states):
            session.add(ChatIdentity(
                channel=("telegram", "whatsapp", "console")[n], external_id=f"p{person.id}-{n}",
                person_id=person.id,
                unreachable_at=DIGEST_AT if state == "unreachable" else None,
                opted_out_at=DIGEST_AT if state == "opted_out" else None))


async def build(runtime, clock) -> DataSet:
    people = {
        "w1": await worker(runtime, "employer", "f", "W1"),
        "w2": await worker(runtime, "employer", "m", "W2"),
        "w3": await worker(runtime, "coop-a", None, "W3"),
        "w4": await worker(runtime, "coop-a", "f", "W4"),
        "op_a": await make_person(runtime, "coop-a", Role.OPERATOR, "OpA"),
        "op_b": await make_person(runtime, "coop-b", Role.OPERATOR, "OpB"),
    }
    w1, w2, w3 = people["w1"].id, people["w2"].id, people["w3"].id
    clock.set_local(2026, 11, 25, 9, 0)
    ids = {
        "r1": (await book(runtime, w1, "spesa", "Alfa", THURSDAY, time(9))).request.id,
        "r2": (await book(runtime, w2, "baby", "Alfa", THURSDAY, time(15))).request.id,
        "r3": (await book(runtime, w3, "anziani", "Gamma", MONDAY, time(9))).request.id,
        "r4": (await book(runtime, w2, "anziani", "Beta", MONDAY, time(9))).request.id,
    }
    clock.set_local(2026, 11, 25, 9, 30)
    await take(runtime, ids["r1"], people["op_a"])
    await take(runtime, ids["r2"], people["op_a"])
    clock.set_local(2026, 11, 26, 10, 10)
    await finish(runtime, ids["r1"], people["op_a"], 55)
    clock.set_local(2026, 11, 26, 11, 0)
    ids["r5"] = (await book(runtime, w3, "baby", "Alfa", FRIDAY, time(10))).request.id
    clock.set_local(2026, 11, 26, 11, 30)
    ids["r6"] = (await book(runtime, w2, "spesa", "Alfa", FRIDAY, time(11))).request.id
    clock.set_local(2026, 11, 26, 12, 0)
    await cancel(runtime, ids["r6"], w2)
    clock.set_local(2026, 11, 26, 17, 30)
    await finish(runtime, ids["r2"], people["op_a"], 130)
    ids["r0"] = await october_errand(runtime, w1)
    await survey(runtime, ids["r0"], rome(2026, 10, 21, 13), 4)
    await survey(runtime, ids["r1"], rome(2026, 11, 26, 12, 10), 2)
    await survey(runtime, ids["r2"], rome(2026, 11, 26, 17, 45), None)
    people["op_old"] = await make_person(runtime, "coop-b", Role.OPERATOR, "Old")
    async with transaction(runtime.sessions) as session:
        await session.exec(update(Person).where(Person.id == people["op_old"].id)
                           .values(active=False))
    await add_identities(runtime, people["w1"], "unreachable", "ok")
    await add_identities(runtime, people["w2"], "opted_out")
    await add_identities(runtime, people["w3"], "unreachable", "opted_out")
    await add_identities(runtime, people["op_a"], "ok")
    await add_identities(runtime, people["op_old"], "unreachable")  # inactive: not counted
    clock.now = DIGEST_AT
    return DataSet(runtime, people, ids)


async def digest_of(runtime, day: date, now: datetime = DIGEST_AT):
    async with transaction(runtime.sessions) as session:
        return await digest_figures(session, day, now)


async def period_of(runtime, first: date, last: date, now: datetime = DIGEST_AT):
    async with transaction(runtime.sessions) as session:
        return await period_figures(session, first, last, now)
