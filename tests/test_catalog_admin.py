"""The catalogue and the fund changed one entry at a time (the console's forms): the same
rules as the file, each refusal on its field and changing nothing; changes reach new
requests at once and never a confirmed one; every change is audited."""

from datetime import date, time

import pytest
from sqlmodel import func, select

from handlers.rules_text import reason
from models import catalog_admin, fund
from models.base import Role
from models.catalog import FundEntry, OfferingEntry, OrganisationEntry, ServiceEntry
from models.catalog_rules import Invalid, parse
from models.db import transaction
from models.offers import NotAllowed
from models.tables import ChangeEvent, Fund, Offering, Organisation, Service, ServiceRequest
from tests.support.booking import book
from tests.support.chat import Chatter, enrolled
from tests.support.people import make_person

MONDAY = date(2026, 11, 30)
OFFERING = {"provider": "coop-a", "service": "anziani", "municipalities": ["Alfa"],
            "weekdays": ["lun", "mar", "mer", "gio", "ven"], "hours": "09:00-17:00",
            "daily_capacity": 3}
SERVICE = {"code": "stiro", "category": "errand", "name_it": "Stiro", "name_en": "Ironing",
           "duration_minutes": 60, "price_cents": 1500}
FUND = {"code": "x", "name": "Fondo di prova", "total_cents": 5000,
        "cap_per_worker_year_cents": 2000,
        "share_percent": {"errand": 50, "childcare": 100, "eldercare": 0}}


async def coordinator(runtime):
    return await make_person(runtime, "employer", Role.COORDINATOR, "Carla")


async def audit_count(runtime) -> int:
    async with transaction(runtime.sessions) as session:
        return (await session.exec(select(func.count()).select_from(ChangeEvent))).one()


async def refused(runtime, operation, *args, **kwargs) -> dict[str, str]:
    """Run a change that must be refused: the reasons by field (Italian), nothing stored."""
    before = await audit_count(runtime)
    with pytest.raises(Invalid) as problem:
        async with transaction(runtime.sessions) as session:
            await operation(session, *args, runtime.clock(), **kwargs)
    assert await audit_count(runtime) == before
    return {field: " ".join(reason(p, "it") for p in problems)
            for field, problems in problem.value.by_field().items()}


@pytest.mark.asyncio
async def test_an_offering_for_a_new_municipality_can_be_booked_at_once(mini):
    boss = await coordinator(mini)
    worker = await enrolled(mini, "+393330000101", org="employer")
    await worker.press("Nuova richiesta")
    await worker.press("Anziani")
    await worker.press("Compagnia")
    assert "Ho segnalato al coordinamento" in await worker.say("Alfa")
    async with transaction(mini.sessions) as session:
        await catalog_admin.save_offering(session, boss, OfferingEntry(**OFFERING), mini.clock())
    worker = Chatter(mini, "+393330000101")
    await worker.say("menu")
    await worker.press("Nuova richiesta")
    await worker.press("Anziani")
    await worker.press("Compagnia")
    await worker.say("Alfa")
    await worker.say("lunedì alle 10")
    await worker.say("Via Verdi 7")
    await worker.press("Nessuna nota")
    assert "affidata a Cooperativa A" in await worker.press("Conferma")
    async with transaction(mini.sessions) as session:
        event = (await session.exec(select(ChangeEvent))).one()
    assert (event.actor_id, event.subject, event.action, event.before) == (
        boss.id, "offering", "create", None)
    assert event.after["municipalities"] == ["Alfa"] and event.after["hours"] == "09:00-17:00"


@pytest.mark.asyncio
async def test_a_new_share_and_price_reach_new_quotes_never_a_confirmed_request(both_minis):
    mini = both_minis
    boss = await coordinator(mini)
    worker = await make_person(mini, "employer")
    confirmed = await book(mini, worker.id, "spesa", "Alfa", MONDAY, time(9))
    assert (confirmed.request.price_cents, confirmed.request.fund_cents) == (2000, 1000)
    async with transaction(mini.sessions) as session:
        await catalog_admin.save_fund(session, boss, FundEntry(**{
            **FUND, "share_percent": {"errand": 25, "childcare": 100, "eldercare": 40}}),
            mini.clock())
        spesa = (await session.exec(select(Service).where(Service.code == "spesa"))).one()
        await catalog_admin.save_service(session, boss, ServiceEntry(**{
            **catalog_admin.service_values(spesa), "price_cents": 2400}), mini.clock(),
            editing="spesa")
        assert await fund.quote(session, worker.id, spesa, 2026) == fund.Quote(2400, 600, "")
        anziani = (await session.exec(select(Service).where(Service.code == "anziani"))).one()
        assert await fund.quote(session, worker.id, anziani, 2026) == fund.Quote(1000, 400, "")
        kept = await session.get(ServiceRequest, confirmed.request.id)
        assert (kept.price_cents, kept.fund_cents) == (2000, 1000)
        events = (await session.exec(select(ChangeEvent).order_by(ChangeEvent.id))).all()
    assert [(e.subject, e.action) for e in events] == [("fund", "update"), ("service", "update")]
    assert events[0].before["share_percent"]["errand"] == 50
    assert events[0].after["share_percent"]["errand"] == 25
    assert (events[1].before["price_cents"], events[1].after["price_cents"]) == (2000, 2400)


@pytest.mark.asyncio
async def test_each_bad_value_is_refused_on_its_field_in_italian(both_minis):
    mini = both_minis
    boss = await coordinator(mini)
    save_service, save_offering = catalog_admin.save_service, catalog_admin.save_offering
    reasons = await refused(mini, save_service, boss, ServiceEntry(**{**SERVICE,
                                                                      "price_cents": 0}))
    assert reasons == {"price_cents": "Il prezzo deve essere maggiore di zero."}
    reasons = await refused(mini, save_service, boss, ServiceEntry(**{**SERVICE,
                                                                      "code": "spesa"}))
    assert reasons == {"code": "Il codice «spesa» è già usato."}
    cases = [({"daily_capacity": 0}, "daily_capacity", "La capacità giornaliera deve essere "
              "almeno 1."),
             ({"hours": "17:00-09:00"}, "hours", "L'orario di fine deve venire dopo quello di "
              "inizio."),
             ({"municipalities": ["Omega"]}, "municipalities", "Comune sconosciuto: Omega."),
             ({"provider": "employer"}, "provider", "Questa organizzazione non è un fornitore "
              "di servizi."),
             ({"provider": "coop-b"}, "service", "Questa cooperativa offre già questo "
              "servizio: modifica l'offerta esistente.")]
    for change, field, text in cases:
        reasons = await refused(mini, save_offering, boss, OfferingEntry(**{**OFFERING,
                                                                           **change}))
        assert reasons == {field: text}
    over = {**FUND, "share_percent": {"errand": 120, "childcare": 100, "eldercare": 0}}
    assert await refused(mini, catalog_admin.save_fund, boss, FundEntry(**over)) == {
        "share_percent.errand": "La quota deve essere tra 0 e 100 %."}
    reasons = await refused(mini, catalog_admin.save_organisation, boss, OrganisationEntry(
        code="Nuova Coop", name="", roles=[]))
    assert set(reasons) == {"code", "name", "roles"}
    async with transaction(mini.sessions) as session:
        assert (await session.exec(select(func.count()).select_from(Offering))).one() == 4
        assert (await session.exec(select(func.count()).select_from(Service))).one() == 3


@pytest.mark.asyncio
async def test_the_fund_total_cannot_drop_below_what_is_used(both_minis):
    mini = both_minis
    boss = await coordinator(mini)
    worker = await make_person(mini, "employer")
    await book(mini, worker.id, "spesa", "Alfa", MONDAY, time(9))  # reserves 10 €
    reasons = await refused(mini, catalog_admin.save_fund, boss,
                            FundEntry(**{**FUND, "total_cents": 900}))
    assert reasons == {"total_cents": "Il totale non può essere inferiore a quanto già "
                       "impegnato e prenotato (10,00\xa0€)."}
    async with transaction(mini.sessions) as session:
        await catalog_admin.save_fund(session, boss, FundEntry(**{**FUND, "total_cents": 1000}),
                                      mini.clock())
        assert (await session.exec(select(Fund))).one().total_cents == 1000


@pytest.mark.asyncio
async def test_typed_form_values_are_refused_before_the_rules(mini):
    entry, problems = parse(ServiceEntry, {**SERVICE, "price_cents": "tanti"})
    assert entry is None
    assert [(p.field, reason(p, "it")) for p in problems] == [
        ("price_cents", "Serve un numero intero.")]


@pytest.mark.asyncio
async def test_only_the_coordinator_changes_the_catalogue_and_pausing_is_audited(mini):
    boss = await coordinator(mini)
    operator = await make_person(mini, "coop-a", Role.OPERATOR, "Luca")
    with pytest.raises(NotAllowed):
        async with transaction(mini.sessions) as session:
            await catalog_admin.save_offering(session, operator, OfferingEntry(**OFFERING),
                                              mini.clock())
    async with transaction(mini.sessions) as session:
        offering = (await session.exec(select(Offering).order_by(Offering.id))).first()
        await catalog_admin.set_active(session, boss, Offering, offering.id, False,
                                       mini.clock())
        org = await catalog_admin.save_organisation(session, boss, OrganisationEntry(
            code="nuova-coop", name="Nuova Cooperativa", roles=["provider", "employer"]),
            mini.clock())
        events = (await session.exec(select(ChangeEvent).order_by(ChangeEvent.id))).all()
        assert (await session.get(Offering, offering.id)).active is False
        assert (await session.get(Organisation, org.id)).roles == ["provider", "employer"]
    assert [(e.subject, e.action) for e in events] == [("offering", "pause"),
                                                       ("organisation", "create")]


def test_every_rule_has_its_reason_in_both_languages():
    import re
    from pathlib import Path

    from handlers import messages

    root = Path(__file__).resolve().parent.parent / "models"
    keys = set()
    for name in ("catalog_rules.py", "catalog_admin.py", "catalog.py"):
        keys |= set(re.findall(r'"(rules\.[a-z_]+)"', (root / name).read_text()))
    assert len(keys) > 20
    for language in ("it", "en"):
        assert keys <= set(messages.catalogue(language)), keys - set(
            messages.catalogue(language))
