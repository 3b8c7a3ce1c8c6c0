"""The catalogue and the fund's rules (coordinator): services, offerings, organisations and
the fund, each changed by one operation of models/catalog_admin.py, which applies the
catalogue file's rules and audits the change. A refused form keeps what was typed and
shows each reason next to its field; nothing is changed."""

from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import select
from starlette.responses import Response
from starlette.routing import Route

from bot.panel.access import COORDINATOR, Nav, PanelError, Visit, page
from bot.panel.forms import FormField, fill, read
from models import catalog_admin
from models.audit import changes_of
from models.base import Category, OrgRole
from models.catalog import FundEntry, OfferingEntry, OrganisationEntry, ServiceEntry
from models.catalog_rules import WEEKDAYS, Invalid, Problem, parse
from models.tables import Fund, Municipality, Offering, Organisation, Service

BASE = "/pannello/catalogo"


async def _all(visit: Visit, table, order=None) -> list:
    return list((await visit.db.exec(select(table).order_by(order or table.id))).all())


@page(COORDINATOR)
async def overview(visit: Visit) -> Response:
    services = await _all(visit, Service)
    orgs = await _all(visit, Organisation)
    offerings = [(o, await catalog_admin.offering_values(visit.db, o))
                 for o in await _all(visit, Offering)]
    fund = (await visit.db.exec(select(Fund).order_by(Fund.id))).first()
    changes = [c for c in await changes_of(visit.db, limit=30)
               if c.subject in ("service", "offering", "organisation", "fund")][:15]
    return visit.render("catalogue.html", services=services, organisations=orgs,
                        offerings=offerings, fund=fund, changes=changes,
                        categories=list(Category))


def _category_options(visit: Visit) -> list[tuple[str, str]]:
    return [(str(c), visit.t(f"panel.manage.category.{c}")) for c in Category]


def _service_fields(visit: Visit, creating: bool) -> list[FormField]:
    fields = [FormField("code", "panel.manage.code", hint_key="panel.manage.code_hint")] \
        if creating else []
    return [
        *fields,
        FormField("category", "panel.manage.category", "select", options=_category_options(visit)),
        FormField("name_it", "panel.manage.name_it"),
        FormField("name_en", "panel.manage.name_en"),
        FormField("description_it", "panel.manage.description_it", "textarea"),
        FormField("description_en", "panel.manage.description_en", "textarea"),
        FormField("duration_minutes", "panel.manage.duration", "number"),
        FormField("price_cents", "panel.manage.price", "money"),
        FormField("active", "panel.manage.active", "check", value=True)]


async def _form(visit: Visit, fields: list[FormField], *, current: dict[str, Any],
                entry_type, build: Callable[[dict], dict],
                save: Callable[[Any], Awaitable[Any]], title_key: str, action: str,
                notice: str) -> Response:
    """Show the form (GET) or apply it (POST): types, then the rules, then the change."""
    if visit.request.method == "GET":
        return _render(visit, fill(fields, current, [], visit.language), title_key, action)
    values, problems = await read(visit, fields)
    entry, type_problems = parse(entry_type, build({**current, **values}))
    problems += [p for p in type_problems if p.field not in {q.field for q in problems}]
    if not problems:
        try:
            await save(entry)
            return visit.redirect(BASE, notice=notice)
        except Invalid as refused:
            problems = refused.problems
    problems = [Problem(p.field.replace("share_percent.", "share_"), p.key, p.params)
                for p in problems]
    return _render(visit, fill(fields, values, problems, visit.language), title_key, action,
                   status=400)


def _render(visit: Visit, fields: list[FormField], title_key: str, action: str,
            status: int = 200) -> Response:
    return visit.render("manage_form.html", status=status, fields=fields, title_key=title_key,
                        intro_key=None, action=action, back=BASE,
                        submit_key="panel.manage.save")


@page(COORDINATOR)
async def service_form(visit: Visit) -> Response:
    code = visit.request.path_params.get("code")
    row = None
    if code is not None:
        row = (await visit.db.exec(select(Service).where(Service.code == code))).first()
        if row is None:
            raise PanelError(404)
    current = catalog_admin.service_values(row) if row else {"active": True}

    async def save(entry):
        await catalog_admin.save_service(visit.db, visit.person, entry, visit.now,
                                         editing=code)

    return await _form(visit, _service_fields(visit, row is None), current=current,
                       entry_type=ServiceEntry, build=lambda v: v, save=save,
                       title_key="panel.manage.service_edit" if row else
                       "panel.manage.service_new",
                       action=visit.request.url.path, notice="catalogue_saved")


async def _offering_fields(visit: Visit, creating: bool) -> list[FormField]:
    orgs = [o for o in await _all(visit, Organisation) if OrgRole.PROVIDER in o.roles]
    services = await _all(visit, Service)
    places = await _all(visit, Municipality)
    fields = [FormField("provider", "panel.manage.provider", "select",
                        options=[(o.code, o.name) for o in orgs]),
              FormField("service", "panel.manage.service", "select",
                        options=[(s.code, s.name_in(visit.language)) for s in services])] \
        if creating else []
    return [
        *fields,
        FormField("municipalities", "panel.manage.municipalities", "multi",
                  options=[(m.name, m.name) for m in places]),
        FormField("weekdays", "panel.manage.weekdays", "multi",
                  options=[(d, visit.t(f"panel.manage.weekday.{d}")) for d in WEEKDAYS]),
        FormField("hours", "panel.manage.hours", "hours"),
        FormField("daily_capacity", "panel.manage.capacity", "number"),
        FormField("active", "panel.manage.active", "check", value=True)]


@page(COORDINATOR)
async def offering_form(visit: Visit) -> Response:
    offering_id = visit.request.path_params.get("offering_id")
    row = await visit.db.get(Offering, offering_id) if offering_id is not None else None
    if offering_id is not None and row is None:
        raise PanelError(404)
    current = await catalog_admin.offering_values(visit.db, row) if row else {
        "active": True, "weekdays": ["lun", "mar", "mer", "gio", "ven"]}

    async def save(entry):
        await catalog_admin.save_offering(visit.db, visit.person, entry, visit.now,
                                          editing=offering_id)

    return await _form(visit, await _offering_fields(visit, row is None), current=current,
                       entry_type=OfferingEntry, build=lambda v: v, save=save,
                       title_key="panel.manage.offering_edit" if row else
                       "panel.manage.offering_new",
                       action=visit.request.url.path, notice="catalogue_saved")


@page(COORDINATOR)
async def organisation_form(visit: Visit) -> Response:
    code = visit.request.path_params.get("code")
    row = None
    if code is not None:
        row = (await visit.db.exec(select(Organisation).where(
            Organisation.code == code))).first()
        if row is None:
            raise PanelError(404)
    current = catalog_admin.organisation_values(row) if row else {"escalation_minutes": 60}
    fields = ([FormField("code", "panel.manage.code", hint_key="panel.manage.code_hint")]
              if row is None else []) + [
        FormField("name", "panel.manage.org_name"),
        FormField("roles", "panel.manage.roles", "multi",
                  options=[(str(r), visit.t(f"panel.manage.org_role.{r}")) for r in OrgRole]),
        FormField("ateco", "panel.manage.ateco"),
        FormField("escalation_minutes", "panel.manage.escalation", "number",
                  hint_key="panel.manage.escalation_hint")]

    async def save(entry):
        await catalog_admin.save_organisation(visit.db, visit.person, entry, visit.now,
                                              editing=code)

    def build(values: dict) -> dict:
        return {**values, "ateco": values.get("ateco") or None}

    return await _form(visit, fields, current=current, entry_type=OrganisationEntry,
                       build=build, save=save,
                       title_key="panel.manage.organisation_edit" if row else
                       "panel.manage.organisation_new",
                       action=visit.request.url.path, notice="catalogue_saved")


@page(COORDINATOR)
async def fund_form(visit: Visit) -> Response:
    fund = (await visit.db.exec(select(Fund).order_by(Fund.id))).first()
    if fund is None:
        raise PanelError(404)
    current = {**catalog_admin.fund_values(fund),
               **{f"share_{c}": fund.share_percent.get(str(c), 0) for c in Category}}
    fields = [FormField("name", "panel.manage.fund_name"),
              FormField("total_cents", "panel.manage.fund_total", "money",
                        hint_key="panel.manage.fund_total_hint"),
              FormField("cap_per_worker_year_cents", "panel.manage.fund_cap", "money")]
    fields += [FormField(f"share_{c}", f"panel.manage.share.{c}", "number",
                         hint_key="panel.manage.share_hint") for c in Category]

    def build(values: dict) -> dict:
        shares = {str(c): values.pop(f"share_{c}", 0) for c in Category}
        return {**values, "share_percent": shares}

    async def save(entry):
        await catalog_admin.save_fund(visit.db, visit.person, entry, visit.now)

    return await _form(visit, fields, current=current, entry_type=FundEntry, build=build,
                       save=save, title_key="panel.manage.fund_edit",
                       action=visit.request.url.path, notice="fund_saved")


@page(COORDINATOR)
async def toggle(visit: Visit) -> Response:
    """Pause or resume a service or an offering."""
    kind, key = visit.request.path_params["kind"], visit.request.path_params["key"]
    active = visit.form.get("active") == "1"
    if kind == "servizi":
        row = (await visit.db.exec(select(Service).where(Service.code == key))).first()
        table = Service
    elif kind == "offerte" and key.isdigit():
        row, table = await visit.db.get(Offering, int(key)), Offering
    else:
        raise PanelError(404)
    if row is None:
        raise PanelError(404)
    await catalog_admin.set_active(visit.db, visit.person, table, row.id, active, visit.now)
    return visit.redirect(BASE, notice="catalogue_saved")


ROUTES = [
    Route("/catalogo", overview, methods=["GET"]),
    Route("/catalogo/servizi/nuovo", service_form, methods=["GET", "POST"]),
    Route("/catalogo/servizi/{code}", service_form, methods=["GET", "POST"]),
    Route("/catalogo/offerte/nuova", offering_form, methods=["GET", "POST"]),
    Route("/catalogo/offerte/{offering_id:int}", offering_form, methods=["GET", "POST"]),
    Route("/catalogo/organizzazioni/nuova", organisation_form, methods=["GET", "POST"]),
    Route("/catalogo/organizzazioni/{code}", organisation_form, methods=["GET", "POST"]),
    Route("/catalogo/fondo", fund_form, methods=["GET", "POST"]),
    Route("/catalogo/{kind}/{key}/stato", toggle, methods=["POST"]),
]
NAV = [Nav("panel.nav.catalogue", BASE, (COORDINATOR,))]
