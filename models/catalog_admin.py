"""Changing the catalogue and the fund one entry at a time (the console's forms): the rules
of `catalog_rules` (the same as the file's), then the change, then an audit row, all in
the caller's transaction. New requests see a change at once; a confirmed request keeps the
price and contribution it was confirmed with (they are stored on it)."""

from datetime import datetime

from sqlmodel import delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import catalog_rules as rules
from models.audit import record_change, require_coordinator
from models.base import OrgRole
from models.catalog import FundEntry, OfferingEntry, OrganisationEntry, ServiceEntry
from models.catalog_rules import Invalid, Problem
from models.tables import (
    Fund,
    Municipality,
    Offering,
    OfferingMunicipality,
    Organisation,
    Person,
    Service,
)


def service_values(service: Service) -> dict:
    return {"code": service.code, "category": service.category, "name_it": service.name_it,
            "name_en": service.name_en, "description_it": service.description_it,
            "description_en": service.description_en,
            "duration_minutes": service.duration_minutes, "price_cents": service.price_cents,
            "active": service.active}


def organisation_values(org: Organisation) -> dict:
    return {"code": org.code, "name": org.name, "roles": list(org.roles), "ateco": org.ateco,
            "escalation_minutes": org.escalation_minutes}


def fund_values(fund: Fund) -> dict:
    return {"code": fund.code, "name": fund.name, "total_cents": fund.total_cents,
            "cap_per_worker_year_cents": fund.cap_per_worker_year_cents,
            "share_percent": dict(fund.share_percent)}


async def offering_values(session: AsyncSession, offering: Offering) -> dict:
    provider = await session.get(Organisation, offering.provider_id)
    service = await session.get(Service, offering.service_id)
    names = (await session.exec(select(Municipality.name).join(
        OfferingMunicipality, OfferingMunicipality.municipality_id == Municipality.id)
        .where(OfferingMunicipality.offering_id == offering.id)
        .order_by(Municipality.id))).all()
    day_names = {number: name for name, number in rules.WEEKDAYS.items()}
    return {"provider": provider.code, "service": service.code, "municipalities": list(names),
            "weekdays": [day_names[d] for d in sorted(offering.weekdays)],
            "hours": f"{offering.opens:%H:%M}-{offering.closes:%H:%M}",
            "daily_capacity": offering.daily_capacity, "active": offering.active}


async def _codes(session: AsyncSession, table, but: str | None = None) -> list[str]:
    return [code for code in (await session.exec(select(table.code))).all() if code != but]


async def save_service(session: AsyncSession, actor: Person, entry: ServiceEntry,
                       now: datetime, *, editing: str | None = None) -> Service:
    """Create a service, or change the one whose code is `editing` (its code stays)."""
    require_coordinator(actor, "change the catalogue")
    row = None
    if editing is not None:
        row = (await session.exec(select(Service).where(Service.code == editing))).one()
        entry = entry.model_copy(update={"code": editing})
    problems = rules.service_problems(entry, await _codes(session, Service, but=editing))
    if problems:
        raise Invalid(problems)
    before = service_values(row) if row else None
    row = row or Service(code=entry.code)
    for key, value in entry.model_dump(exclude={"code"}).items():
        setattr(row, key, value)
    session.add(row)
    await session.flush()
    await record_change(session, actor, "service", row.code, "update" if before else "create",
                        before, service_values(row), now)
    return row


async def save_organisation(session: AsyncSession, actor: Person, entry: OrganisationEntry,
                            now: datetime, *, editing: str | None = None) -> Organisation:
    """Add an employer or a provider (the alliance is open), or change one's details."""
    require_coordinator(actor, "change the organisations")
    row = None
    if editing is not None:
        row = (await session.exec(select(Organisation).where(
            Organisation.code == editing))).one()
        entry = entry.model_copy(update={"code": editing})
    problems = rules.organisation_problems(
        entry, await _codes(session, Organisation, but=editing))
    if row is not None and OrgRole.COORDINATOR in row.roles \
            and OrgRole.COORDINATOR not in entry.roles:
        problems.append(Problem("roles", "rules.keeps_coordinator"))
    if problems:
        raise Invalid(problems)
    before = organisation_values(row) if row else None
    row = row or Organisation(code=entry.code)
    row.name, row.roles = entry.name.strip(), [str(role) for role in entry.roles]
    row.ateco, row.escalation_minutes = entry.ateco or None, entry.escalation_minutes
    session.add(row)
    await session.flush()
    await record_change(session, actor, "organisation", row.code,
                        "update" if before else "create", before, organisation_values(row),
                        now)
    return row


async def save_offering(session: AsyncSession, actor: Person, entry: OfferingEntry,
                        now: datetime, *, editing: int | None = None) -> Offering:
    """Create an offering, or change offering `editing` (its provider and service stay)."""
    require_coordinator(actor, "change the offerings")
    row = await session.get(Offering, editing) if editing is not None else None
    if editing is not None and row is None:
        raise LookupError(editing)
    before = await offering_values(session, row) if row else None
    if before:
        entry = entry.model_copy(update={"provider": before["provider"],
                                         "service": before["service"]})
    orgs = (await session.exec(select(Organisation))).all()
    services = (await session.exec(select(Service))).all()
    places = {m.name: m.id for m in (await session.exec(select(Municipality))).all()}
    org_ids = {o.code: o.id for o in orgs}
    service_ids = {s.code: s.id for s in services}
    codes_by_id = {o.id: o.code for o in orgs} | {-s.id: s.code for s in services}
    taken = [(codes_by_id[o.provider_id], codes_by_id[-o.service_id])
             for o in (await session.exec(select(Offering))).all() if o.id != editing]
    problems = rules.offering_problems(
        entry, providers=[o.code for o in orgs if OrgRole.PROVIDER in o.roles],
        durations={s.code: s.duration_minutes for s in services}, places=places,
        taken=taken)
    if problems:
        raise Invalid(problems)
    row = row or Offering(provider_id=org_ids[entry.provider],
                          service_id=service_ids[entry.service])
    row.weekdays = sorted({rules.WEEKDAYS[d] for d in entry.weekdays})
    row.opens, row.closes = entry.opens, entry.closes
    row.daily_capacity, row.active = entry.daily_capacity, entry.active
    session.add(row)
    await session.flush()
    names = places if "*" in entry.municipalities else entry.municipalities
    await session.exec(delete(OfferingMunicipality).where(
        OfferingMunicipality.offering_id == row.id))
    for name in dict.fromkeys(names):
        session.add(OfferingMunicipality(offering_id=row.id, municipality_id=places[name]))
    await session.flush()
    await record_change(session, actor, "offering", row.id, "update" if before else "create",
                        before, await offering_values(session, row), now)
    return row


async def set_active(session: AsyncSession, actor: Person, table: type[Service | Offering],
                     row_id: int, active: bool, now: datetime) -> None:
    """Pause or resume a service or an offering (history and confirmed requests stay)."""
    require_coordinator(actor, "pause or resume the catalogue")
    row = await session.get(table, row_id)
    if row is None:
        raise LookupError(row_id)
    if row.active == active:
        return
    row.active = active
    session.add(row)
    subject = "service" if table is Service else "offering"
    await record_change(session, actor, subject, row.code if table is Service else row.id,
                        "resume" if active else "pause", {"active": not active},
                        {"active": active}, now)


async def save_fund(session: AsyncSession, actor: Person, entry: FundEntry,
                    now: datetime) -> Fund:
    """Change the fund's total, the yearly cap per worker and each category's share (a
    share of 0 makes a category not eligible). The total is changed by one conditional
    update, so it can never drop below what a concurrent confirmation has just reserved."""
    require_coordinator(actor, "change the fund")
    fund = (await session.exec(select(Fund).order_by(Fund.id))).first()
    entry = entry.model_copy(update={"code": fund.code})
    problems = rules.fund_problems(entry, fund.reserved_cents + fund.committed_cents)
    if problems:
        raise Invalid(problems)
    before = fund_values(fund)
    changed = await session.exec(
        update(Fund)
        .where(Fund.id == fund.id,
               Fund.reserved_cents + Fund.committed_cents <= entry.total_cents)
        .values(name=entry.name.strip(), total_cents=entry.total_cents,
                cap_per_worker_year_cents=entry.cap_per_worker_year_cents,
                share_percent=dict(entry.share_percent)))
    await session.refresh(fund)
    if changed.rowcount != 1:
        raise Invalid([Problem("total_cents", "rules.fund_below_used",
                               {"used_cents": fund.reserved_cents + fund.committed_cents})])
    await record_change(session, actor, "fund", fund.code, "update", before,
                        fund_values(fund), now)
    return fund
