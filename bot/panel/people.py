"""People (the coordinator for everyone; a contact for their own organisation's workers
and operators): who is enrolled, with role, organisation, channels and whether each can
be reached; switching someone off and on again; the contact role (coordinator); a
person's own data and erasure (coordinator: the same operations as «Privacy e dati» in
the chat). An employer's contact sees their employees' names and enrolment dates only."""

import json

from starlette.responses import Response
from starlette.routing import Route

from bot.panel import security
from bot.panel.access import COORDINATOR, EVERYONE, Nav, PanelError, Visit, page
from models import privacy
from models.audit import record_change
from models.base import Role
from models.offers import NotAllowed
from models.people_admin import deactivate, managed, people_for, reactivate, set_contact

BASE = "/pannello/persone"
ROLES = [Role.WORKER, Role.OPERATOR, Role.CONTACT, Role.COORDINATOR]


@page(*EVERYONE)
async def listing(visit: Visit) -> Response:
    role = visit.request.query_params.get("ruolo") or None
    rows = await people_for(visit.db, visit.person, role=role if role in ROLES else None)
    return visit.render("people.html", rows=rows, roles=ROLES, role=role,
                        coordinator=visit.sees(COORDINATOR), me=visit.person.id)


async def _act(visit: Visit, operation, notice: str) -> Response:
    try:
        done = await operation(visit.db, visit.person, visit.request.path_params["person_id"],
                               visit.now)
    except NotAllowed as refused:
        raise PanelError(404) from refused
    return visit.redirect(BASE, notice=notice if done else "nothing_changed")


@page(*EVERYONE)
async def switch_off(visit: Visit) -> Response:
    return await _act(visit, deactivate, "person_off")


@page(*EVERYONE)
async def switch_on(visit: Visit) -> Response:
    return await _act(visit, reactivate, "person_on")


@page(COORDINATOR)
async def contact_role(visit: Visit) -> Response:
    give = visit.form.get("give") == "1"

    async def operation(db, actor, person_id, now):
        return await set_contact(db, actor, person_id, give, now)

    return await _act(visit, operation, "contact_given" if give else "contact_taken")


@page(COORDINATOR)
async def own_data(visit: Visit) -> Response:
    try:
        person = await managed(visit.db, visit.person, visit.request.path_params["person_id"])
    except NotAllowed as refused:
        raise PanelError(404) from refused
    data = await privacy.export_person(visit.db, person)
    body = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return security.harden(Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="intempo-persona-{person.id}.json"'}))


@page(COORDINATOR)
async def erase(visit: Visit) -> Response:
    if visit.form.get("confirm") != "on":
        return visit.redirect(BASE, notice="erase_unconfirmed")
    try:
        person = await managed(visit.db, visit.person, visit.request.path_params["person_id"])
    except NotAllowed as refused:
        raise PanelError(404) from refused
    if person.id == visit.person.id:
        raise PanelError(400)
    await privacy.erase_person(visit.db, person, visit.now)
    await record_change(visit.db, visit.person, "person", person.id, "erase", None, None,
                        visit.now)
    return visit.redirect(BASE, notice="person_erased")


ROUTES = [
    Route("/persone", listing, methods=["GET"]),
    Route("/persone/{person_id:int}/disattiva", switch_off, methods=["POST"]),
    Route("/persone/{person_id:int}/riattiva", switch_on, methods=["POST"]),
    Route("/persone/{person_id:int}/referente", contact_role, methods=["POST"]),
    Route("/persone/{person_id:int}/dati", own_data, methods=["GET"]),
    Route("/persone/{person_id:int}/cancella", erase, methods=["POST"]),
]
NAV = [Nav("panel.nav.people", BASE, EVERYONE)]
