"""The fund: its balances, the ledger with filters and totals, what each worker has used
of the yearly cap, and which open requests hold reserved money."""

from starlette.responses import Response
from starlette.routing import Route

from bot.panel.access import COORDINATOR, Nav, PanelError, Visit, page
from bot.panel.params import iso_day, whole_number
from models import panel_reads
from models.calendar import local
from models.fund import the_fund

PATH = "/pannello/fondo"
KINDS = ("reserve", "release", "commit")


@page(COORDINATOR)
async def fund_page(visit: Visit) -> Response:
    fund = await the_fund(visit.db)
    if fund is None:
        return visit.render("fund.html", fund=None)
    params = visit.request.query_params
    kind = params.get("movimento") if params.get("movimento") in KINDS else None
    first, last = iso_day(params.get("dal")), iso_day(params.get("al"))
    if first and last and last < first:
        raise PanelError(400, "panel.error.period")
    ledger = await panel_reads.ledger(visit.db, fund.id, kind=kind, first=first, last=last,
                                      request_id=whole_number(params.get("numero")),
                                      page=whole_number(params.get("pagina")) or 1)
    year = local(visit.now).year
    return visit.render("fund.html", fund=fund, ledger=ledger, kinds=KINDS, kind=kind,
                        first=first, last=last, searched=whole_number(params.get("numero")),
                        year=year, caps=await panel_reads.cap_use(visit.db, fund.id, year),
                        reserved=await panel_reads.reserved_by(visit.db))


ROUTES = [Route("/fondo", fund_page, methods=["GET"])]
NAV = [Nav("panel.nav.fund", PATH, (COORDINATOR,))]
