"""The console in a real browser (Playwright driving Debian's Chromium, nothing downloaded):
the coordinator asks the chat for a link, opens it, finds the digest's figures on the
dashboard, assigns an unserved request to a cooperative; the cooperative's operator gets
the offer in their chat and the worker is told. A cooperative's contact cannot open
another cooperative's request; an employer's contact sees counts only. The screenshots
in docs/ (used by the README) are taken here."""

import asyncio
import re
from datetime import time
from pathlib import Path

import pytest
import pytest_asyncio
import uvicorn

from bot.runtime import start_runtime
from bot.settings import Settings
from bot.web import create_app
from handlers.reports import digest_text
from models.base import Role
from models.calendar import local
from models.catalog import load_catalog, read_catalog
from models.db import transaction
from models.figures import digest_figures
from tests.support.booking import THURSDAY, book
from tests.support.catalogs import MINI
from tests.support.chat import enrolled, plain
from tests.support.net import free_port
from tests.support.panel import CHROMIUM, needs_chromium, staff_chat, token_in
from tests.support.people import person_id_of
from tests.support.senders import console_inbox, deliver

DOCS = Path(__file__).resolve().parent.parent / "docs"
pytestmark = needs_chromium


@pytest_asyncio.fixture
async def served(sqlite_url, clock):
    """The product on the tiny alliance, served by uvicorn on a free port."""
    port = free_port()
    runtime = await start_runtime(Settings(database_url=sqlite_url, port=port, _env_file=None),
                                  clock=clock)
    async with transaction(runtime.sessions) as session:
        await load_catalog(session, read_catalog(MINI))
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn offers no event to wait on)
        await asyncio.sleep(0.02)
    yield runtime
    server.should_exit = True
    await task
    await runtime.close()


async def sign_in_with(browser, url: str, **context):
    page = await (await browser.new_context(locale="it-IT", **context)).new_page()
    await page.goto(url)
    await page.get_by_role("button", name="Entra").click()
    await page.wait_for_load_state()
    return page


@pytest.mark.asyncio
async def test_the_coordinators_story_in_a_browser(served, clock):
    from playwright.async_api import async_playwright

    runtime = served
    worker = await enrolled(runtime, "+393331110001", org="employer", name="Lucia")
    operator = await enrolled(runtime, "+393331110002", org="coop-b", role=Role.OPERATOR,
                              name="Bruno")
    worker_id = await person_id_of(runtime, worker)
    unserved = (await book(runtime, worker_id, "anziani", "Beta", THURSDAY, time(9))).request
    coop_a_job = (await book(runtime, worker_id, "spesa", "Alfa", THURSDAY, time(10))).request
    assert unserved.status == "unserved" and coop_a_job.status == "pending"
    inbox = console_inbox()
    await deliver(runtime, inbox)  # what was queued so far (the coordinator is not there yet)

    coordinator = await staff_chat(runtime, "+393331110003", "employer", Role.COORDINATOR,
                                   "Marta")
    link = token_in(await coordinator.press("Apri il pannello"))
    url = f"{runtime.settings.panel_url}/accesso/{link}"
    async with transaction(runtime.sessions) as session:
        digest = plain(digest_text(await digest_figures(session, local(clock()).date(),
                                                        clock()), "it"))

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                   args=["--no-sandbox"], headless=True)
        try:
            page = await sign_in_with(browser, url, viewport={"width": 1200, "height": 900})
            assert page.url.endswith("/pannello/cruscotto")
            await page.locator("select[name=periodo]").select_option("oggi")
            await page.get_by_role("button", name="Mostra").click()
            received = await page.locator("#fig-received-today dd").inner_text()
            unserved_card = await page.locator("#fig-unserved dd").inner_text()
            waiting = await page.locator("#fig-pending dd").inner_text()
            assert f"Richieste ricevute oggi: {received}" in digest
            assert f"ancora da svolgere: {unserved_card}." in digest
            assert f"In attesa di un operatore: {waiting}" in digest
            assert (received, unserved_card, waiting) == ("2", "1", "1")
            await page.screenshot(path=str(DOCS / "panel-dashboard.png"))

            await page.locator("#fig-unserved a").click()  # the list, filtered to unserved
            assert "stato=unserved" in page.url
            rows = page.locator("#requests tbody tr")
            assert await rows.count() == 1
            await page.get_by_role("link", name=f"n. {unserved.id}").click()
            await page.locator("select[name=provider_id]").select_option(
                label="Cooperativa B")
            await page.screenshot(path=str(DOCS / "panel-request.png"), full_page=True)
            await page.get_by_role("button", name="Affida").click()
            await page.wait_for_load_state()
            assert "Richiesta affidata" in await page.locator(".notice").inner_text()
            assert await page.locator("#status").inner_text() == "in attesa di un operatore"
            assert "Affidata a una cooperativa (dal pannello)" in \
                await page.locator("#timeline").inner_text()

            await deliver(runtime, inbox)
            offered = inbox.texts(operator)
            assert f"n. {unserved.id}" in offered and "Nuovo lavoro" in offered
            told = inbox.texts(worker)
            assert f"n. {unserved.id}" in told and "Cooperativa B" in told

            # a cooperative's contact, on a phone: its own jobs, never another's
            contact_chat = await staff_chat(runtime, "+393331110004", "coop-b", Role.CONTACT,
                                            "Carla")
            phone = await sign_in_with(
                browser, f"{runtime.settings.panel_url}/accesso/"
                f"{token_in(await contact_chat.say('/pannello'))}",
                viewport={"width": 390, "height": 844}, is_mobile=True)
            await phone.goto(f"{runtime.settings.panel_url}/richieste")
            listed = await phone.locator("#requests").inner_text()
            assert f"n. {unserved.id}" in listed and f"n. {coop_a_job.id}" not in listed
            await phone.screenshot(path=str(DOCS / "panel-phone-requests.png"))
            refused = await phone.goto(f"{runtime.settings.panel_url}/richieste/{coop_a_job.id}")
            assert refused.status == 404
            assert "non è tra quelle che puoi vedere" in await phone.inner_text("main")

            # an employer's contact: counts of its own employees, nothing else
            employer_chat = await staff_chat(runtime, "+393331110005", "employer", Role.CONTACT,
                                             "Elena")
            counts = await sign_in_with(
                browser, f"{runtime.settings.panel_url}/accesso/"
                f"{token_in(await employer_chat.say('/pannello'))}")
            assert counts.url.endswith("/pannello/organizzazione")
            nav = await counts.locator("nav").inner_text()
            # part 2 adds enrolling their own employees and seeing their names and dates
            assert nav.split() == ["La", "mia", "organizzazione", "Iscrizioni", "Persone"]
            body = await counts.inner_text("main")
            assert "Lucia" not in body and "Via Roma" not in body
            assert re.search(r"Totale\s+1\s+1", body)  # one enrolled, one who used it
            for path in ("richieste", f"richieste/{unserved.id}", "cruscotto", "fondo"):
                assert (await counts.goto(f"{runtime.settings.panel_url}/{path}")).status == 404
        finally:
            await browser.close()
