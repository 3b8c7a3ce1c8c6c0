"""The console's pages on the known data set of the digest's tests (tests/test_figures.py):
the dashboard shows the digest's own figures, lists filter, a request's page tells its
story, and the coordinator's actions go through the store's operations."""

import re

import pytest
import pytest_asyncio

from handlers.reports import digest_text
from models.base import Role
from tests.panel_support import client_for, link_for, sign_in
from tests.support import make_person, plain
from tests.test_figures import THURSDAY, build, digest_of


def card(html: str, name: str) -> str:
    """The figure of the card with id `name` (its <dd>), as plain text."""
    found = re.search(rf'id="{name}"><dt>[^<]*</dt><dd>(.*?)</dd>', html, re.S)
    assert found, name
    return plain(re.sub(r"<[^>]+>", "", found.group(1))).strip()


@pytest_asyncio.fixture
async def data(mini, clock):
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
