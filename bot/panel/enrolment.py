"""Enrolment (the coordinator for everyone; a contact for their own organisation's workers
and operators): issue codes, print them as an A4 sheet of cards with QR codes or take
them as a CSV for mail-merge, see every code's state, revoke an unused one."""

from sqlmodel import select
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.panel import security
from bot.panel.access import EVERYONE, Nav, PanelError, Visit, page
from bot.sheets.enrolment import STYLESHEET, Links, codes_csv, enrolment_sheet
from models.enrolment import MAX_CODES, codes_for, issue_codes, revoke_code, roles_for
from models.offers import NotAllowed
from models.tables import Organisation

BASE = "/pannello/iscrizioni"


async def _choices(visit: Visit) -> list[tuple[Organisation, list[str]]]:
    """The organisations (and roles in each) this visitor may issue codes for."""
    orgs = (await visit.db.exec(select(Organisation).order_by(Organisation.name))).all()
    found = [(org, roles_for(visit.person, org)) for org in orgs]
    return [(org, roles) for org, roles in found if roles]


@page(*EVERYONE)
async def codes_page(visit: Visit) -> Response:
    return await _listing(visit)


async def _listing(visit: Visit, problem: str | None = None, status: int = 200) -> Response:
    codes = await codes_for(visit.db, visit.person, visit.now, limit=300)
    links = Links.from_settings(visit.runtime.settings)
    return visit.render("enrolment.html", status=status, choices=await _choices(visit),
                        codes=codes, problem=problem, max_codes=MAX_CODES,
                        telegram_ready=bool(links.telegram_username),
                        whatsapp_ready=bool(links.whatsapp_number))


@page(*EVERYONE)
async def issue(visit: Visit) -> Response:
    text = str(visit.form.get("count", "")).strip()
    org_id = str(visit.form.get("organisation", ""))
    role = str(visit.form.get("role", ""))
    if not text.isdigit() or not 1 <= int(text) <= MAX_CODES:
        return await _listing(visit, visit.t("panel.enrol.bad_count", limit=MAX_CODES), 400)
    org = await visit.db.get(Organisation, int(org_id)) if org_id.isdigit() else None
    if org is None or role not in roles_for(visit.person, org):
        raise PanelError(404)  # another organisation's enrolment: as if it did not exist
    try:
        rows = await issue_codes(visit.db, visit.person, org.id, role, int(text), visit.now,
                                 visit.runtime.settings.enrolment_code_days)
    except NotAllowed as refused:
        raise PanelError(404) from refused
    return visit.redirect(f"{BASE}/foglio?da={rows[0].id}&a={rows[-1].id}")


async def _selected(visit: Visit):
    """The codes of the range ?da=&a= (default: every unused one) this visitor may see."""
    first, last = visit.request.query_params.get("da", ""), visit.request.query_params.get("a", "")
    if first.isdigit() and last.isdigit():
        ids = list(range(int(first), int(last) + 1))[:MAX_CODES]
        codes = await codes_for(visit.db, visit.person, visit.now, ids=ids)
    else:
        codes = [c for c in await codes_for(visit.db, visit.person, visit.now)
                 if c.state == "unused"]
    return codes


@page(*EVERYONE)
async def sheet(visit: Visit) -> Response:
    codes = await _selected(visit)  # none: the sheet says there is nothing to print
    html = enrolment_sheet(codes, Links.from_settings(visit.runtime.settings),
                           visit.language, stylesheet=f"{BASE}/foglio.css")
    return security.harden(HTMLResponse(html))


@page(*EVERYONE)
async def csv_file(visit: Visit) -> Response:
    codes = await _selected(visit)
    data = codes_csv(codes, Links.from_settings(visit.runtime.settings), visit.now,
                     visit.language)
    response = Response(data, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="intempo-codici.csv"'})
    return security.harden(response)


@page(*EVERYONE)
async def sheet_css(visit: Visit) -> Response:
    """The sheet's stylesheet (the console's pages allow no inline style)."""
    return security.harden(Response(STYLESHEET.read_text(encoding="utf-8"),
                                    media_type="text/css"))


@page(*EVERYONE)
async def revoke(visit: Visit) -> Response:
    try:
        done = await revoke_code(visit.db, visit.person, visit.request.path_params["code_id"],
                                 visit.now)
    except NotAllowed as refused:
        raise PanelError(404) from refused
    return visit.redirect(BASE, notice="code_revoked" if done else "code_not_revoked")


ROUTES = [
    Route("/iscrizioni", codes_page, methods=["GET"]),
    Route("/iscrizioni", issue, methods=["POST"]),
    Route("/iscrizioni/foglio", sheet, methods=["GET"]),
    Route("/iscrizioni/foglio.css", sheet_css, methods=["GET"]),
    Route("/iscrizioni/codici.csv", csv_file, methods=["GET"]),
    Route("/iscrizioni/{code_id:int}/revoca", revoke, methods=["POST"]),
]
NAV = [Nav("panel.nav.enrolment", BASE, EVERYONE)]
