"""Who is looking, and what they may see: the one access check every page goes through.

`page(*audiences)` wraps an endpoint: it finds the session of the cookie, refuses (404)
a visitor none of whose audiences is allowed, checks the CSRF token of every POST, and
runs the endpoint in one transaction with a `Visit`. An object belonging to another
organisation is a 404 too (`Visit.require_request`), so a contact who types another
cooperative's URL learns nothing, not even that it exists."""

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.panel import security
from bot.panel.render import render
from handlers.messages import catalogue
from models.base import Role
from models.db import transaction
from models.panel import PanelSession, contact_kinds, current_session
from models.tables import Organisation, Person, ServiceRequest

COORDINATOR, COOPERATIVE, EMPLOYER = "coordinator", "cooperative", "employer"
AUDIENCES = (COORDINATOR, COOPERATIVE, EMPLOYER)
EVERYONE = AUDIENCES
SIGNIN_PATH = "/pannello/accesso"


@dataclass(frozen=True)
class Nav:
    """An entry of the navigation bar, shown to the audiences given."""

    label_key: str
    path: str
    audiences: tuple[str, ...]


class PanelError(Exception):
    """Stops a page: rendered as the error page with `status` (404, 403, 400…)."""

    def __init__(self, status: int, message_key: str | None = None):
        super().__init__(status)
        self.status = status
        self.message_key = message_key or f"panel.error.{status}"


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as plain values (usable after the transaction ends)."""

    person_id: int
    name: str
    language: str
    organisation_id: int
    organisation_name: str
    audiences: frozenset[str]
    csrf: str

    def sees(self, *audiences: str) -> bool:
        return bool(self.audiences & set(audiences))


def audiences_of(person: Person, organisation: Organisation) -> frozenset[str]:
    if person.role == Role.COORDINATOR:
        return frozenset({COORDINATOR})
    if person.role == Role.CONTACT:
        return frozenset(contact_kinds(organisation))
    return frozenset()


@dataclass
class Visit:
    """One page view: the request, the database session (one transaction), the viewer."""

    request: Request
    runtime: Any
    db: Any
    person: Person
    organisation: Organisation
    panel_session: PanelSession
    viewer: Viewer
    now: datetime
    form: dict[str, Any] = field(default_factory=dict)

    @property
    def language(self) -> str:
        return self.viewer.language

    def sees(self, *audiences: str) -> bool:
        return self.viewer.sees(*audiences)

    def t(self, key: str, **params) -> str:
        from handlers.messages import text

        return text(self.language, key, **params)

    def render(self, template: str, status: int = 200, **context) -> Response:
        return render_for(self.request, self.viewer, template, status, **context)

    def redirect(self, path: str, notice: str | None = None) -> Response:
        target = path if notice is None else f"{path}{'&' if '?' in path else '?'}ok={notice}"
        return security.harden(RedirectResponse(target, status_code=303))

    def may_see_request(self, request: ServiceRequest) -> bool:
        if self.sees(COORDINATOR):
            return True
        return self.sees(COOPERATIVE) and request.provider_id == self.organisation.id

    async def require_request(self, request_id: int) -> ServiceRequest:
        """The request, if this visitor may see it; else 404 (whether or not it exists)."""
        request = await self.db.get(ServiceRequest, request_id)
        if request is None or not self.may_see_request(request):
            raise PanelError(404)
        return request


def navigation_for(viewer: Viewer | None) -> list[Nav]:
    from bot.panel import navigation

    return [entry for entry in navigation() if viewer and viewer.sees(*entry.audiences)]


def render_for(request: Request, viewer: Viewer | None, template: str, status: int = 200,
               language_override: str | None = None, **context) -> Response:
    """A page for `viewer` (None when signed out: the default language, no navigation)."""
    default = request.app.state.runtime.settings.default_language
    language = language_override or (viewer.language if viewer else default)
    notice = request.query_params.get("ok")
    known = notice is not None and f"panel.ok.{notice}" in catalogue(language)
    return render(template, language, status, viewer=viewer, nav=navigation_for(viewer),
                  path=request.url.path, csrf=viewer.csrf if viewer else "",
                  notice=notice if known else None, **context)


def signed_out(request: Request) -> Response:
    if request.method == "GET":
        return security.harden(RedirectResponse(SIGNIN_PATH, status_code=303))
    return render_for(request, None, "error.html", 403, message_key="panel.error.signed_out")


Endpoint = Callable[[Visit], Awaitable[Response]]


def page(*audiences: str) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
    """The access check of a page or action (see the module's docstring)."""
    unknown = set(audiences) - set(AUDIENCES)
    if not audiences or unknown:
        raise ValueError(f"audiences must be among {AUDIENCES}: {unknown or 'none given'}")

    def decorate(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(endpoint)
        async def handler(request: Request) -> Response:
            runtime = request.app.state.runtime
            now = runtime.clock()
            viewer: Viewer | None = None
            try:
                async with transaction(runtime.sessions) as db:
                    visit = await _visit(request, runtime, db, now)
                    if visit is None:
                        return signed_out(request)
                    viewer = visit.viewer
                    if not visit.sees(*audiences):
                        raise PanelError(404)
                    if request.method == "POST":
                        visit.form = dict(await request.form())
                        if not security.same_token(viewer.csrf, visit.form.get("csrf")):
                            raise PanelError(403, "panel.error.csrf")
                    return await endpoint(visit)
            except PanelError as problem:  # the transaction was rolled back: nothing changed
                return render_for(request, viewer, "error.html", problem.status,
                                  message_key=problem.message_key)

        handler.audiences = audiences  # read by the tests' access matrix
        return handler

    return decorate


async def _visit(request: Request, runtime, db, now: datetime) -> Visit | None:
    token = request.cookies.get(security.SESSION_COOKIE)
    if not token:
        return None
    found = await current_session(db, token, now, security.rules_of(runtime.settings))
    if found is None:
        return None
    row, person = found
    organisation = await db.get(Organisation, person.organisation_id)
    viewer = Viewer(person.id, person.first_name or "", person.language, organisation.id,
                    organisation.name, audiences_of(person, organisation), row.csrf_token)
    return Visit(request, runtime, db, person, organisation, row, viewer, now)
