"""Requests: the list with filters and search by number, a request's page (its facts, its
timeline, offers, fund movements, survey, and the relay when a complaint opened it), and
the coordinator's actions on it — each one operation of models/staff_actions.py (the
same the chat's coordinator view calls) plus its audit event, in one transaction.

A cooperative's contact sees only its own cooperative's requests (the list is narrowed
on the server, a request of another cooperative is a 404), and an assigned job's address,
notes and worker's first name as its operator sees them."""

from starlette.responses import Response
from starlette.routing import Route

from bot.panel.access import COOPERATIVE, COORDINATOR, Nav, PanelError, Visit, page
from bot.panel.params import iso_day, whole_number
from handlers.steps.staff_actions import actions_on
from models import panel_reads, staff_actions
from models.audit import record_change
from models.base import RequestStatus
from models.figures import CATEGORIES, STATUSES
from models.tables import Organisation, ServiceRequest

PATH = "/pannello/richieste"
TAKEN = (RequestStatus.ASSIGNED, RequestStatus.DONE, RequestStatus.NO_SHOW)
WHY = {"gone", "moved_on", "past", "not_offered", "handled", "empty"}


def read_filters(visit: Visit) -> panel_reads.RequestFilters:
    """The list's filters from the query string; a contact's cooperative is forced."""
    params = visit.request.query_params
    status = params.get("stato") if params.get("stato") in STATUSES else None
    category = params.get("categoria") if params.get("categoria") in CATEGORIES else None
    provider = whole_number(params.get("cooperativa"))
    employer = whole_number(params.get("datore"))
    if not visit.sees(COORDINATOR):
        provider, employer = visit.organisation.id, None
    return panel_reads.RequestFilters(
        status=status, category=category, provider_id=provider, employer_id=employer,
        municipality_id=whole_number(params.get("comune")), first=iso_day(params.get("dal")),
        last=iso_day(params.get("al")), number=whole_number(params.get("numero")))


@page(COORDINATOR, COOPERATIVE)
async def request_list(visit: Visit) -> Response:
    filters = read_filters(visit)
    number = whole_number(visit.request.query_params.get("pagina")) or 1
    found = await panel_reads.list_requests(visit.db, filters, number)
    return visit.render("requests.html", filters=filters, found=found, statuses=STATUSES,
                        categories=CATEGORIES, options=await panel_reads.choices(visit.db),
                        query=_query_without_page(visit))


def _query_without_page(visit: Visit) -> str:
    from urllib.parse import urlencode

    return urlencode([(k, v) for k, v in visit.request.query_params.multi_items()
                      if k != "pagina" and v])


@page(COORDINATOR, COOPERATIVE)
async def request_page(visit: Visit) -> Response:
    request = await visit.require_request(visit.request.path_params["request_id"])
    coordinator = visit.sees(COORDINATOR)
    detail = await panel_reads.request_detail(
        visit.db, request, with_relay=coordinator and request.complaint_at is not None)
    staff_messages = [] if not coordinator or request.complaint_at is not None else \
        await staff_actions.staff_messages(visit.db, request)
    actions = actions_on(request) if coordinator else []
    cooperatives = await staff_actions.cooperatives_for(visit.db, request) \
        if "assign" in actions else []
    why = visit.request.query_params.get("no")
    return visit.render("request.html", d=detail, r=request, actions=actions,
                        cooperatives=cooperatives, staff_messages=staff_messages,
                        show_private=not coordinator and request.status in TAKEN,
                        problem=why if why in WHY else None)


async def _act(visit: Visit, action: str, operation, **changes) -> Response:
    """Run one staff action on the request of the URL and audit it (one transaction).
    The audit keeps what changed, not what was typed (reasons, notes and messages are
    the worker's personal data, blanked by retention where they are kept)."""
    request_id = visit.request.path_params["request_id"]
    before = await visit.db.get(ServiceRequest, request_id)
    if before is None:
        raise PanelError(404)
    was = {"status": before.status, "provider_id": before.provider_id}
    outcome = await operation(visit.db, request_id, visit.person, visit.now)
    back = f"{PATH}/{request_id}"
    if not outcome.ok:
        return visit.redirect(f"{back}?no={outcome.why}")
    after = outcome.request
    await record_change(visit.db, visit.person, "request", request_id, action, was,
                        {"status": after.status, "provider_id": after.provider_id, **changes},
                        visit.now)
    target = visit.form.get("back")
    return visit.redirect(target if target in ALLOWED_BACK else back, notice=action)


ALLOWED_BACK = {"/pannello/segnalazioni"}


def _text(visit: Visit, name: str) -> str:
    return str(visit.form.get(name, "")).strip()[:staff_actions.MAX_TEXT]


@page(COORDINATOR)
async def assign(visit: Visit) -> Response:
    provider_id = whole_number(str(visit.form.get("provider_id", "")))
    if provider_id is None:
        raise PanelError(400)
    provider = await visit.db.get(Organisation, provider_id)

    async def operation(db, request_id, actor, now):
        return await staff_actions.assign_to_cooperative(db, request_id, provider_id, actor, now)

    return await _act(visit, "assign", operation,
                      provider=provider.name if provider else provider_id)


@page(COORDINATOR)
async def cancel(visit: Visit) -> Response:
    reason = _text(visit, "reason")

    async def operation(db, request_id, actor, now):
        return await staff_actions.cancel_unserved(db, request_id, actor, reason, now)

    return await _act(visit, "cancel", operation, reason_chars=len(reason))


@page(COORDINATOR)
async def write(visit: Visit) -> Response:
    message = _text(visit, "message")

    async def operation(db, request_id, actor, now):
        return await staff_actions.write_to_worker(db, request_id, actor, message, now)

    return await _act(visit, "write", operation, message_chars=len(message))


@page(COORDINATOR)
async def handle(visit: Visit) -> Response:
    note = _text(visit, "note")

    async def operation(db, request_id, actor, now):
        return await staff_actions.handle_complaint(db, request_id, actor, note, now)

    return await _act(visit, "handle", operation, note_chars=len(note))


ROUTES = [
    Route("/richieste", request_list, methods=["GET"]),
    Route("/richieste/{request_id:int}", request_page, methods=["GET"]),
    Route("/richieste/{request_id:int}/affida", assign, methods=["POST"]),
    Route("/richieste/{request_id:int}/annulla", cancel, methods=["POST"]),
    Route("/richieste/{request_id:int}/scrivi", write, methods=["POST"]),
    Route("/richieste/{request_id:int}/segnalazione", handle, methods=["POST"]),
]
NAV = [Nav("panel.nav.requests", PATH, (COORDINATOR, COOPERATIVE))]
