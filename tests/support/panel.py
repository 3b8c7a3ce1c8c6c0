"""The web console for tests: an HTTP client on the real app, and people signed in through
real sign-in links (asked for in the chat, or made by the store's operation)."""

import os
import re
import shutil

import httpx
import pytest

from bot.panel import security
from bot.web import create_app
from models.base import Role
from models.db import transaction
from models.panel import create_link
from models.tables import Person
from tests.support.chat import Chatter, enrolled
from tests.support.people import person_id_of

CHROMIUM = shutil.which("chromium")  # Debian's; Playwright downloads no browser here
# browser tests run wherever Chromium is installed, and must run in CI (.ci/run installs it)
needs_chromium = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                    reason="Debian's chromium is not installed")
LINK = re.compile(r"(https?://\S+/pannello/accesso/([A-Za-z0-9_\-]+))")
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def client_for(runtime, address: str = "127.0.0.1",
               base_url: str = "http://testserver") -> httpx.AsyncClient:
    app = create_app(runtime)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                             base_url=base_url, follow_redirects=False)


def token_in(text: str) -> str:
    found = LINK.search(text)
    assert found, text
    return found.group(2)


async def link_for(runtime, person_id: int) -> str:
    async with transaction(runtime.sessions) as session:
        person = await session.get(Person, person_id)
        return await create_link(session, person, runtime.clock(),
                                 security.rules_of(runtime.settings))


async def sign_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    """Open the link, press «Entra»: the response of the POST."""
    page = await client.get(f"/pannello/accesso/{token}")
    if page.status_code != 200:
        return page
    form_token = FORM_TOKEN.search(page.text).group(1)
    return await client.post("/pannello/accesso", data={"token": token,
                                                        "form_token": form_token})


async def csrf_of(client: httpx.AsyncClient, path: str = "/pannello/") -> str:
    page = await client.get(path, follow_redirects=True)
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


async def staff_chat(runtime, external_id: str, org: str, role: Role,
                     name: str) -> Chatter:
    """A coordinator or contact enrolled through the dialogue."""
    return await enrolled(runtime, external_id, org=org, role=role, name=name)


async def signed_in_client(runtime, org: str, role: Role, name: str, external_id: str,
                           address: str = "127.0.0.1") -> httpx.AsyncClient:
    chatter = await staff_chat(runtime, external_id, org, role, name)
    client = client_for(runtime, address)
    answer = await sign_in(client, await link_for(runtime, await person_id_of(runtime, chatter)))
    assert answer.status_code == 303, answer.text
    return client
