"""Enrolment codes as staff hand them out: who may issue which, their states (unused, used
by whom and when, expired, revoked), revoking, the printable sheet whose QR codes a phone
reads back as the right links (rendered by Chromium, decoded by zxing-cpp), and the CSV."""

import csv
import io
import re

import pytest
from playwright.async_api import async_playwright
from sqlmodel import select

from bot.sheets.enrolment import Links, codes_csv, enrolment_sheet
from models.base import Role
from models.db import transaction
from models.enrolment import CONTACT, codes_for, issue_codes, revoke_code
from models.offers import NotAllowed
from models.tables import ChangeEvent
from tests.support.chat import Chatter
from tests.support.panel import CHROMIUM, needs_chromium
from tests.support.people import make_person, org_id
from tests.support.qr import qr_codes

LINKS = Links("InTempoCremaBot", "393331234567")


async def issue(runtime, actor, org: str, role: str = Role.WORKER, count: int = 3):
    async with transaction(runtime.sessions) as session:
        return await issue_codes(session, actor, await org_id(runtime, org), role, count,
                                 runtime.clock(), 30)


async def states(runtime, actor, **where) -> dict[str, tuple[str, str | None]]:
    async with transaction(runtime.sessions) as session:
        listed = await codes_for(session, actor, runtime.clock(), **where)
    return {s.code.code: (s.state, s.used_by.first_name if s.used_by else None)
            for s in listed}


@pytest.mark.asyncio
async def test_codes_issued_used_revoked_and_expired(any_runtime):
    runtime = any_runtime
    boss = await make_person(runtime, "comune-crema", Role.COORDINATOR, "Carla")
    used, revoked, spare = [row.code for row in await issue(runtime, boss, "ali")]
    chat = Chatter(runtime, "+393330000201")
    await chat.say(f"/start {used}")  # what the Telegram deep link sends
    await chat.press("Italiano")
    await chat.press("Accetto")
    await chat.say("Marta")
    assert "Fatto" in await chat.press("Donna")
    async with transaction(runtime.sessions) as session:
        rows = {s.code.code: s for s in await codes_for(session, boss, runtime.clock())}
        assert await revoke_code(session, boss, rows[revoked].code.id, runtime.clock())
        assert not await revoke_code(session, boss, rows[used].code.id, runtime.clock())
    assert await states(runtime, boss) == {used: ("used", "Marta"), revoked: ("revoked", None),
                                           spare: ("unused", None)}
    other = Chatter(runtime, "+393330000202")
    assert "Questo codice non è valido" in await other.say(revoked)
    runtime.clock.advance(days=31)
    assert (await states(runtime, boss))[spare] == ("expired", None)
    async with transaction(runtime.sessions) as session:
        events = (await session.exec(select(ChangeEvent).order_by(ChangeEvent.id))).all()
    assert [(e.subject, e.action, e.actor_id) for e in events] == [
        ("enrolment", "issue", boss.id), ("enrolment", "revoke", boss.id)]


@pytest.mark.asyncio
async def test_a_contact_enrols_their_own_people_only(runtime):
    ali_contact = await make_person(runtime, "ali", CONTACT, "Hr")
    koala_contact = await make_person(runtime, "koala", CONTACT, "Referente")
    mine = await issue(runtime, ali_contact, "ali", count=2)
    with pytest.raises(NotAllowed):
        await issue(runtime, ali_contact, "koala")
    with pytest.raises(NotAllowed):  # Ali employs, it has no operators
        await issue(runtime, ali_contact, "ali", Role.OPERATOR)
    with pytest.raises(NotAllowed):
        await issue(runtime, ali_contact, "ali", Role.COORDINATOR)
    operators = await issue(runtime, koala_contact, "koala", Role.OPERATOR, 1)
    assert set(await states(runtime, ali_contact)) == {row.code for row in mine}
    assert set(await states(runtime, koala_contact)) == {operators[0].code}
    with pytest.raises(NotAllowed):
        async with transaction(runtime.sessions) as session:
            await revoke_code(session, ali_contact, operators[0].id, runtime.clock())
    worker = await make_person(runtime, "ali")
    with pytest.raises(NotAllowed):
        await issue(runtime, worker, "ali")


async def sheet_for(runtime, links: Links, count: int = 3) -> tuple[list[str], str]:
    boss = await make_person(runtime, "comune-crema", Role.COORDINATOR, "Carla")
    rows = await issue(runtime, boss, "ali", count=count)
    async with transaction(runtime.sessions) as session:
        listed = await codes_for(session, boss, runtime.clock(), ids=[r.id for r in rows])
    return [row.code for row in rows], enrolment_sheet(listed, links)


def pdf_pages(pdf: bytes) -> int:
    assert pdf[:4] == b"%PDF"
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


@needs_chromium
@pytest.mark.asyncio
async def test_the_sheet_has_a_card_per_code_whose_qr_codes_read_back(runtime):
    codes, html = await sheet_for(runtime, LINKS)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1000, "height": 1400})
            await page.set_content(html)
            cards = page.locator("section.card")
            assert await cards.count() == len(codes)
            for index, code in enumerate(codes):
                card = cards.nth(index)
                assert await card.get_attribute("data-code") == code
                assert f"{code[:4]} {code[4:]}" in await card.inner_text()
                telegram = await card.locator("figure.telegram svg").screenshot()
                whatsapp = await card.locator("figure.whatsapp svg").screenshot()
                assert qr_codes(telegram) == [f"https://t.me/InTempoCremaBot?start={code}"]
                assert qr_codes(whatsapp) == [f"https://wa.me/393331234567?text={code}"]
            pdf_page = await browser.new_page()
            await pdf_page.set_content(html)
            assert pdf_pages(await pdf_page.pdf(format="A4")) == 1
            _, seven = await sheet_for(runtime, LINKS, count=7)
            await pdf_page.set_content(seven)  # six cards to an A4 page
            assert pdf_pages(await pdf_page.pdf(format="A4", prefer_css_page_size=True)) == 2
        finally:
            await browser.close()


@pytest.mark.asyncio
async def test_without_a_bot_or_a_number_the_sheet_says_so(runtime):
    codes, html = await sheet_for(runtime, Links(None, "393331234567"), count=1)
    assert f"wa.me/393331234567?text={codes[0]}" in html
    assert "figure class=\"telegram absent\"" in html and "t.me/" not in html
    assert "manca TELEGRAM_BOT_USERNAME" in html and "wa.me/393331234567" in html
    _, neither = await sheet_for(runtime, Links(None, None), count=2)
    assert "t.me/" not in neither and "wa.me/" not in neither
    assert "manca TWILIO_WHATSAPP_FROM" in neither and neither.count("<section") == 2


def test_links_from_the_settings():
    from bot.settings import Settings

    settings = Settings(_env_file=None, telegram_bot_username="@InTempoCremaBot",
                        twilio_whatsapp_from="whatsapp:+39 333 123 4567")
    assert Links.from_settings(settings) == LINKS
    assert Links.from_settings(Settings(_env_file=None)) == Links(None, None)


@pytest.mark.asyncio
async def test_the_csv_for_mail_merge(runtime):
    boss = await make_person(runtime, "comune-crema", Role.COORDINATOR, "Carla")
    rows = await issue(runtime, boss, "ali", count=2)
    async with transaction(runtime.sessions) as session:
        listed = await codes_for(session, boss, runtime.clock())
    data = codes_csv(listed, LINKS, runtime.clock())
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert table[0][:4] == ["codice", "organizzazione", "ruolo", "stato"]
    assert {row[0] for row in table[1:]} == {row.code for row in rows}
    assert all(row[2] == "lavoratore" and row[3] == "non usato" and row[4] == "25/12/2026"
               for row in table[1:])
    assert table[1][5] == f"https://t.me/InTempoCremaBot?start={table[1][0]}"
