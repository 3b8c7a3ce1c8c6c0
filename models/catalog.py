"""The catalogue file (organisations, municipalities, services, offerings, the fund):
validated as a whole, then upserted in one transaction, so loading twice changes nothing
and an invalid file changes nothing at all."""

import tomllib
from datetime import time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlmodel import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import Category, OrgRole
from models.tables import Fund, Municipality, Offering, OfferingMunicipality, Organisation, Service

WEEKDAYS = {"lun": 1, "mar": 2, "mer": 3, "gio": 4, "ven": 5, "sab": 6, "dom": 7}
Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=60)]


class CatalogError(ValueError):
    """The file is not a valid catalogue; the message names the entry and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FundEntry(_Strict):
    code: Slug
    name: str = Field(min_length=1, max_length=200)
    total_cents: int = Field(ge=0)
    cap_per_worker_year_cents: int = Field(ge=0)
    share_percent: dict[Category, Annotated[int, Field(ge=0, le=100)]]


class OrganisationEntry(_Strict):
    code: Slug
    name: str = Field(min_length=1, max_length=200)
    roles: list[OrgRole] = Field(min_length=1)
    ateco: str | None = Field(default=None, pattern=r"^\d{2}(\.\d{1,2}){0,2}$")
    escalation_minutes: int = Field(default=60, ge=5, le=24 * 60)


class ServiceEntry(_Strict):
    code: Slug
    category: Category
    name_it: str = Field(min_length=1, max_length=120)
    name_en: str = Field(min_length=1, max_length=120)
    description_it: str = Field(default="", max_length=300)
    description_en: str = Field(default="", max_length=300)
    duration_minutes: int = Field(ge=15, le=12 * 60)
    price_cents: int = Field(ge=0)


class OfferingEntry(_Strict):
    provider: Slug
    service: Slug
    municipalities: list[str] = Field(min_length=1)
    weekdays: list[Literal["lun", "mar", "mer", "gio", "ven", "sab", "dom"]] = Field(min_length=1)
    hours: str = Field(pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    daily_capacity: int = Field(ge=1, le=1000)

    @field_validator("hours")
    @classmethod
    def _window(cls, hours: str) -> str:
        opens, closes = (time.fromisoformat(part) for part in hours.split("-"))
        if opens >= closes:
            raise ValueError("the opening time must come before the closing time")
        return hours

    @property
    def opens(self) -> time:
        return time.fromisoformat(self.hours.split("-")[0])

    @property
    def closes(self) -> time:
        return time.fromisoformat(self.hours.split("-")[1])


class CatalogFile(_Strict):
    municipalities: list[str] = Field(min_length=1)
    fund: FundEntry
    organisations: list[OrganisationEntry] = Field(min_length=1)
    services: list[ServiceEntry] = Field(min_length=1)
    offerings: list[OfferingEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> "CatalogFile":
        _unique("municipalities", self.municipalities)
        _unique("organisations", [o.code for o in self.organisations])
        _unique("services", [s.code for s in self.services])
        providers = {o.code for o in self.organisations if OrgRole.PROVIDER in o.roles}
        services = {s.code: s for s in self.services}
        places = set(self.municipalities)
        seen = set()
        for index, offering in enumerate(self.offerings):
            where = f"offerings[{index}] ({offering.provider}/{offering.service})"
            if offering.provider not in providers:
                raise CatalogError(f"{where}: provider: not an organisation with role "
                                   "provider")
            if offering.service not in services:
                raise CatalogError(f"{where}: service: no service with that code")
            unknown = [m for m in offering.municipalities if m != "*" and m not in places]
            if unknown:
                raise CatalogError(f"{where}: municipalities: unknown {', '.join(unknown)}")
            minutes = _minutes(offering.closes) - _minutes(offering.opens)
            if services[offering.service].duration_minutes > minutes:
                raise CatalogError(f"{where}: hours: shorter than the service's duration")
            if (offering.provider, offering.service) in seen:
                raise CatalogError(f"{where}: the same provider offers this service twice")
            seen.add((offering.provider, offering.service))
        return self


def _unique(what: str, values: list[str]) -> None:
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise CatalogError(f"{what}: duplicated {', '.join(duplicates)}")


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def read_catalog(path: Path) -> CatalogFile:
    """Parse and validate the file, or raise CatalogError naming the entry and field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogError(f"cannot read {path}: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"{path} is not valid TOML: {error}") from error
    try:
        return CatalogFile.model_validate(raw)
    except ValidationError as error:
        raise CatalogError(_describe(raw, error)) from error


def _describe(raw: dict, error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        location = problem["loc"]
        if not location:  # a check across entries names its own entry and field
            lines.append(problem["msg"].removeprefix("Value error, "))
            continue
        listed = len(location) >= 2 and isinstance(location[1], int)
        head = 2 if listed else 1
        entry = f"{location[0]}[{location[1]}]" if listed else str(location[0])
        if listed:
            item = raw.get(location[0], [])[location[1]]
            if isinstance(item, dict) and "code" in item:
                entry += f" ({item['code']})"
        field = ".".join(str(part) for part in location[head:])
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{entry}: {field}: {message}" if field else f"{entry}: {message}")
    return "\n".join(lines)


async def load_catalog(session: AsyncSession, catalog: CatalogFile) -> dict[str, int]:
    """Upsert everything in the file; return how many rows were created or changed."""
    changes = {"created": 0, "updated": 0, "removed": 0}

    def track(row, values: dict) -> None:
        if row.id is None and not isinstance(row, OfferingMunicipality):
            changes["created"] += 1
        elif any(getattr(row, key) != value for key, value in values.items()):
            changes["updated"] += 1
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)

    places = {}
    for name in catalog.municipalities:
        row = await _one(session, Municipality, name=name) or Municipality(name=name)
        track(row, {"name": name})
        places[name] = row
    orgs = {}
    for entry in catalog.organisations:
        row = await _one(session, Organisation, code=entry.code) or Organisation(code=entry.code)
        track(row, {"name": entry.name, "roles": [str(r) for r in entry.roles],
                    "ateco": entry.ateco, "escalation_minutes": entry.escalation_minutes})
        orgs[entry.code] = row
    services = {}
    for entry in catalog.services:
        row = await _one(session, Service, code=entry.code) or Service(code=entry.code)
        track(row, entry.model_dump(exclude={"code"}) | {"category": str(entry.category),
                                                         "active": True})
        services[entry.code] = row
    fund = await _one(session, Fund, code=catalog.fund.code) or Fund(code=catalog.fund.code)
    track(fund, {"name": catalog.fund.name, "total_cents": catalog.fund.total_cents,
                 "cap_per_worker_year_cents": catalog.fund.cap_per_worker_year_cents,
                 "share_percent": {str(k): v for k, v in catalog.fund.share_percent.items()}})
    await session.flush()
    await _load_offerings(session, catalog, orgs, services, places, track)
    changes["removed"] = await _retire_missing(session, catalog)
    await session.flush()
    return changes


async def _load_offerings(session, catalog, orgs, services, places, track) -> None:
    for entry in catalog.offerings:
        provider, service = orgs[entry.provider], services[entry.service]
        row = await _one(session, Offering, provider_id=provider.id, service_id=service.id)
        row = row or Offering(provider_id=provider.id, service_id=service.id)
        track(row, {"weekdays": sorted(WEEKDAYS[d] for d in set(entry.weekdays)),
                    "opens": entry.opens, "closes": entry.closes,
                    "daily_capacity": entry.daily_capacity, "active": True})
        await session.flush()
        names = catalog.municipalities if "*" in entry.municipalities else entry.municipalities
        wanted = {places[name].id for name in names}
        links = await session.exec(
            select(OfferingMunicipality.municipality_id)
            .where(OfferingMunicipality.offering_id == row.id))
        present = set(links.all())
        for municipality_id in wanted - present:
            session.add(OfferingMunicipality(offering_id=row.id, municipality_id=municipality_id))
        if present - wanted:
            await session.exec(delete(OfferingMunicipality).where(
                OfferingMunicipality.offering_id == row.id,
                OfferingMunicipality.municipality_id.in_(present - wanted)))


async def _retire_missing(session: AsyncSession, catalog: CatalogFile) -> int:
    """Services and offerings dropped from the file stop being offered (history stays);
    returns how many were removed from the offer."""
    removed = 0
    codes = {s.code for s in catalog.services}
    for service in (await session.exec(select(Service))).all():
        if service.code not in codes and service.active:
            service.active = False
            session.add(service)
            removed += 1
    orgs = {o.id: o.code for o in (await session.exec(select(Organisation))).all()}
    services = {s.id: s.code for s in (await session.exec(select(Service))).all()}
    listed = {(o.provider, o.service) for o in catalog.offerings}
    for offering in (await session.exec(select(Offering))).all():
        key = (orgs[offering.provider_id], services[offering.service_id])
        if key not in listed and offering.active:
            offering.active = False
            session.add(offering)
            removed += 1
    return removed


async def _one(session: AsyncSession, table, **where):
    query = select(table)
    for column, value in where.items():
        query = query.where(getattr(table, column) == value)
    return (await session.exec(query)).first()
