import pytest

from tests.support.chat import enrolled


@pytest.mark.asyncio
async def test_worker_enrols_and_sees_the_menu(any_runtime):
    worker = await enrolled(any_runtime, "+393331234567")
    assert "Nuova richiesta" in " ".join(worker.labels)
