"""Signed, expiring links to stored files (the digest's chart on WhatsApp)."""

from urllib.parse import urlsplit

import httpx
import pytest

from bot.files import install, with_file_link
from bot.settings import Settings
from bot.web import create_app
from handlers.types import File, Reply
from models.db import transaction
from models.tables import Attachment


@pytest.mark.asyncio
async def test_a_signed_link_serves_the_file_until_it_expires(runtime, clock):
    runtime.settings = Settings(database_url="sqlite://", signing_secret="s3cret",
                                public_base_url="https://intempo.example.org", _env_file=None)
    install(runtime)
    async with transaction(runtime.sessions) as session:
        stored = Attachment(filename="chart.png", content_type="image/png", data=b"\x89PNG!")
        session.add(stored)
        await session.flush()
        file_id = stored.id
    reply = with_file_link(Reply("Riepilogo", file=File("chart.png", "image/png", b"",
                                                        file_id)),
                           runtime.file_links, clock())
    url = reply.text.split("📎 ")[1]
    assert url.startswith("https://intempo.example.org/files/")
    path = urlsplit(url)
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        ok = await client.get(f"{path.path}?{path.query}")
        assert ok.status_code == 200 and ok.content == b"\x89PNG!"
        assert ok.headers["content-type"] == "image/png"
        forged = await client.get(f"{path.path}?{path.query[:-4]}abcd")
        other = await client.get(f"/files/{file_id + 1}?{path.query}")
        assert forged.status_code == 403 and other.status_code == 403
        clock.advance(days=8)
        expired = await client.get(f"{path.path}?{path.query}")
        assert expired.status_code == 403


def test_without_a_secret_no_link_is_made():
    reply = Reply("x", file=File("a.csv", "text/csv", b"", 1))
    assert with_file_link(reply, None, None) is reply
