"""Exports: the indicators' CSV for a period (the very file `intempo export` and the
chat's «Esporta» write, from the same functions), the fund's ledger as CSV, and a
printable report for the region (the period's indicators with the charts; the browser
prints it to A4 or PDF)."""

from starlette.responses import Response
from starlette.routing import Route

from bot.panel import dashboard
from bot.panel.access import COORDINATOR, Nav, Visit, page
from bot.panel.period import NAMED, read_period
from bot.panel.security import harden
from handlers.ledger_export import ledger_csv
from handlers.reports import indicators_csv
from models import panel_reads
from models.calendar import local
from models.figures import CATEGORIES, STATUSES, period_figures
from models.fund import the_fund

PATH = "/pannello/esporta"


async def _period(visit: Visit):
    today = local(visit.now).date()
    return read_period(visit.request.query_params, today,
                       await panel_reads.first_request_day(visit.db))


def _file(data: bytes, filename: str, content_type: str) -> Response:
    return harden(Response(data, media_type=content_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'}))


@page(COORDINATOR)
async def exports(visit: Visit) -> Response:
    return visit.render("exports.html", period=await _period(visit), named=NAMED)


@page(COORDINATOR)
async def indicators(visit: Visit) -> Response:
    period = await _period(visit)
    figures = await period_figures(visit.db, period.first, period.last, visit.now)
    name = f"intempo-indicatori-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return _file(indicators_csv(figures, period.first, period.last), name,
                 "text/csv; charset=utf-8")


@page(COORDINATOR)
async def ledger(visit: Visit) -> Response:
    period = await _period(visit)
    fund = await the_fund(visit.db)
    rows = [] if fund is None else await panel_reads.all_ledger(visit.db, fund.id,
                                                                period.first, period.last)
    name = f"intempo-fondo-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return _file(ledger_csv(rows), name, "text/csv; charset=utf-8")


@page(COORDINATOR)
async def report(visit: Visit) -> Response:
    period = await _period(visit)
    figures = await period_figures(visit.db, period.first, period.last, visit.now)
    return visit.render("report.html", fig=figures, period=period, categories=CATEGORIES,
                        statuses=STATUSES, extracted=visit.now,
                        charts=await dashboard.period_charts(visit, period, figures))


ROUTES = [
    Route("/esporta", exports, methods=["GET"]),
    Route("/esporta/indicatori.csv", indicators, methods=["GET"]),
    Route("/esporta/fondo.csv", ledger, methods=["GET"]),
    Route("/esporta/rapporto", report, methods=["GET"]),
]
NAV = [Nav("panel.nav.exports", PATH, (COORDINATOR,))]
