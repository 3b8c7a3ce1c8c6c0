"""Complaints and surveys: low scores and complaints with their comments, the cooperative
and operator concerned; the coordinator marks a complaint handled (the same operation as
the chat's) or opens the request to write to the worker. A cooperative's contact sees
those about its own cooperative."""

from starlette.responses import Response
from starlette.routing import Route

from bot.panel.access import COOPERATIVE, COORDINATOR, Nav, Visit, page
from models import panel_reads

PATH = "/pannello/segnalazioni"


@page(COORDINATOR, COOPERATIVE)
async def feedback(visit: Visit) -> Response:
    own = None if visit.sees(COORDINATOR) else visit.organisation.id
    open_only = visit.request.query_params.get("aperte") == "1"
    rows = await panel_reads.feedback(visit.db, provider_id=own, open_only=open_only)
    return visit.render("complaints.html", rows=rows, open_only=open_only)


ROUTES = [Route("/segnalazioni", feedback, methods=["GET"])]
NAV = [Nav("panel.nav.complaints", PATH, (COORDINATOR, COOPERATIVE))]
