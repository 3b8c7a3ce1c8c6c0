"""Signing in with the link from the chat, signing out («Esci»), and the landing page.

Opening the link (GET) only shows a button: chat apps fetch links to preview them, and a
preview must not use up a single-use link. Pressing the button (POST, bound to this
browser by a cookie) uses the link and starts the session. Five failed attempts in a
minute from one address get 429 until the minute has passed."""

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.panel import security
from bot.panel.access import EVERYONE, Visit, navigation_for, page, render_for
from models.db import transaction
from models.panel import check_link, note_failure, too_many_failures, use_link

TOKEN_MAX = 100


async def signin_help(request: Request) -> Response:
    """Signed out: how to get a link."""
    return render_for(request, None, "signin.html", link=None,
                      signed_out=request.query_params.get("uscito") == "1",
                      minutes=request.app.state.runtime.settings.panel_link_minutes)


async def open_link(request: Request) -> Response:
    """The page a link opens: who it signs in, and the button that does it."""
    runtime = request.app.state.runtime
    token = request.path_params["token"][:TOKEN_MAX]
    now = runtime.clock()
    address = security.client_address(request)
    async with transaction(runtime.sessions) as db:
        if await too_many_failures(db, address, now, security.rules_of(runtime.settings)):
            return _slow_down(request)
        person = await check_link(db, token, now)
        if person is None:
            await note_failure(db, address, now)
            return render_for(request, None, "error.html", 403,
                              message_key="panel.error.link_refused")
        name, language = person.first_name or "", person.language
    form_token = security.new_form_token()
    response = render_for(request, None, "signin.html", link=token, name=name,
                          form_token=form_token, signed_out=False, language_override=language)
    security.set_cookie(response, security.SIGNIN_COOKIE, form_token, runtime.settings,
                        max_age=runtime.settings.panel_link_minutes * 60)
    return response


async def use_signin_link(request: Request) -> Response:
    runtime = request.app.state.runtime
    now = runtime.clock()
    address = security.client_address(request)
    form = await request.form()
    token = str(form.get("token", ""))[:TOKEN_MAX]
    async with transaction(runtime.sessions) as db:
        if await too_many_failures(db, address, now, security.rules_of(runtime.settings)):
            return _slow_down(request)
        if not security.same_token(request.cookies.get(security.SIGNIN_COOKIE),
                                   form.get("form_token")):
            await note_failure(db, address, now)
            return render_for(request, None, "error.html", 403, message_key="panel.error.csrf")
        opened = await use_link(db, token, now, security.rules_of(runtime.settings))
        if opened is None:
            await note_failure(db, address, now)
            return render_for(request, None, "error.html", 403,
                              message_key="panel.error.link_refused")
    response = security.harden(RedirectResponse("/pannello/", status_code=303))
    security.set_cookie(response, security.SESSION_COOKIE, opened.token, runtime.settings,
                        max_age=runtime.settings.panel_session_hours * 3600)
    security.clear_cookie(response, security.SIGNIN_COOKIE, runtime.settings)
    return response


def _slow_down(request: Request) -> Response:
    response = render_for(request, None, "error.html", 429, message_key="panel.error.429")
    response.headers["Retry-After"] = "60"
    return response


@page(*EVERYONE)
async def sign_out(visit: Visit) -> Response:
    from models.panel import end_session

    await end_session(visit.db, visit.panel_session, visit.now)
    response = security.harden(RedirectResponse("/pannello/accesso?uscito=1", status_code=303))
    security.clear_cookie(response, security.SESSION_COOKIE, visit.runtime.settings)
    return response


@page(*EVERYONE)
async def landing(visit: Visit) -> Response:
    """The first page of the navigation this visitor has."""
    entries = navigation_for(visit.viewer)
    if entries:
        return visit.redirect(entries[0].path)
    return visit.render("home.html")


ROUTES = [
    Route("/", landing, methods=["GET"]),
    Route("/accesso", signin_help, methods=["GET"]),
    Route("/accesso", use_signin_link, methods=["POST"]),
    Route("/accesso/{token}", open_link, methods=["GET"]),
    Route("/esci", sign_out, methods=["POST"]),
]
