"""People managed by staff: who is listed to whom, switching someone off and on again
(an operator's taken job goes back to colleagues; a worker's requests stay and their
notices wait), and who may do it."""

import pytest
from sqlmodel import select

from models.base import NoticeStatus, RequestStatus, Role
from models.db import transaction
from models.enrolment import CONTACT
from models.offers import NotAllowed
from models.people_admin import deactivate, people_for, reactivate, set_contact
from models.tables import ChangeEvent, Notice, Person
from tests.support.booking import book_in_alfa, the_request
from tests.support.people import make_person, person_id_of, team
from tests.support.senders import console_inbox, deliver


async def act(runtime, operation, actor, target_id) -> bool:
    async with transaction(runtime.sessions) as session:
        return await operation(session, actor, target_id, runtime.clock())


@pytest.mark.asyncio
async def test_deactivating_an_operator_gives_their_job_back_to_colleagues(both_minis):
    mini = both_minis
    people = await team(mini)
    boss = await make_person(mini, "employer", Role.COORDINATOR, "Carla")
    inbox = console_inbox()
    await book_in_alfa(people["worker"])
    await deliver(mini, inbox)
    luca = people["Luca"]
    await luca.say("menu")
    await luca.press("Lavori disponibili")
    await luca.press("Spesa")
    assert "è tuo" in await luca.press("Accetto")
    await deliver(mini, inbox)
    luca_id = await person_id_of(mini, luca)
    assert await act(mini, deactivate, boss, luca_id)
    assert not await act(mini, deactivate, boss, luca_id)  # already off: nothing again
    request = await the_request(mini)
    assert (request.status, request.operator_id) == (RequestStatus.PENDING, None)
    sent_before = inbox.texts(people["Sara"])
    await deliver(mini, inbox)
    assert inbox.texts(people["Sara"]).count("Nuovo lavoro n. 1") \
        == sent_before.count("Nuovo lavoro n. 1") + 1
    sara = people["Sara"]
    await sara.say("menu")
    await sara.press("Lavori disponibili")
    await sara.press("Spesa")
    assert "è tuo" in await sara.press("Accetto")
    # Luca, switched off, is a stranger to the bot now and is offered nothing
    assert "codice" in (await luca.say("menu")).lower()
    async with transaction(mini.sessions) as session:
        event = (await session.exec(select(ChangeEvent))).one()
    assert (event.actor_id, event.action, event.after["jobs_given_back"]) == (
        boss.id, "deactivate", [1])


@pytest.mark.asyncio
async def test_a_worker_switched_off_keeps_their_request_and_their_notices_wait(mini):
    people = await team(mini)
    boss = await make_person(mini, "employer", Role.COORDINATOR, "Carla")
    inbox = console_inbox()
    await book_in_alfa(people["worker"])
    worker_id = await person_id_of(mini, people["worker"])
    assert await act(mini, deactivate, boss, worker_id)
    await deliver(mini, inbox)
    luca = people["Luca"]
    await luca.say("menu")
    await luca.press("Lavori disponibili")
    await luca.press("Spesa")
    await luca.press("Accetto")  # «presa in carico» for the worker: held, not sent
    await deliver(mini, inbox)
    assert inbox.texts(people["worker"]) == ""
    assert (await the_request(mini)).status == RequestStatus.ASSIGNED
    async with transaction(mini.sessions) as session:
        held = (await session.exec(select(Notice).where(
            Notice.person_id == worker_id))).all()
    assert held and {(n.status, n.held_reason) for n in held} == {
        (NoticeStatus.HELD, "inactive")}
    assert await act(mini, reactivate, boss, worker_id)
    await deliver(mini, inbox)
    assert "se ne occuperà Luca" in inbox.texts(people["worker"])


@pytest.mark.asyncio
async def test_who_sees_and_manages_whom(mini):
    people = await team(mini)
    boss = await make_person(mini, "employer", Role.COORDINATOR, "Carla")
    coop_contact = await make_person(mini, "coop-a", CONTACT, "Referente A")
    employer_contact = await make_person(mini, "employer", CONTACT, "Hr")
    async with transaction(mini.sessions) as session:
        everyone = await people_for(session, boss)
        coop = await people_for(session, coop_contact)
        employer = await people_for(session, employer_contact)
    assert {row.person.first_name for row in coop} == {"Luca", "Sara"}
    assert {row.person.first_name for row in employer} == {"Giulia"}  # workers only
    giulia = next(row for row in everyone if row.person.first_name == "Giulia")
    assert giulia.chats == [("console", True)] and giulia.reachable
    ivo = await person_id_of(mini, people["Ivo"])
    with pytest.raises(NotAllowed):
        await act(mini, deactivate, coop_contact, ivo)
    assert await act(mini, deactivate, coop_contact, await person_id_of(mini, people["Sara"]))
    worker = await make_person(mini, "employer", Role.WORKER, "Anna")
    with pytest.raises(NotAllowed):
        await act(mini, deactivate, worker, ivo)
    with pytest.raises(NotAllowed):
        await act(mini, deactivate, boss, boss.id)
    async with transaction(mini.sessions) as session:
        assert (await session.get(Person, ivo)).active


@pytest.mark.asyncio
async def test_the_coordinator_gives_and_takes_the_contact_role(mini):
    people = await team(mini)
    boss = await make_person(mini, "employer", Role.COORDINATOR, "Carla")
    sara_id = await person_id_of(mini, people["Sara"])

    async def contact(give: bool, actor=boss) -> bool:
        async with transaction(mini.sessions) as session:
            return await set_contact(session, actor, sara_id, give, mini.clock())

    assert await contact(True) and not await contact(True)
    async with transaction(mini.sessions) as session:
        assert (await session.get(Person, sara_id)).role == Role.CONTACT
    await people["Sara"].say("menu")
    assert "🖥️ Apri il pannello" in people["Sara"].labels
    with pytest.raises(NotAllowed):  # a contact cannot make contacts
        sara = await make_person(mini, "coop-a", Role.CONTACT, "Altra")
        await contact(False, sara)
    assert await contact(False)
    async with transaction(mini.sessions) as session:
        assert (await session.get(Person, sara_id)).role == Role.OPERATOR  # as before
        actions = (await session.exec(select(ChangeEvent.action).order_by(ChangeEvent.id))).all()
    assert actions == ["give_contact", "take_contact"]
