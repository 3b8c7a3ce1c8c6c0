"""The console's access rules over plain HTTP: every route of every page module tried with
every audience's session (a matrix generated from the routes and their `page(...)`
declarations, not a hand-made list), objects of another cooperative refused with 404, and
forms without or with a wrong CSRF token refused with nothing changed."""

import pytest
import pytest_asyncio
from sqlmodel import func, select
from starlette.routing import Route

from bot.panel import modules
from bot.panel.access import AUDIENCES
from models.base import Role
from models.db import transaction
from models.tables import ChangeEvent, Notice, ServiceRequest
from tests.support.figures import build
from tests.support.panel import CSRF, client_for, link_for, sign_in
from tests.support.people import make_person

# who signs in: (organisation of the mini alliance, role) → the audiences they have
SESSIONS = {
    "coordinator": ("employer", Role.COORDINATOR, {"coordinator"}),
    "coop_a_contact": ("coop-a", Role.CONTACT, {"cooperative", "employer"}),  # both
    "coop_b_contact": ("coop-b", Role.CONTACT, {"cooperative"}),
    "employer_contact": ("employer", Role.CONTACT, {"employer"}),
}


def page_routes() -> list[tuple[str, str, tuple[str, ...]]]:
    """(path, method, audiences) of every route guarded by `page`."""
    found = []
    for module in modules():
        for route in module.ROUTES:
            audiences = getattr(route.endpoint, "audiences", None)
            if isinstance(route, Route) and audiences is not None:
                found += [(route.path, method, audiences) for method in sorted(route.methods)
                          if method != "HEAD"]
    return found


def test_every_page_is_guarded_and_the_matrix_is_not_empty():
    unguarded = [route.path for module in modules() for route in module.ROUTES
                 if getattr(route.endpoint, "audiences", None) is None]
    # only the sign-in pages themselves are open (they check the link instead)
    assert set(unguarded) == {"/accesso", "/accesso/{token}"}
    routes = page_routes()
    assert len(routes) >= 15
    assert {audience for *_, audiences in routes for audience in audiences} == set(AUDIENCES)


async def management_samples(runtime) -> dict[str, str]:
    """Objects for the path parameters of the management pages (catalogue, enrolment,
    people, announcements): an enrolment code and a worker of the organisation "employer"
    (so only the coordinator and that organisation's contact may act on them), a draft
    announcement."""
    from models import announcements
    from models.people import create_codes
    from models.tables import EnrolmentCode

    boss = await make_person(runtime, "employer", Role.COORDINATOR, "sample-boss")
    worker = await make_person(runtime, "employer", Role.WORKER, "sample-worker")
    async with transaction(runtime.sessions) as session:
        [code] = await create_codes(session, "employer", Role.WORKER, 1, runtime.clock(), 30)
        code_id = (await session.exec(select(EnrolmentCode.id).where(
            EnrolmentCode.code == code))).one()
        news = await announcements.create(session, boss, title="t", body="b", link=None,
                                          day=None, employer_ids=[], municipality_ids=[],
                                          now=runtime.clock())
    return {"/catalogo/servizi/{code}": "/catalogo/servizi/spesa",
            "/catalogo/organizzazioni/{code}": "/catalogo/organizzazioni/coop-a",
            "{offering_id:int}": "1", "/catalogo/{kind}/{key}/stato":
            "/catalogo/servizi/anziani/stato", "{code_id:int}": str(code_id),
            "{person_id:int}": str(worker.id), "{announcement_id:int}": str(news.id)}


def filled(path: str, request_id: int, samples: dict[str, str]) -> str:
    """A route's path with sample objects in place of its parameters."""
    path = path.replace("{request_id:int}", str(request_id))
    for pattern, value in samples.items():
        path = value if pattern == path else path.replace(pattern, value)
    return "/pannello" + path


@pytest_asyncio.fixture
async def world(mini, clock):
    data = await build(mini, clock)
    data.samples = await management_samples(mini)
    clients = {}
    for name, (org, role, _audiences) in SESSIONS.items():
        person = await make_person(mini, org, role, name)
        client = client_for(mini)
        assert (await sign_in(client, await link_for(mini, person.id))).status_code == 303
        clients[name] = client
    data.clients = clients
    yield data
    for client in clients.values():
        await client.aclose()


async def snapshot(runtime) -> tuple:
    async with transaction(runtime.sessions) as session:
        statuses = tuple((await session.exec(
            select(ServiceRequest.id, ServiceRequest.status, ServiceRequest.provider_id,
                   ServiceRequest.complaint_handled_at)
            .order_by(ServiceRequest.id))).all())
        changes = (await session.exec(select(func.count()).select_from(ChangeEvent).where(
            ChangeEvent.subject == "request"))).one()
        notices = (await session.exec(select(func.count()).select_from(Notice))).one()
    return statuses, changes, notices


@pytest.mark.asyncio
async def test_every_route_with_every_session(world):
    """Allowed: the page (200; the landing page redirects; 303/400 for a form posted
    empty); not allowed: 404.
    Posts that are not allowed change nothing."""
    r3 = world.requests["r3"]  # routed to coop-b: coop-b's contact may see it, coop-a's not
    tried = 0
    for path, method, audiences in page_routes():
        if path == "/esci":
            continue  # signing out is tried last, below
        url = filled(path, r3, world.samples)
        for name, client in world.clients.items():
            _org, _role, has = SESSIONS[name]
            allowed = bool(has & set(audiences))
            if "{request_id" in path and allowed and "coordinator" not in has:
                allowed = name == "coop_b_contact"
            if ("{code_id" in path or "{person_id" in path) and allowed \
                    and "coordinator" not in has:  # the organisation "employer"'s own
                allowed = name == "employer_contact"
            before = await snapshot(world.runtime)
            if method == "GET":
                response = await client.get(url)
                expected = ({303} if path == "/" else {200}) if allowed else {404}
            else:
                token = CSRF.search((await client.get("/pannello/", follow_redirects=True))
                                    .text).group(1)
                response = await client.post(url, data={"csrf": token})
                expected = {303, 400} if allowed else {404}
            assert response.status_code in expected, (name, method, url, response.status_code)
            if not allowed:
                assert await snapshot(world.runtime) == before, (name, method, url)
                assert "Esci" in response.text  # the error page, still signed in
            tried += 1
    assert tried == len(SESSIONS) * (len(page_routes()) - 1)
    for client in world.clients.values():
        token = CSRF.search((await client.get("/pannello/", follow_redirects=True)).text)
        assert (await client.post("/pannello/esci", data={"csrf": token.group(1)})
                ).status_code == 303


@pytest.mark.asyncio
async def test_without_a_session_pages_send_to_sign_in_and_forms_are_refused(world):
    async with client_for(world.runtime) as anonymous:
        for path, method, _audiences in page_routes():
            url = filled(path, world.requests["r4"], world.samples)
            before = await snapshot(world.runtime)
            if method == "GET":
                response = await anonymous.get(url)
                assert response.status_code == 303, url
                assert response.headers["location"] == "/pannello/accesso"
            else:
                response = await anonymous.post(url, data={"csrf": "x", "provider_id": "1",
                                                           "reason": "x", "note": "x",
                                                           "message": "x"})
                assert response.status_code == 403, url
                assert await snapshot(world.runtime) == before


@pytest.mark.asyncio
async def test_another_cooperatives_request_is_a_404_like_one_that_does_not_exist(world):
    coop_b = world.clients["coop_b_contact"]
    own = await coop_b.get(f"/pannello/richieste/{world.requests['r3']}")
    assert own.status_code == 200
    other = await coop_b.get(f"/pannello/richieste/{world.requests['r1']}")
    missing = await coop_b.get("/pannello/richieste/999999")
    assert other.status_code == missing.status_code == 404
    assert other.text == missing.text  # nothing tells the one from the other
    listed = (await coop_b.get("/pannello/richieste?cooperativa=0")).text
    assert f"n. {world.requests['r3']}<" in listed and f"n. {world.requests['r1']}<" not in listed


@pytest.mark.asyncio
async def test_forms_without_or_with_a_wrong_csrf_token_change_nothing(world):
    coordinator = world.clients["coordinator"]
    r4 = world.requests["r4"]
    forms = {"affida": {"provider_id": "3"}, "annulla": {"reason": "prova"},
             "scrivi": {"message": "ciao"}, "segnalazione": {"note": "ok"}}
    before = await snapshot(world.runtime)
    for action, fields in forms.items():
        for token in (None, "", "forged-token", CSRF.search(
                (await world.clients["coop_a_contact"].get("/pannello/", follow_redirects=True))
                .text).group(1)):  # another session's token is wrong too
            data = dict(fields) if token is None else {**fields, "csrf": token}
            response = await coordinator.post(f"/pannello/richieste/{r4}/{action}", data=data)
            assert response.status_code == 403, (action, token)
            assert "non è stato cambiato nulla" in response.text
    assert await snapshot(world.runtime) == before
    # with the right token the same form works
    token = CSRF.search((await coordinator.get(f"/pannello/richieste/{r4}")).text).group(1)
    done = await coordinator.post(f"/pannello/richieste/{r4}/annulla",
                                  data={"csrf": token, "reason": "prova"})
    assert done.status_code == 303 and done.headers["location"].endswith("?ok=cancel")
    assert await snapshot(world.runtime) != before
