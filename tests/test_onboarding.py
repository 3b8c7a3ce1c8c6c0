"""Enrolment through the dialogue: code, language, privacy, name, gender."""

from datetime import timedelta

import pytest
from sqlmodel import select

from models.base import Role
from models.db import transaction
from models.tables import ChatIdentity, EnrolmentCode, Person
from tests.support.chat import Chatter, enrolled, new_code


async def people(runtime) -> list[Person]:
    async with transaction(runtime.sessions) as session:
        return list((await session.exec(select(Person))).all())


@pytest.mark.asyncio
async def test_full_enrolment_in_english(runtime):
    chat = Chatter(runtime, "+393330000001")
    welcome = await chat.say("hello")
    assert "codice" in welcome and "non è valido" in welcome
    await chat.press("English")
    assert "enrolment code" in chat.last.text
    code = await new_code(runtime, "koala")
    assert "Which language" in await chat.say(code.lower())  # codes are case-insensitive
    assert "Privacy notice" in await chat.press("English")
    assert "90 days" in chat.last.text and "erasure" in chat.last.text
    assert "first name" in await chat.press("I accept")
    assert "How do you describe" in await chat.say("anna maria")
    done = await chat.press("Prefer not")
    assert "Done, Anna maria" in done and "New request" in chat.labels[0]
    [person] = await people(runtime)
    assert (person.language, person.role, person.gender) == ("en", "worker", None)
    assert person.consent_at == runtime.clock()


@pytest.mark.asyncio
async def test_without_a_code_nothing_else_is_possible(runtime):
    chat = Chatter(runtime, "+393330000002")
    await chat.say("ciao")
    assert "ufficio del personale" in await chat.press("Non ho un codice")
    for attempt in ("menu", "nuova richiesta", "/richieste", "1", "ABCD2345", "🙂"):
        text = await chat.say(attempt)
        assert "codice" in text.lower(), attempt
    assert await people(runtime) == []


@pytest.mark.asyncio
async def test_declining_privacy_enrols_nobody_and_can_be_reconsidered(runtime):
    chat = Chatter(runtime, "+393330000003")
    await chat.say(await new_code(runtime))
    await chat.press("Italiano")
    assert "Senza il tuo consenso" in await chat.press("Non accetto")
    assert await people(runtime) == []
    assert "Come ti chiami" in await chat.press("Accetto")


@pytest.mark.asyncio
async def test_codes_are_single_use(runtime):
    code = await new_code(runtime)
    first = Chatter(runtime, "+393330000004")
    second = Chatter(runtime, "+393330000005")
    await first.say(code)
    await second.say(code)  # both start with the same code; the first to finish wins
    for chat in (first, second):
        await chat.press("Italiano")
        await chat.press("Accetto")
        await chat.say("Luca")
    assert "Fatto" in await first.press("Uomo")
    assert "appena usato" in await second.press("Uomo")
    assert len(await people(runtime)) == 1
    third = Chatter(runtime, "+393330000006")
    assert "non è valido" in await third.say(code)


@pytest.mark.asyncio
async def test_codes_expire(runtime, clock):
    code = await new_code(runtime)
    clock.advance(days=31)
    chat = Chatter(runtime, "+393330000007")
    assert "scaduto" in await chat.say(code)
    async with transaction(runtime.sessions) as session:
        row = (await session.exec(select(EnrolmentCode))).one()
    assert row.used_at is None and row.expires_at < clock() - timedelta(days=0)


@pytest.mark.asyncio
async def test_a_name_must_be_a_name(runtime):
    chat = Chatter(runtime, "+393330000008")
    await chat.say(await new_code(runtime, "iride", Role.OPERATOR))
    await chat.press("Italiano")
    await chat.press("Accetto")
    for bad in ("12345", "'; DROP TABLE person; --", "x" * 60, "🙂🙂"):
        assert "solo il tuo nome" in await chat.say(bad)
    assert "Fatto, Chiara" in await chat.say("chiara")  # operators are not asked gender
    assert "Lavori disponibili" in chat.labels[0]


@pytest.mark.asyncio
async def test_deep_link_start_with_code(runtime):
    chat = Chatter(runtime, "+393330000009")
    assert "In che lingua" in await chat.say(f"/start {await new_code(runtime)}")


@pytest.mark.asyncio
async def test_linking_a_second_chat_makes_one_person(runtime):
    worker = await enrolled(runtime, "+393330000012")
    text = await worker.press("Collega")
    code = next(word for word in text.split() if word.isdigit() and len(word) == 6)
    other = Chatter(runtime, "777000111", channel="telegram")
    assert "collegata al tuo profilo" in await other.say(code)
    assert "Nuova richiesta" in other.labels[0]
    reuse = Chatter(runtime, "+393330000099", channel="whatsapp")
    assert "non è valido" in await reuse.say(code)
    async with transaction(runtime.sessions) as session:
        chats = (await session.exec(select(ChatIdentity).where(
            ChatIdentity.person_id.is_not(None)))).all()
    assert {c.channel for c in chats} == {"console", "telegram"}
    assert len({c.person_id for c in chats}) == 1


@pytest.mark.asyncio
async def test_guessing_codes_is_stopped_after_five_wrong_ones(runtime, clock):
    """Link codes have six digits: a chat may not try them by the thousand."""
    chat = Chatter(runtime, "+393330000077")
    for guess in ("123456", "234567", "ABCDEFGH", "345678", "456789"):
        assert "non è valido" in await chat.say(guess)
    code = await new_code(runtime)
    assert "Troppi codici non validi" in await chat.say(code)  # even a right one, for now
    assert await people(runtime) == []
    clock.advance(minutes=61)
    assert "In che lingua" in await chat.say(code)


@pytest.mark.asyncio
async def test_an_operator_is_told_who_sees_their_name(runtime):
    chat = Chatter(runtime, "+393330000088")
    await chat.say(await new_code(runtime, "iride", Role.OPERATOR))
    await chat.press("Italiano")
    assert "lo vedranno i lavoratori che aiuterai" in await chat.press("Accetto")
