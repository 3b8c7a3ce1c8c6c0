"""The coordinator's dashboard: today (the very figures of the evening digest, from the
same function) and a chosen period (the figures of /stats and of the indicators' export,
from the same function), with three charts."""

from datetime import timedelta

from starlette.responses import Response
from starlette.routing import Route

from bot.panel import charts
from bot.panel.access import COORDINATOR, Nav, Visit, page
from bot.panel.period import NAMED, read_period
from bot.panel.render import number
from handlers import reports
from handlers.formatting import money
from models.calendar import local
from models.figures import (
    CATEGORIES,
    MAX_SERIES_DAYS,
    STATUSES,
    daily_series,
    digest_figures,
    period_figures,
)
from models.panel_reads import first_request_day, fund_used_by_day

PATH = "/pannello/cruscotto"


@page(COORDINATOR)
async def dashboard(visit: Visit) -> Response:
    today = local(visit.now).date()
    period = read_period(visit.request.query_params, today, await first_request_day(visit.db))
    digest = await digest_figures(visit.db, today, visit.now)
    figures = await period_figures(visit.db, period.first, period.last, visit.now)
    return visit.render("dashboard.html", digest=digest, fig=figures, period=period,
                        named=NAMED, categories=CATEGORIES, statuses=STATUSES,
                        runway=reports._runway_line(digest.fund, digest.runway, today,
                                                    visit.language)  # the digest's sentence
                        if digest.fund else None,
                        longest_wait=reports.wait(digest.waiting.longest_wait or timedelta(),
                                                  visit.language),
                        charts=await period_charts(visit, period, figures, digest))


async def period_charts(visit: Visit, period, figures, digest) -> dict:
    """The charts of a period: requests per day, the fund over time, uptake by employer."""
    lang, t = visit.language, visit.t
    chart_days = min(max(period.days, 7), MAX_SERIES_DAYS)
    first_shown = period.last - timedelta(days=chart_days - 1)
    labels = [(first_shown + timedelta(days=n)).strftime("%d/%m") for n in range(chart_days)]
    series = await daily_series(visit.db, period.last, chart_days)
    names = {c: reports.category_name(c, lang, emoji=False) for c in CATEGORIES}
    result = {"requests": charts.stacked_bars(
        series, labels, names, t("panel.chart.requests"),
        t("panel.chart.requests_desc", first=labels[0], last=labels[-1]),
        lambda value: number(value, lang))}
    if digest.fund is not None:
        fund_id = await _fund_id(visit)
        used = await fund_used_by_day(visit.db, fund_id, first_shown, period.last)
        result["fund"] = charts.line(
            used, labels, digest.fund.total_cents, t("panel.chart.fund"),
            t("panel.chart.fund_desc", total=money(digest.fund.total_cents, lang)),
            lambda cents: money(cents, lang).replace(",00", ""))
    result["uptake"] = charts.share_bars(
        [(u.name, u.users, u.enrolled) for u in figures.uptake_by_employer],
        t("panel.chart.uptake"), t("panel.chart.uptake_desc"),
        lambda share: reports.percent(share, lang))
    return result


async def _fund_id(visit: Visit) -> int:
    from models.fund import the_fund

    return (await the_fund(visit.db)).id


ROUTES = [Route("/cruscotto", dashboard, methods=["GET"])]
NAV = [Nav("panel.nav.dashboard", PATH, (COORDINATOR,))]
