"""The catalogue file: validated whole, loaded idempotently, updated in place."""

import tomllib
from pathlib import Path

import pytest
from sqlmodel import func, select

from models.catalog import CatalogError, load_catalog, read_catalog
from models.db import transaction
from models.tables import Fund, Municipality, Offering, OfferingMunicipality, Organisation, Service
from tests.conftest import CATALOG

MINI = Path(__file__).parent / "data" / "mini.toml"


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


@pytest.mark.parametrize(("old", "new", "message"), [
    ('category = "errand"', 'category = "gardening"', "services[0] (spesa): category"),
    ('provider = "coop-b"\nservice = "spesa"', 'provider = "employer"\nservice = "spesa"',
     ": provider: not an organisation with role provider"),
    ('hours = "09:00-12:00"', 'hours = "12:00-09:00"', ": hours: "),
    ('hours = "09:00-11:00"', 'hours = "09:00-09:30"', "shorter than the service's duration"),
    ('municipalities = ["Gamma"]', 'municipalities = ["Omega"]', "unknown Omega"),
    ('code = "baby"', 'code = "spesa"', "services: duplicated spesa"),
    ("price_cents = 2000", "price_cents = -5", "services[0] (spesa): price_cents"),
    ("daily_capacity = 1", "daily_capacity = 1\ncolour = 'red'", ": colour: "),
    ("errand = 50", "errand = 150", "fund: share_percent.errand"),
])
def test_an_invalid_file_names_the_entry_and_field(tmp_path, old, new, message):
    with pytest.raises(CatalogError) as problem:
        read_catalog(edited(tmp_path, old, new))
    assert message in str(problem.value)


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
