"""The console's management pages in a real browser (Playwright driving Debian's Chromium,
the app served by uvicorn on loopback): the coordinator adds an offering for a new
municipality and a worker there books it in the chat; changes the fund's share (a new
quote follows, a confirmed request keeps its own); switches off an operator whose job goes
back to a colleague; prints an enrolment sheet for Ali whose QR codes read back as the
right links, and a worker enrols with one; writes and sends an announcement. A refused
form shows its reason next to the field and changes nothing."""

from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import async_playwright
from sqlmodel import func, select

from bot.settings import Settings
from bot.web import create_app
from models import fund
from models.base import RequestStatus, Role
from models.db import transaction
from models.tables import Announcement, Offering, Service, ServiceRequest
from tests.support.booking import book_in_alfa, the_request
from tests.support.chat import Chatter, enrolled
from tests.support.fake_twilio import serving
from tests.support.panel import (
    CHROMIUM,
    client_for,
    csrf_of,
    link_for,
    needs_chromium,
    sign_in,
    staff_chat,
)
from tests.support.people import person_id_of, team
from tests.support.qr import qr_codes
from tests.support.senders import console_inbox, deliver

DOCS = Path(__file__).resolve().parent.parent / "docs"
pytestmark = needs_chromium


@asynccontextmanager
async def browser_on(runtime):
    """The app served on loopback and a headless Chromium (Debian's, nothing downloaded)."""
    async with serving(create_app(runtime)) as url, async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        try:
            yield browser, url
        finally:
            await browser.close()


async def signed_in_page(browser, url: str, runtime, chatter: Chatter):
    """A new browser context signed in with a link made for `chatter`'s person."""
    token = await link_for(runtime, await person_id_of(runtime, chatter))
    page = await (await browser.new_context(viewport={"width": 1100, "height": 1400})).new_page()
    await page.goto(f"{url}/pannello/accesso/{token}")
    await page.get_by_role("button", name="Entra").click()
    await page.wait_for_load_state()
    return page


async def error_of(page, field: str) -> str:
    return (await page.locator(f'.field-error[data-field="{field}"]').inner_text()).strip()


@pytest.mark.asyncio
async def test_catalogue_fund_and_people_from_the_browser(mini):
    people = await team(mini)
    inbox = console_inbox()
    assert "affidata a Cooperativa A" in await book_in_alfa(people["worker"])
    await deliver(mini, inbox)
    luca = people["Luca"]
    await luca.say("menu")
    await luca.press("Lavori disponibili")
    await luca.press("Spesa")
    assert "è tuo" in await luca.press("Accetto")
    confirmed = await the_request(mini)
    assert (confirmed.price_cents, confirmed.fund_cents) == (2000, 1000)

    async with browser_on(mini) as (browser, url):
        page = await signed_in_page(browser, url, mini, people["coordinator"])
        await page.get_by_role("link", name="Catalogo e fondo").click()
        await page.get_by_role("link", name="Nuova offerta").click()
        await page.get_by_label("Cooperativa").select_option("coop-a")
        await page.get_by_label("Servizio").select_option("anziani")
        await page.locator('input[name="municipalities"][value="Alfa"]').check()
        await page.locator('input[name="hours_from"]').fill("09:00")
        await page.locator('input[name="hours_to"]').fill("08:00")
        await page.get_by_label("Capacità giornaliera").fill("0")
        await page.get_by_role("button", name="Salva").click()
        assert await error_of(page, "daily_capacity") == \
            "La capacità giornaliera deve essere almeno 1."
        assert await error_of(page, "hours") == \
            "L'orario di fine deve venire dopo quello di inizio."
        async with transaction(mini.sessions) as session:
            assert (await session.exec(select(func.count()).select_from(Offering))).one() == 4
        await page.locator('input[name="hours_to"]').fill("17:00")
        await page.get_by_label("Capacità giornaliera").fill("3")
        await page.get_by_role("button", name="Salva").click()
        assert "Modifica salvata" in await page.locator(".notice").inner_text()
        DOCS.mkdir(exist_ok=True)
        await page.screenshot(path=str(DOCS / "pannello-catalogo.png"), full_page=False)

        # a worker in Alfa can book elder company now, from the chat
        giulia = people["worker"]
        await giulia.say("menu")
        await giulia.press("Nuova richiesta")
        await giulia.press("Anziani")
        await giulia.press("Compagnia")
        await giulia.say("Alfa")
        await giulia.say("lunedì alle 10")
        await giulia.say("Via Verdi 7")
        await giulia.press("Nessuna nota")
        assert "affidata a Cooperativa A" in await giulia.press("Conferma")

        # the fund's share for errands from 50 % to 25 %
        await page.get_by_role("link", name="Catalogo e fondo").click()
        await page.get_by_role("link", name="Modifica le regole del fondo").click()
        await page.get_by_label("Quota del fondo: commissioni (%)").fill("125")
        await page.get_by_role("button", name="Salva").click()
        assert await error_of(page, "share_errand") == "La quota deve essere tra 0 e 100 %."
        await page.get_by_label("Quota del fondo: commissioni (%)").fill("25")
        await page.get_by_role("button", name="Salva").click()
        assert "Regole del fondo salvate" in await page.locator(".notice").inner_text()
        async with transaction(mini.sessions) as session:
            spesa = (await session.exec(select(Service).where(Service.code == "spesa"))).one()
            other = await make_worker(session)
            assert await fund.quote(session, other, spesa, 2026) == fund.Quote(2000, 500, "")
            kept = await session.get(ServiceRequest, confirmed.id)
            assert (kept.price_cents, kept.fund_cents) == (2000, 1000)

        # Luca leaves: his job goes back to his colleague Sara
        await page.get_by_role("link", name="Persone").click()
        luca_id = await person_id_of(mini, luca)
        await page.locator(f'tr[data-person="{luca_id}"]').get_by_role(
            "button", name="Disattiva").click()
        assert "Persona disattivata" in await page.locator(".notice").inner_text()
        assert "disattivato" in await page.locator(f'tr[data-person="{luca_id}"]').inner_text()
        request = await the_request(mini)
        assert (request.status, request.operator_id) == (RequestStatus.PENDING, None)
        await deliver(mini, inbox)
        assert inbox.texts(people["Sara"]).count("Nuovo lavoro n. 1") == 2


async def make_worker(session) -> int:
    from models.tables import Organisation, Person

    org = (await session.exec(select(Organisation).where(Organisation.code == "employer"))).one()
    person = Person(role="worker", organisation_id=org.id, first_name="Nuova")
    session.add(person)
    await session.flush()
    return person.id


@pytest.mark.asyncio
async def test_enrolment_sheet_for_ali_and_an_announcement_from_the_browser(runtime):
    runtime.settings = Settings(database_url=runtime.settings.database_url,
                                telegram_bot_username="InTempoCremaBot",
                                twilio_whatsapp_from="whatsapp:+393331234567", _env_file=None)
    coordinator = await staff_chat(runtime, "+393330000501", "comune-crema", Role.COORDINATOR,
                                   "Marta")
    async with browser_on(runtime) as (browser, url):
        page = await signed_in_page(browser, url, runtime, coordinator)
        await page.get_by_role("link", name="Iscrizioni").click()
        await page.get_by_label("Organizzazione").select_option(
            label="Ali S.p.A. - Agenzia per il Lavoro")
        await page.get_by_label("Ruolo").select_option("worker")
        await page.get_by_label("Quanti").fill("2")
        await page.get_by_role("button", name="Crea e stampa").click()
        cards = page.locator("section.card")
        assert await cards.count() == 2
        codes = []
        for index in range(2):
            card = cards.nth(index)
            code = await card.get_attribute("data-code")
            codes.append(code)
            assert "Ali" in await card.inner_text()
            telegram = await card.locator("figure.telegram svg").screenshot()
            whatsapp = await card.locator("figure.whatsapp svg").screenshot()
            assert qr_codes(telegram) == [f"https://t.me/InTempoCremaBot?start={code}"]
            assert qr_codes(whatsapp) == [f"https://wa.me/393331234567?text={code}"]
        await page.locator("main.cards").screenshot(path=str(DOCS / "pannello-tessere.png"))
        worker = Chatter(runtime, "+393330000502")
        await worker.say(f"/start {codes[0]}")  # what the Telegram QR code sends
        await worker.press("Italiano")
        await worker.press("Accetto")
        await worker.say("Marta")
        assert "Fatto" in await worker.press("Donna")
        await page.goto(f"{url}/pannello/iscrizioni")
        row = page.locator(f'tr[data-code="{codes[0]}"]')
        assert await row.get_attribute("data-state") == "used"
        assert "Marta" in await row.inner_text()

        # an announcement to Ali's workers: only who said yes receives it
        await worker.say("menu")
        await worker.press("Novità e iniziative")
        await worker.press("Sì, voglio riceverle")
        await enrolled(runtime, "+393330000503", org="ali", name="Nina")  # said nothing: no
        await page.get_by_role("link", name="Novità e iniziative").click()
        await page.get_by_label("Titolo").fill("Centro estivo comunale")
        await page.get_by_label("Testo").fill("Iscrizioni aperte fino al 30 aprile.")
        await page.get_by_label("Link (facoltativo)").fill("non un link")
        await page.locator("fieldset#employers").get_by_label("Ali S.p.A.").check()
        await page.get_by_role("button", name="Salva come bozza").click()
        assert await error_of(page, "link") == \
            "Scrivi un indirizzo web completo, che inizi con https://"
        await page.get_by_label("Link (facoltativo)").fill("https://www.comune.crema.cr.it")
        await page.get_by_role("button", name="Salva come bozza").click()
        assert "1 su 2 hanno scelto le novità" in await page.locator(
            "#announcements").inner_text()
        await page.get_by_role("button", name="Invia ora (destinatari: 1)").click()
        assert "Annuncio in invio" in await page.locator(".notice").inner_text()
        await runtime.dispatcher().run_once()
        await page.reload()
        row = page.locator("#announcements tbody tr").first
        cells = [text.strip() for text in await row.locator("td").all_inner_texts()]
        assert cells[2:5] == ["1", "1", "1"]  # recipients, sent, delivered (the console)
    async with transaction(runtime.sessions) as session:
        assert (await session.exec(select(Announcement))).one().sent_at is not None


@pytest.mark.asyncio
async def test_an_employer_contact_enrols_their_own_people_only(runtime):
    contact = await staff_chat(runtime, "+393330000601", "ali", Role.CONTACT, "Irene")
    client = client_for(runtime)
    assert (await sign_in(client, await link_for(runtime, await person_id_of(
        runtime, contact)))).status_code == 303
    page = await client.get("/pannello/iscrizioni")
    assert page.status_code == 200
    assert 'value="worker"' in page.text and 'value="operator"' not in page.text
    assert "Koala" not in page.text  # only their own organisation to choose
    csrf = await csrf_of(client, "/pannello/iscrizioni")
    async with transaction(runtime.sessions) as session:
        from models.tables import EnrolmentCode, Organisation

        ids = {o.code: o.id for o in (await session.exec(select(Organisation))).all()}
        before = (await session.exec(select(func.count()).select_from(EnrolmentCode))).one()
    own = await client.post("/pannello/iscrizioni", data={
        "csrf": csrf, "organisation": str(ids["ali"]), "role": "worker", "count": "2"})
    assert own.status_code == 303
    other = await client.post("/pannello/iscrizioni", data={
        "csrf": csrf, "organisation": str(ids["koala"]), "role": "worker", "count": "2"})
    assert other.status_code == 404
    operators = await client.post("/pannello/iscrizioni", data={
        "csrf": csrf, "organisation": str(ids["ali"]), "role": "operator", "count": "2"})
    assert operators.status_code == 404
    for path in ("/pannello/catalogo", "/pannello/annunci", "/pannello/catalogo/fondo"):
        assert (await client.get(path)).status_code == 404
    async with transaction(runtime.sessions) as session:
        after = (await session.exec(select(func.count()).select_from(EnrolmentCode))).one()
    assert after == before + 2
