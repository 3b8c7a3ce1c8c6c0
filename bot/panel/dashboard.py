"""The coordinator's dashboard: today (the very figures of the evening digest, from the
same function) and a chosen period (the figures of /stats and of the indicators' export,
from the same function), with three charts."""

from datetime import date, timedelta

from starlette.responses import Response
from starlette.routing import Route

from bot.panel import charts
from bot.panel.access import COORDINATOR, Nav, Visit, page
from bot.panel.period import NAMED, Period, read_period
from bot.panel.render import number
from handlers import reports
from handlers.formatting import money
from models.calendar import local
from models.figures import (
    CATEGORIES,
    MAX_SERIES_DAYS,
    RECENT_DAYS,
    STATUSES,
    DigestFigures,
    FundFigures,
    PeriodFigures,
    daily_series,
    digest_figures,
    period_figures,
)
from models.fund import the_fund
from models.panel_reads import first_request_day, fund_used_by_day

PATH = "/pannello/cruscotto"


@page(COORDINATOR)
async def dashboard(visit: Visit) -> Response:
    """Today always; a period's figures once one is chosen (the page opens on today, which
    costs what the digest costs)."""
    today = local(visit.now).date()
    digest = await digest_figures(visit.db, today, visit.now)
    context = {"digest": digest, "named": NAMED, "categories": CATEGORIES,
               "statuses": STATUSES, "period": Period("oggi", today, today), "fig": None,
               "charts": None, "today_charts": await _today_charts(visit, digest, today),
               "longest_wait": reports.wait(digest.waiting.longest_wait or timedelta(),
                                            visit.language),
               # the digest's own sentence for when the fund runs out
               "runway": reports._runway_line(digest.fund, digest.runway, today,
                                              visit.language) if digest.fund else None}
    if "periodo" in visit.request.query_params:
        period = read_period(visit.request.query_params, today,
                             await first_request_day(visit.db))
        figures = await period_figures(visit.db, period.first, period.last, visit.now)
        context.update(period=period, fig=figures,
                       charts=await period_charts(visit, period, figures))
    return visit.render("dashboard.html", **context)


def _labels(last: date, days: int) -> list[str]:
    return [(last - timedelta(days=days - 1 - n)).strftime("%d/%m") for n in range(days)]


def _requests_chart(visit: Visit, series: dict[str, list[int]], labels: list[str]):
    lang = visit.language
    names = {c: reports.category_name(c, lang, emoji=False) for c in CATEGORIES}
    return charts.stacked_bars(
        series, labels, names, visit.t("panel.chart.requests"),
        visit.t("panel.chart.requests_desc", first=labels[0], last=labels[-1]),
        lambda value: number(value, lang))


async def _fund_chart(visit: Visit, fund: FundFigures | None, last: date, days: int,
                      labels: list[str]):
    if fund is None:
        return None
    lang = visit.language
    used = await fund_used_by_day(visit.db, await the_fund(visit.db),
                                  last - timedelta(days=days - 1), last, visit.now)
    return charts.line(used, labels, fund.total_cents, visit.t("panel.chart.fund"),
                       visit.t("panel.chart.fund_desc", total=money(fund.total_cents, lang)),
                       lambda cents: money(cents, lang).replace(",00", ""))


async def _today_charts(visit: Visit, digest: DigestFigures, today: date) -> dict:
    """The digest's chart (its last 30 days, already counted) and the fund over them."""
    labels = _labels(today, RECENT_DAYS)
    return {"requests": _requests_chart(visit, digest.series, labels),
            "fund": await _fund_chart(visit, digest.fund, today, RECENT_DAYS, labels)}


async def period_charts(visit: Visit, period: Period, figures: PeriodFigures) -> dict:
    """The charts of a period: requests per day, the fund over time, uptake by employer."""
    days = min(max(period.days, 7), MAX_SERIES_DAYS)
    labels = _labels(period.last, days)
    return {
        "requests": _requests_chart(visit, await daily_series(visit.db, period.last, days),
                                    labels),
        "fund": await _fund_chart(visit, figures.fund, period.last, days, labels),
        "uptake": charts.share_bars(
            [(u.name, u.users, u.enrolled) for u in figures.uptake_by_employer],
            visit.t("panel.chart.uptake"), visit.t("panel.chart.uptake_desc"),
            lambda share: reports.percent(share, visit.language)),
    }


ROUTES = [Route("/cruscotto", dashboard, methods=["GET"])]
NAV = [Nav("panel.nav.dashboard", PATH, (COORDINATOR,))]
