"""Signing in to the web console with a link from the chat, over plain HTTP: single use,
expiry, forged and deactivated links refused, sessions that time out, «Esci», the
slow-down after failed attempts, and the cookie's flags."""

import re

import pytest
from sqlmodel import func, select

from bot.runtime import start_runtime
from bot.settings import Settings
from models.base import Role
from models.db import transaction
from models.panel import PanelLink, PanelSession
from models.tables import Person
from tests.support.chat import enrolled
from tests.support.panel import (
    client_for,
    csrf_of,
    link_for,
    sign_in,
    staff_chat,
    token_in,
)
from tests.support.people import person_id_of


def signed_out(response) -> bool:
    return response.status_code == 303 and response.headers["location"] == "/pannello/accesso"


@pytest.mark.asyncio
async def test_the_coordinator_asks_the_chat_and_signs_in_once(runtime, clock):
    chat = await staff_chat(runtime, "+393330000001", "comune-crema", Role.COORDINATOR, "Marta")
    assert "🖥️ Apri il pannello" in chat.labels
    answer = await chat.press("Apri il pannello")
    assert "vale 10 minuti" in answer.lower() or "Vale 10 minuti" in answer
    token = token_in(answer)
    async with transaction(runtime.sessions) as session:  # only the hash is stored
        stored = (await session.exec(select(PanelLink))).all()
    assert len(stored) == 1 and stored[0].token_hash != token and token not in str(stored)

    async with client_for(runtime) as client:
        opened = await client.get(f"/pannello/accesso/{token}")
        assert opened.status_code == 200 and "Marta" in opened.text
        assert opened.headers["referrer-policy"] == "no-referrer"
        entered = await sign_in(client, token)
        assert entered.status_code == 303 and entered.headers["location"] == "/pannello/"
        cookie = entered.headers["set-cookie"]
        assert "intempo_panel=" in cookie and "HttpOnly" in cookie
        assert "SameSite=lax" in cookie and "Secure" not in cookie
        home = await client.get("/pannello/", follow_redirects=True)
        assert home.status_code == 200 and "Marta" in home.text and "Esci" in home.text
    async with client_for(runtime) as other:  # the same link a second time
        again = await other.get(f"/pannello/accesso/{token}")
        assert again.status_code == 403 and "non vale più" in again.text
        form = await other.post("/pannello/accesso", data={"token": token, "form_token": "x"})
        assert form.status_code == 403


@pytest.mark.asyncio
async def test_pannello_command_for_a_contact_and_not_for_a_worker(runtime):
    contact = await staff_chat(runtime, "+393330000002", "ali", Role.CONTACT, "Sara")
    assert contact.labels[0] == "🖥️ Apri il pannello"
    assert "/pannello/accesso/" in await contact.say("/pannello")
    worker = await enrolled(runtime, "+393330000003", org="ali")
    answer = await worker.say("/pannello")
    assert "/pannello/accesso/" not in answer and "Nuova richiesta" in worker.labels[0]
    async with transaction(runtime.sessions) as session:
        assert (await session.exec(select(func.count()).select_from(PanelLink))).one() == 1


@pytest.mark.asyncio
async def test_expired_forged_and_deactivated_links_are_refused(runtime, clock):
    chat = await staff_chat(runtime, "+393330000004", "koala", Role.CONTACT, "Piero")
    person_id = await person_id_of(runtime, chat)
    async with client_for(runtime) as client:
        expired = await link_for(runtime, person_id)
        clock.advance(minutes=10, seconds=1)
        assert (await client.get(f"/pannello/accesso/{expired}")).status_code == 403
        forged = expired[:-4] + ("AAAA" if not expired.endswith("AAAA") else "BBBB")
        assert (await client.get(f"/pannello/accesso/{forged}")).status_code == 403
        page_then_deactivated = await link_for(runtime, person_id)
        page = await client.get(f"/pannello/accesso/{page_then_deactivated}")
        assert page.status_code == 200
        async with transaction(runtime.sessions) as session:
            person = await session.get(Person, person_id)
            person.active = False
            session.add(person)
        refused = await sign_in(client, page_then_deactivated)
        assert refused.status_code == 403
    async with transaction(runtime.sessions) as session:
        assert (await session.exec(select(func.count()).select_from(PanelSession))).one() == 0


@pytest.mark.asyncio
async def test_a_deactivated_person_loses_the_open_session(runtime):
    chat = await staff_chat(runtime, "+393330000005", "koala", Role.CONTACT, "Piero")
    person_id = await person_id_of(runtime, chat)
    async with client_for(runtime) as client:
        assert (await sign_in(client, await link_for(runtime, person_id))).status_code == 303
        assert not signed_out(await client.get("/pannello/"))
        async with transaction(runtime.sessions) as session:
            person = await session.get(Person, person_id)
            person.active = False
            session.add(person)
        assert signed_out(await client.get("/pannello/"))


@pytest.mark.asyncio
async def test_idle_and_absolute_timeouts_and_sign_out(runtime, clock):
    chat = await staff_chat(runtime, "+393330000006", "comune-crema", Role.COORDINATOR, "Marta")
    person_id = await person_id_of(runtime, chat)
    async with client_for(runtime) as client:
        await sign_in(client, await link_for(runtime, person_id))
        clock.advance(minutes=29)
        assert not signed_out(await client.get("/pannello/"))
        clock.advance(minutes=30, seconds=1)  # 30 minutes after the last page: idle
        assert signed_out(await client.get("/pannello/"))

        await sign_in(client, await link_for(runtime, person_id))
        for _ in range(25):  # busy all day: still out after 12 hours
            clock.advance(minutes=29)
            await client.get("/pannello/")
        assert signed_out(await client.get("/pannello/"))

        await sign_in(client, await link_for(runtime, person_id))
        no_token = await client.post("/pannello/esci")
        assert no_token.status_code == 403
        wrong = await client.post("/pannello/esci", data={"csrf": "not-the-token"})
        assert wrong.status_code == 403
        assert not signed_out(await client.get("/pannello/"))
        out = await client.post("/pannello/esci", data={"csrf": await csrf_of(client)})
        assert out.status_code == 303 and out.headers["location"] == "/pannello/accesso?uscito=1"
        assert signed_out(await client.get("/pannello/"))


@pytest.mark.asyncio
async def test_five_failed_attempts_a_minute_slow_an_address_down(runtime, clock):
    chat = await staff_chat(runtime, "+393330000007", "comune-crema", Role.COORDINATOR, "Marta")
    person_id = await person_id_of(runtime, chat)
    good = await link_for(runtime, person_id)
    async with client_for(runtime, "10.0.0.9") as guesser, client_for(runtime, "10.0.0.8") as ok:
        for attempt in range(5):
            assert (await guesser.get(f"/pannello/accesso/guess{attempt}")).status_code == 403
        slowed = await guesser.get(f"/pannello/accesso/{good}")
        assert slowed.status_code == 429 and slowed.headers["retry-after"] == "60"
        assert (await ok.get(f"/pannello/accesso/{good}")).status_code == 200  # others: fine
        clock.advance(seconds=61)
        assert (await sign_in(guesser, good)).status_code == 303


@pytest.mark.asyncio
async def test_cookie_is_secure_behind_https(sqlite_url, clock):
    from models.catalog import load_catalog, read_catalog
    from tests.support.catalogs import CATALOG

    settings = Settings(database_url=sqlite_url, public_base_url="https://intempo.example.org",
                        _env_file=None)
    runtime = await start_runtime(settings, clock=clock)
    try:
        async with transaction(runtime.sessions) as session:
            await load_catalog(session, read_catalog(CATALOG))
        chat = await staff_chat(runtime, "+393330000008", "comune-crema", Role.COORDINATOR,
                                "Marta")
        answer = await chat.say("/pannello")
        assert "https://intempo.example.org/pannello/accesso/" in answer
        async with client_for(runtime, base_url="https://testserver") as client:
            entered = await sign_in(client, token_in(answer))
            assert "Secure" in entered.headers["set-cookie"]
        async with client_for(runtime) as plain_http:  # the browser keeps it off plain http
            again = token_in(await chat.say("/pannello"))
            opened = await plain_http.get(f"/pannello/accesso/{again}")
            assert "Secure" in opened.headers["set-cookie"]
    finally:
        await runtime.close()


def test_console_link_from_the_command_line(ready):
    from tests.support.cli import intempo

    for phone, org, role in (("+39 333 000 0001", "comune-crema", "contact"),
                             ("+39 333 000 0002", "ali", "worker")):
        code = intempo(ready, "enroll", "--org", org, "--role", role).stdout.strip()
        answers = f"{code}\nItaliano\naccetto\nSara\n" + ("Donna\n" if role == "worker" else "")
        assert "Fatto" in intempo(ready, "chat", "--as", phone, stdin=answers).stdout
    made = intempo(ready, "console-link", "--phone", "+39 333 000 0001")
    assert made.returncode == 0
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/pannello/accesso/[\w-]{40,}\n", made.stdout)
    assert "single use" in made.stderr
    worker = intempo(ready, "console-link", "--phone", "+39 333 000 0002")
    assert worker.returncode == 1 and "only the coordinator" in worker.stderr
    nobody = intempo(ready, "console-link", "--phone", "+39 333 000 0009")
    assert nobody.returncode == 1 and "no enrolled person" in nobody.stderr
