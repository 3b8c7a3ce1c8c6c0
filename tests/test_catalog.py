"""The catalogue file: validated whole, loaded idempotently, updated in place."""

import asyncio
import tomllib
from pathlib import Path

import pytest
from sqlmodel import func, select

from handlers.rules_text import describe
from models.catalog import (
    CatalogError,
    catalog_toml,
    dump_catalog,
    load_catalog,
    read_catalog,
)
from models.db import transaction
from models.tables import Fund, Municipality, Offering, OfferingMunicipality, Organisation, Service
from tests.support.catalogs import CATALOG, MINI


def edited(tmp_path, old: str, new: str, source: Path = MINI) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "edited.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


async def counts(runtime) -> dict[str, int]:
    async with transaction(runtime.sessions) as session:
        return {table.__name__: (await session.exec(select(func.count()).select_from(table))).one()
                for table in (Organisation, Municipality, Service, Offering,
                              OfferingMunicipality, Fund)}


def test_the_crema_catalogue_is_complete():
    catalog = read_catalog(CATALOG)
    assert len(catalog.municipalities) == 48 and "Crema" in catalog.municipalities
    assert {o.code for o in catalog.organisations} == {
        "comune-crema", "comunita-sociale-cremasca", "iride", "koala", "arcobaleno", "ali"}
    providers = {o.code for o in catalog.organisations if "provider" in o.roles}
    assert providers == {"iride", "koala", "arcobaleno"}
    assert {s.category for s in catalog.services} == {"errand", "childcare", "eldercare"}
    assert catalog.fund.total_cents == 4_000_000
    offered = {o.service for o in catalog.offerings}
    assert offered == {s.code for s in catalog.services}


@pytest.mark.parametrize(("old", "new", "where", "reason"), [
    ('category = "errand"', 'category = "gardening"', "services[0] (spesa), campo category",
     "Categoria sconosciuta"),
    ('provider = "coop-b"\nservice = "spesa"', 'provider = "employer"\nservice = "spesa"',
     "offerings[1] (employer/spesa), campo provider", "non è un fornitore di servizi"),
    ('hours = "09:00-12:00"', 'hours = "12:00-09:00"', "offerings[0] (coop-a/spesa), campo hours",
     "L'orario di fine deve venire dopo quello di inizio"),
    ('hours = "09:00-11:00"', 'hours = "09:00-09:30"', "campo hours",
     "più corta della durata del servizio (60 minuti)"),
    ('hours = "09:00-11:00"', 'hours = "9-11"', "campo hours", "Scrivi l'orario come"),
    ('municipalities = ["Gamma"]', 'municipalities = ["Omega"]', "campo municipalities",
     "Comune sconosciuto: Omega"),
    ('code = "baby"', 'code = "spesa"', "services[1] (spesa), campo code",
     "Il codice «spesa» è già usato"),
    ("price_cents = 2000", "price_cents = 0", "services[0] (spesa), campo price_cents",
     "Il prezzo deve essere maggiore di zero"),
    ("price_cents = 2000", "price_cents = -5", "services[0] (spesa), campo price_cents",
     "maggiore di zero"),
    ("price_cents = 2000", 'price_cents = "venti"', "services[0] (spesa), campo price_cents",
     "Serve un numero intero"),
    ("daily_capacity = 1", "daily_capacity = 0", "offerings[3] (coop-b/anziani), campo "
     "daily_capacity", "La capacità giornaliera deve essere almeno 1"),
    ("daily_capacity = 1", "daily_capacity = 1\ncolour = 'red'", "campo colour",
     "Campo sconosciuto"),
    ("errand = 50", "errand = 150", "fund, campo share_percent.errand",
     "La quota deve essere tra 0 e 100 %"),
    ('weekdays = ["lun"]', 'weekdays = ["lunedi"]', "campo weekdays",
     "Scegli almeno un giorno"),
])
def test_an_invalid_file_names_the_entry_and_field_in_italian(tmp_path, old, new, where,
                                                              reason):
    with pytest.raises(CatalogError) as problem:
        read_catalog(edited(tmp_path, old, new))
    text = describe(problem.value.problems, "it")
    assert where in text and reason in text, text


@pytest.mark.asyncio
async def test_a_fund_total_below_what_is_used_is_refused_and_nothing_changes(mini, tmp_path):
    async with transaction(mini.sessions) as session:
        fund = (await session.exec(select(Fund))).one()
        fund.reserved_cents, fund.committed_cents = 3000, 1500
        session.add(fund)
    path = edited(tmp_path, "total_cents = 5000", "total_cents = 4000")
    path.write_text(path.read_text().replace("price_cents = 2000", "price_cents = 2500"))
    with pytest.raises(CatalogError) as problem:
        async with transaction(mini.sessions) as session:
            await load_catalog(session, read_catalog(path))
    assert "inferiore a quanto già impegnato e prenotato (45,00" in describe(
        problem.value.problems)
    async with transaction(mini.sessions) as session:
        assert (await session.exec(select(Fund))).one().total_cents == 5000
        spesa = (await session.exec(select(Service).where(Service.code == "spesa"))).one()
        assert spesa.price_cents == 2000


def test_broken_toml_is_reported(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("municipalities = [", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid TOML"):
        read_catalog(path)


@pytest.mark.asyncio
async def test_loading_twice_changes_nothing(runtime):
    before = await counts(runtime)
    async with transaction(runtime.sessions) as session:
        changes = await load_catalog(session, read_catalog(CATALOG))
    assert changes == {"created": 0, "updated": 0, "removed": 0}
    assert await counts(runtime) == before
    assert before["Municipality"] == 48 and before["Organisation"] == 6


@pytest.mark.asyncio
async def test_an_edited_file_updates_in_place(mini, tmp_path):
    before = await counts(mini)
    path = edited(tmp_path, "price_cents = 2000", "price_cents = 2500")
    path.write_text(path.read_text().replace('municipalities = ["Alfa", "Beta"]',
                                             'municipalities = ["Alfa"]'))
    async with transaction(mini.sessions) as session:
        changes = await load_catalog(session, read_catalog(path))
        spesa = (await session.exec(select(Service).where(Service.code == "spesa"))).one()
    assert changes == {"created": 0, "updated": 1, "removed": 0}
    assert spesa.price_cents == 2500
    after = await counts(mini)
    assert after["Service"] == before["Service"]
    assert after["OfferingMunicipality"] == before["OfferingMunicipality"] - 1


@pytest.mark.asyncio
async def test_a_service_dropped_from_the_file_stops_being_offered(mini, tmp_path):
    raw = MINI.read_text(encoding="utf-8")
    start = raw.index('[[services]]\ncode = "anziani"')
    end = raw.index("[[offerings]]")
    without = raw[:start] + raw[end:]
    last = without.rindex("[[offerings]]")
    path = tmp_path / "smaller.toml"
    path.write_text(without[:last], encoding="utf-8")
    tomllib.loads(path.read_text())  # still a valid file
    async with transaction(mini.sessions) as session:
        changes = await load_catalog(session, read_catalog(path))
        anziani = (await session.exec(select(Service).where(Service.code == "anziani"))).one()
        active = (await session.exec(select(Offering).where(Offering.active.is_(True)))).all()
    assert not anziani.active and len(active) == 3
    assert changes["removed"] == 2  # the service and its one offering


async def dumped(runtime, tmp_path, name: str) -> Path:
    async with transaction(runtime.sessions) as session:
        text = catalog_toml(await dump_catalog(session))
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.asyncio
async def test_the_dump_loads_back_unchanged(runtime, tmp_path):
    """The Crema catalogue dumped, loaded back into the same store (nothing changes) and
    into a new one (whose dump is the same file), paused entries included."""
    async with transaction(runtime.sessions) as session:
        offering = (await session.exec(select(Offering).order_by(Offering.id))).first()
        offering.active = False
        session.add(offering)
    first = await dumped(runtime, tmp_path, "first.toml")
    catalog = read_catalog(first)
    assert len(catalog.municipalities) == 48 and len(catalog.offerings) == 20
    assert [o.active for o in catalog.offerings].count(False) == 1
    async with transaction(runtime.sessions) as session:
        assert await load_catalog(session, catalog) == {"created": 0, "updated": 0,
                                                        "removed": 0}
    from bot.runtime import start_runtime
    from bot.settings import Settings
    from models import migrate

    url = f"sqlite+aiosqlite:///{tmp_path / 'second.db'}"
    await asyncio.to_thread(migrate.upgrade, url)  # Alembic runs its own loop
    second = await start_runtime(Settings(database_url=url, _env_file=None))
    try:
        async with transaction(second.sessions) as session:
            await load_catalog(session, catalog)
        assert (await dumped(second, tmp_path, "second.toml")).read_text() == first.read_text()
        assert await counts(second) == await counts(runtime)
    finally:
        await second.close()
