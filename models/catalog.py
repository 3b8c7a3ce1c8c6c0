"""The catalogue file (organisations, municipalities, services, offerings, the fund):
validated as a whole, then upserted in one transaction, so loading twice changes nothing
and an invalid file changes nothing at all. The rules are those of `catalog_rules`, the
same the console's forms apply; `dump_catalog` writes the store back as a file that loads
unchanged."""

import tomllib
from datetime import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import catalog_rules as rules
from models.base import OrgRole
from models.catalog_rules import WEEKDAYS, Problem
from models.tables import Fund, Municipality, Offering, OfferingMunicipality, Organisation, Service


class CatalogError(ValueError):
    """The file is not a valid catalogue. `problems` are (entry, problem) pairs: the entry
    as the file names it (e.g. `services.0 (spesa)`), the problem naming its field."""

    def __init__(self, message: str = "", problems: list[tuple[str, Problem]] | None = None):
        self.problems = problems or []
        super().__init__(message or "\n".join(
            f"{entry}, field {p.field}: {p.key}" for entry, p in self.problems))


class _Entry(BaseModel):
    """Types only: every other rule is in `catalog_rules`, shared with the console."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FundEntry(_Entry):
    code: str
    name: str
    total_cents: int
    cap_per_worker_year_cents: int
    share_percent: dict[str, int]


class OrganisationEntry(_Entry):
    code: str
    name: str
    roles: list[OrgRole]
    ateco: str | None = None
    escalation_minutes: int = 60


class ServiceEntry(_Entry):
    code: str
    category: str
    name_it: str
    name_en: str
    description_it: str = ""
    description_en: str = ""
    duration_minutes: int
    price_cents: int
    active: bool = True


class OfferingEntry(_Entry):
    provider: str
    service: str
    municipalities: list[str]
    weekdays: list[str]
    hours: str
    daily_capacity: int
    active: bool = True

    @property
    def opens(self) -> time:
        return rules.parse_hours(self.hours)[0]

    @property
    def closes(self) -> time:
        return rules.parse_hours(self.hours)[1]


class CatalogFile(_Entry):
    municipalities: list[str] = Field(min_length=1)
    fund: FundEntry
    organisations: list[OrganisationEntry] = Field(min_length=1)
    services: list[ServiceEntry] = Field(min_length=1)
    offerings: list[OfferingEntry] = Field(default_factory=list)


def check_catalog(catalog: CatalogFile) -> list[tuple[str, Problem]]:
    """Every rule of `catalog_rules` over the whole file, each problem with its entry."""
    found: list[tuple[str, Problem]] = []
    for name in rules.duplicates(catalog.municipalities):
        found.append(("municipalities", Problem("municipalities", "rules.duplicate_code",
                                                {"code": name})))
    found += [("fund", p) for p in rules.fund_problems(catalog.fund)]
    for kind, entries, check in (("organisations", catalog.organisations,
                                  rules.organisation_problems),
                                 ("services", catalog.services, rules.service_problems)):
        earlier: list[str] = []
        for index, entry in enumerate(entries):
            found += [(f"{kind}[{index}] ({entry.code})", p) for p in check(entry, earlier)]
            earlier.append(entry.code)
    providers = [o.code for o in catalog.organisations if OrgRole.PROVIDER in o.roles]
    durations = {s.code: s.duration_minutes for s in catalog.services}
    taken: list[tuple[str, str]] = []
    for index, entry in enumerate(catalog.offerings):
        where = f"offerings[{index}] ({entry.provider}/{entry.service})"
        found += [(where, p) for p in rules.offering_problems(
            entry, providers=providers, durations=durations, places=catalog.municipalities,
            taken=taken)]
        taken.append((entry.provider, entry.service))
    return found


def read_catalog(path: Path) -> CatalogFile:
    """Parse and validate the file, or raise CatalogError naming the entry and field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogError(f"cannot read {path}: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"{path} is not valid TOML: {error}") from error
    try:
        catalog = CatalogFile.model_validate(raw)
    except ValidationError as error:
        raise CatalogError(problems=[_locate(raw, location, problem)
                                     for location, problem in rules.type_problems(error)]
                           ) from error
    problems = check_catalog(catalog)
    if problems:
        raise CatalogError(problems=problems)
    return catalog


def _locate(raw: dict, location: tuple, problem: Problem) -> tuple[str, Problem]:
    """Pydantic's location (e.g. ('services', 0, 'price_cents')) → the entry as the file
    names it and the problem's field within it."""
    listed = len(location) >= 2 and isinstance(location[1], int)
    head = 2 if listed else 1
    entry = f"{location[0]}[{location[1]}]" if listed else str(location[0]) if location \
        else "-"
    if listed:
        item = raw.get(location[0], [])[location[1]]
        if isinstance(item, dict) and "code" in item:
            entry += f" ({item['code']})"
    field = ".".join(str(part) for part in location[head:]) or "-"
    return entry, Problem(field, problem.key, problem.params)


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
        track(row, entry.model_dump(exclude={"code"}))
        services[entry.code] = row
    fund = await _one(session, Fund, code=catalog.fund.code) or Fund(code=catalog.fund.code)
    refused = rules.fund_problems(catalog.fund, (fund.reserved_cents or 0)
                                  + (fund.committed_cents or 0))
    if refused:
        raise CatalogError(problems=[("fund", problem) for problem in refused])
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
                    "daily_capacity": entry.daily_capacity, "active": entry.active})
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


async def dump_catalog(session: AsyncSession) -> dict:
    """The catalogue in the store, as the file writes it (`intempo catalog dump`): loading
    it back changes nothing. Paused services and offerings carry `active = false`."""
    places = list((await session.exec(select(Municipality).order_by(Municipality.id))).all())
    orgs = list((await session.exec(select(Organisation).order_by(Organisation.id))).all())
    services = list((await session.exec(select(Service).order_by(Service.id))).all())
    fund = (await session.exec(select(Fund).order_by(Fund.id))).first()
    if fund is None:
        raise CatalogError("there is no catalogue in this database yet")
    names = {place.id: place.name for place in places}
    org_codes = {org.id: org.code for org in orgs}
    service_codes = {service.id: service.code for service in services}
    day_names = {number: name for name, number in WEEKDAYS.items()}
    offerings = []
    for offering in (await session.exec(select(Offering).order_by(Offering.id))).all():
        served = set((await session.exec(select(OfferingMunicipality.municipality_id).where(
            OfferingMunicipality.offering_id == offering.id))).all())
        entry = {"provider": org_codes[offering.provider_id],
                 "service": service_codes[offering.service_id],
                 "municipalities": ["*"] if served == set(names) else
                 [names[i] for i in names if i in served],
                 "weekdays": [day_names[d] for d in sorted(offering.weekdays)],
                 "hours": f"{offering.opens:%H:%M}-{offering.closes:%H:%M}",
                 "daily_capacity": offering.daily_capacity}
        offerings.append(entry if offering.active else entry | {"active": False})
    return {
        "municipalities": [place.name for place in places],
        "fund": {"code": fund.code, "name": fund.name, "total_cents": fund.total_cents,
                 "cap_per_worker_year_cents": fund.cap_per_worker_year_cents,
                 "share_percent": dict(fund.share_percent)},
        "organisations": [_without_none({"code": org.code, "name": org.name,
                                         "roles": list(org.roles), "ateco": org.ateco,
                                         "escalation_minutes": org.escalation_minutes})
                          for org in orgs],
        "services": [{"code": s.code, "category": s.category, "name_it": s.name_it,
                      "name_en": s.name_en, "description_it": s.description_it,
                      "description_en": s.description_en,
                      "duration_minutes": s.duration_minutes, "price_cents": s.price_cents}
                     | ({} if s.active else {"active": False}) for s in services],
        "offerings": offerings,
    }


def _without_none(entry: dict) -> dict:
    return {key: value for key, value in entry.items() if value is not None}


def catalog_toml(catalog: dict) -> str:
    """A dumped catalogue as TOML text, with a header saying where it came from."""
    import tomli_w

    return ("# IN...TEMPO catalogue written by `intempo catalog dump`; load it with\n"
            "# `intempo catalog load FILE`. Money in euro cents, durations in minutes,\n"
            "# times Europe/Rome.\n\n" + tomli_w.dumps(catalog, multiline_strings=False))
