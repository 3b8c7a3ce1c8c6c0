"""A partner's own page. A cooperative's contact: its satisfaction, complaints and
operators. An employer's contact: how many of its employees enrolled and used the
service, by gender, and their requests by month and category — counts only, never a
request, a name, an address or a comment."""

from starlette.responses import Response
from starlette.routing import Route

from bot.panel.access import COOPERATIVE, EMPLOYER, Nav, Visit, page
from bot.panel.period import NAMED, read_period
from models import panel_reads
from models.calendar import local
from models.figures import CATEGORIES, GENDERS

PATH = "/pannello/organizzazione"


@page(COOPERATIVE, EMPLOYER)
async def organisation(visit: Visit) -> Response:
    org_id = visit.organisation.id
    context: dict = {"categories": CATEGORIES, "genders": GENDERS, "named": NAMED}
    if visit.sees(COOPERATIVE):
        context["satisfaction"] = await panel_reads.provider_satisfaction(visit.db, org_id)
        context["operators"] = await panel_reads.operators_of(visit.db, org_id)
    if visit.sees(EMPLOYER):
        period = read_period(visit.request.query_params, local(visit.now).date(),
                             await panel_reads.first_request_day(visit.db), default="anno")
        context["period"] = period
        context["counts"] = await panel_reads.employer_counts(visit.db, org_id, period.first,
                                                              period.last)
    return visit.render("organisation.html", **context)


ROUTES = [Route("/organizzazione", organisation, methods=["GET"])]
NAV = [Nav("panel.nav.organisation", PATH, (COOPERATIVE, EMPLOYER))]
