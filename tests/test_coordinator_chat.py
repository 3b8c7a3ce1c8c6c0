"""The coordinator's figures in the chat: today's digest with its chart, /stats and
/export for a period, and a period that cannot be read."""

import pytest

from models.base import Role
from tests.support.booking import book_in_alfa
from tests.support.chat import enrolled


@pytest.mark.asyncio
async def test_digest_stats_and_export_from_the_chat(mini):
    worker = await enrolled(mini, "+393338880001", org="employer")
    await book_in_alfa(worker)
    paola = await enrolled(mini, "+393338880002", org="employer", role=Role.COORDINATOR,
                           name="Paola")
    digest = await paola.press("Riepilogo di oggi")
    assert "Giulia" not in digest and "Via Verdi" not in digest
    assert paola.last.file.content_type == "image/png"
    assert paola.last.file.data.startswith(b"\x89PNG")
    stats = await paola.say("/stats settimana")
    assert stats != digest and "Statistiche di quale periodo" in stats
    assert "Non ho capito il periodo" in await paola.say("boh")
    await paola.say("/export mese")
    csv = paola.last.file
    assert csv.filename.endswith(".csv") and csv.content_type == "text/csv"
    assert csv.data.decode("utf-8-sig").lower().startswith("sezione;")
