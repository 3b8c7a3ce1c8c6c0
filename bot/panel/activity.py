"""«Attività»: every change made by staff — console actions on requests, sign-ins and
sign-outs, and (from the management pages) the catalogue, the fund, enrolment — with who,
when and what changed, newest first."""

from starlette.responses import Response
from starlette.routing import Route

from bot.panel.access import COORDINATOR, Nav, Visit, page
from bot.panel.params import whole_number
from models import panel_reads

PATH = "/pannello/attivita"


@page(COORDINATOR)
async def activity(visit: Visit) -> Response:
    number = whole_number(visit.request.query_params.get("pagina")) or 1
    found = await panel_reads.activity(visit.db, number)
    return visit.render("activity.html", found=found)


ROUTES = [Route("/attivita", activity, methods=["GET"])]
NAV = [Nav("panel.nav.activity", PATH, (COORDINATOR,))]
