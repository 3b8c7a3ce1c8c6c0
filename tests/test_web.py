"""The web app: health check on a migrated and on an un-migrated database."""

import httpx
import pytest
from sqlalchemy import text

from bot.web import create_app


async def get_health(runtime) -> httpx.Response:
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://intempo.test") as client:
        return await client.get("/health")


@pytest.mark.asyncio
async def test_health_ok_on_both_databases(any_runtime):
    response = await get_health(any_runtime)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.asyncio
async def test_health_says_when_the_database_is_behind(runtime):
    async with runtime.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    response = await get_health(runtime)
    assert response.status_code == 503
    assert response.json()["status"] == "unmigrated"
    assert "intempo db upgrade" in response.json()["detail"]
