"""The console's pages on the known data set of the digest's tests (tests/test_figures.py):
the dashboard shows the digest's own figures, lists filter, a request's page tells its
story, and the coordinator's actions go through the store's operations."""

import re

import pytest
import pytest_asyncio

from handlers.reports import digest_text
from models.base import Role
from tests.support.booking import THURSDAY
from tests.support.chat import plain
from tests.support.figures import build, digest_of, period_of
from tests.support.panel import CSRF, client_for, link_for, sign_in
from tests.support.people import make_person


def card(html: str, name: str) -> str:
    """The figure of the card with id `name` (its <dd>), as plain text."""
    found = re.search(rf'id="{name}"><dt>[^<]*</dt><dd>(.*?)</dd>', html, re.S)
    assert found, name
    return plain(re.sub(r"<[^>]+>", "", found.group(1))).strip()


@pytest_asyncio.fixture
async def data(both_minis, clock):
    """The digest tests' data set, on SQLite and on PostgreSQL, and a signed-in coordinator."""
    mini = both_minis
    dataset = await build(mini, clock)
    coordinator = await make_person(mini, "employer", Role.COORDINATOR, "Marta")
    client = client_for(mini)
    assert (await sign_in(client, await link_for(mini, coordinator.id))).status_code == 303
    dataset.client = client
    yield dataset
    await client.aclose()


@pytest.mark.asyncio
async def test_the_dashboard_shows_the_digests_figures(data):
    digest = plain(digest_text(await digest_of(data.runtime, THURSDAY), "it"))
    page = await data.client.get("/pannello/cruscotto?periodo=oggi")
    assert page.status_code == 200, page.text
    html = page.text

    def in_digest(pattern: str) -> str:
        found = re.search(pattern, digest)
        assert found, pattern
        return found.group(1)

    assert card(html, "fig-received-today") == in_digest(r"Richieste ricevute oggi: (\d+)")
    assert card(html, "fig-pending") == in_digest(r"In attesa di un operatore: (\d+)")
    assert in_digest(r"l'attesa più lunga è di ([^.]+)\.") in plain(html)
    assert card(html, "fig-unserved") == in_digest(r"ancora da svolgere: (\d+)")
    assert card(html, "fig-done-today") == in_digest(r"Servizi svolti oggi: (\d+)")
    assert in_digest(r"Servizi svolti oggi: \d+, per ([^d]+) di servizio") in plain(html)
    assert card(html, "fig-committed") == in_digest(r"impegnati ([\d.,]+ €)")
    assert card(html, "fig-reserved") == in_digest(r"prenotati ([\d.,]+ €)")
    assert card(html, "fig-remaining") == in_digest(r"disponibili ([\d.,]+ €)")
    assert card(html, "fig-unreachable") == in_digest(r"non raggiungibili su nessun canale: (\d+)")
    assert card(html, "fig-held") == in_digest(r"senza destinatario: (\d+)")
    runway = digest.split("\n")[digest.split("\n").index(next(
        line for line in digest.split("\n") if line.startswith("💶"))) + 1]
    assert runway in plain(html)
    # the same figures as the digest's tests assert (a busy Thursday)
    assert (card(html, "fig-received-today"), card(html, "fig-pending"),
            card(html, "fig-unserved"), card(html, "fig-done-today")) == ("2", "2", "1", "2")


async def csrf(client, path: str) -> str:
    return CSRF.search((await client.get(path)).text).group(1)


@pytest.mark.asyncio
async def test_the_requests_list_filters_and_searches_by_number(data):
    everything = (await data.client.get("/pannello/richieste")).text
    listed = {r for r, number in data.requests.items() if f"n. {number}<" in everything}
    assert listed == {"r0", "r1", "r2", "r3", "r4", "r5", "r6"}
    unserved = (await data.client.get("/pannello/richieste?stato=unserved")).text
    assert f"n. {data.requests['r4']}<" in unserved and f"n. {data.requests['r1']}<" not in unserved
    care = (await data.client.get("/pannello/richieste?categoria=eldercare")).text
    assert {f"n. {data.requests[r]}<" in care for r in ("r3", "r4")} == {True}
    assert f"n. {data.requests['r1']}<" not in care
    found = (await data.client.get(f"/pannello/richieste?numero={data.requests['r2']}")).text
    assert found.count('href="/pannello/richieste/') == 1
    thursday = (await data.client.get(
        "/pannello/richieste?dal=2026-11-26&al=2026-11-26")).text
    assert f"n. {data.requests['r5']}<" in thursday and f"n. {data.requests['r1']}<" not in thursday
    bad = await data.client.get("/pannello/richieste?dal=ieri")
    assert bad.status_code == 400


@pytest.mark.asyncio
async def test_assigning_an_unserved_request_offers_it_and_tells_the_worker(data):
    from sqlmodel import select

    from models.db import transaction
    from models.tables import ChangeEvent, Notice, Organisation, ServiceRequest

    r4 = data.requests["r4"]
    page = (await data.client.get(f"/pannello/richieste/{r4}")).text
    assert "Affida a una cooperativa" in page and "Cooperativa B" in page
    token = await csrf(data.client, f"/pannello/richieste/{r4}")
    async with transaction(data.runtime.sessions) as session:
        coop_b = (await session.exec(select(Organisation).where(
            Organisation.code == "coop-b"))).one()
    done = await data.client.post(f"/pannello/richieste/{r4}/affida",
                                  data={"csrf": token, "provider_id": str(coop_b.id)})
    assert done.status_code == 303 and done.headers["location"].endswith("?ok=assign")
    after = (await data.client.get(done.headers["location"])).text
    assert "Richiesta affidata" in after and "In attesa" in after
    assert "Affidata a una cooperativa (dal pannello)" in after
    async with transaction(data.runtime.sessions) as session:
        request = await session.get(ServiceRequest, r4)
        notices = (await session.exec(select(Notice).where(
            Notice.params["request_id"].as_integer() == r4))).all()
        audit = (await session.exec(select(ChangeEvent).where(
            ChangeEvent.subject == "request"))).all()
    assert request.status == "pending" and request.provider_id == coop_b.id
    kinds = {(n.kind, n.person_id) for n in notices}
    assert ("operator.new_offer", data.people["op_b"].id) in kinds
    assert ("worker.staff_assigned", data.people["w2"].id) in kinds
    assert [(a.action, a.before["status"], a.after["status"]) for a in audit] == [
        ("assign", "unserved", "pending")]
    again = await data.client.post(f"/pannello/richieste/{r4}/affida",
                                   data={"csrf": token, "provider_id": str(coop_b.id)})
    assert again.headers["location"].endswith("?no=moved_on")


@pytest.mark.asyncio
async def test_the_indicators_csv_is_the_file_of_intempo_export(data):
    from datetime import date

    from handlers.reports import indicators_csv

    response = await data.client.get(
        "/pannello/esporta/indicatori.csv?periodo=personalizzato&dal=2026-11-01&al=2026-11-30")
    assert response.status_code == 200
    assert "intempo-indicatori-2026-11-01-2026-11-30.csv" in \
        response.headers["content-disposition"]
    first, last = date(2026, 11, 1), date(2026, 11, 30)
    expected = indicators_csv(await period_of(data.runtime, first, last, data.runtime.clock()),
                              first, last)
    assert response.content == expected


@pytest.mark.asyncio
async def test_the_ledger_csv_the_fund_page_and_the_report(data):
    from sqlmodel import select

    from models.db import transaction
    from models.tables import LedgerEntry

    async with transaction(data.runtime.sessions) as session:
        entries = (await session.exec(select(LedgerEntry))).all()
    ledger = await data.client.get("/pannello/esporta/fondo.csv?periodo=programma")
    lines = ledger.content.decode("utf-8-sig").strip().split("\r\n")
    assert lines[0] == "movimento;data;ora;tipo;importo_euro;richiesta;servizio"
    assert len(lines) == len(entries) + 1
    reserved = sum(e.amount_cents for e in entries if e.kind == "reserve")
    fund = (await data.client.get("/pannello/fondo?movimento=reserve")).text
    totals = re.search(r'id="ledger-totals">(.*?)</p>', fund, re.S).group(1)
    assert plain(f"{reserved / 100:.2f}".replace(".", ",")) in plain(totals)
    report = await data.client.get("/pannello/esporta/rapporto?periodo=mese")
    assert report.status_code == 200 and report.text.count("<svg") == 3
    assert "Rapporto di monitoraggio" in report.text


@pytest.mark.asyncio
async def test_complaints_and_survey_comments_and_the_activity_page(data):
    from models.db import transaction
    from models.tables import Survey

    async with transaction(data.runtime.sessions) as session:
        from sqlmodel import select

        low = (await session.exec(select(Survey).where(Survey.score == 2))).one()
        low.comment = "L'operatore è arrivato tardi"
        session.add(low)
    page = (await data.client.get("/pannello/segnalazioni")).text
    assert "L&#39;operatore è arrivato tardi" in page and "Cooperativa A" in page
    assert f'href="/pannello/richieste/{low.request_id}"' in page
    activity = (await data.client.get("/pannello/attivita")).text
    assert "Accesso al pannello" in activity and "Marta" in activity


@pytest.mark.asyncio
async def test_an_employer_contact_sees_counts_only(data):
    contact = await make_person(data.runtime, "employer", Role.CONTACT, "Rita")
    async with client_for(data.runtime) as client:
        await sign_in(client, await link_for(data.runtime, contact.id))
        landing = await client.get("/pannello/")
        assert landing.headers["location"] == "/pannello/organizzazione"
        page = (await client.get("/pannello/organizzazione?periodo=mese")).text
        # the mini alliance's employer has W1 (f) and W2 (m); both made requests in November
        assert re.search(r'id="fig-enrolled">2<', page) and re.search(r'id="fig-users">2<', page)
        shown = re.sub(r'value="[^"]*"', "", page)  # not inside the forms' random tokens
        assert "W1" not in shown and "W2" not in shown and "/pannello/richieste/" not in shown
        assert 'href="/pannello/richieste"' not in page  # no requests in the navigation
        for other in ("/pannello/richieste", "/pannello/cruscotto", "/pannello/segnalazioni",
                      f"/pannello/richieste/{data.requests['r1']}"):
            assert (await client.get(other)).status_code == 404


@pytest.mark.asyncio
async def test_the_fund_chart_is_the_ledger_cumulated(data):
    from datetime import date, time, timedelta

    from sqlmodel import select

    from models.calendar import to_utc
    from models.db import transaction
    from models.fund import the_fund
    from models.panel_reads import fund_used_by_day
    from models.tables import LedgerEntry

    first, last = date(2026, 11, 20), date(2026, 11, 27)
    async with transaction(data.runtime.sessions) as session:
        fund = await the_fund(session)
        used = await fund_used_by_day(session, fund, first, last, data.runtime.clock())
        entries = (await session.exec(select(LedgerEntry))).all()
    sign = {"reserve": 1, "release": -1, "commit": 0}
    expected = [sum(sign[e.kind] * e.amount_cents for e in entries
                    if e.at < to_utc(first + timedelta(days=n + 1), time()))
                for n in range((last - first).days + 1)]
    assert used == expected and len(set(expected)) > 1


@pytest.mark.asyncio
async def test_pages_speak_the_persons_language(data):
    from models.db import transaction
    from models.tables import Person

    contact = await make_person(data.runtime, "coop-a", Role.CONTACT, "Anna")
    async with transaction(data.runtime.sessions) as session:
        person = await session.get(Person, contact.id)
        person.language = "en"
        session.add(person)
    async with client_for(data.runtime) as client:
        await sign_in(client, await link_for(data.runtime, contact.id))
        page = (await client.get("/pannello/richieste")).text
        assert '<html lang="en">' in page and "Sign out" in page and "Requests" in page
        assert "€" in page and "Esci" not in page
        mine = (await client.get("/pannello/organizzazione")).text
        assert "Your employees and IN...TEMPO" in mine and "Operators" in mine
