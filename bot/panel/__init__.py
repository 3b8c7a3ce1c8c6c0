"""The web console («pannello») for the people who run the programme: the coordinator and
each partner's contact. One more way in, like a channel: server-rendered pages on the
project's Starlette app at `/pannello/`, reading through `handlers/` report functions and
`models/` queries, changing nothing except through `models/` operations.

Modules (one job each):
- `security.py`: cookies and sessions, CSRF, the client's address, security headers;
- `access.py`: `Visit` (who is looking, in which language, the database session), the
  `page` decorator every page uses to check role and organisation, and `PanelError`;
- `render.py`: Jinja2 (templates in `templates/`, the catalogue's `t()`, Babel's formats);
- `charts.py`: small SVG charts drawn on the server;
- `signin.py`: sign-in with the link from the chat, «Esci», the landing page;
- one module per page group: `dashboard.py`, `requests.py`, `complaints.py`, `fund.py`,
  `exports.py`, `activity.py`, `organisation.py`.

Who sees what (`access.AUDIENCES`): "coordinator" (everything, across the alliance),
"cooperative" (a contact of an organisation that provides services: its own jobs,
operators, satisfaction, complaints) and "employer" (a contact of an organisation that
employs workers: counts of its own employees' uptake, never a request or a name). A
contact of a cooperative that also employs workers has both.

How to add a page
-----------------
1. Write a module in this package (or add to one) with an endpoint decorated by `page`:

       from bot.panel.access import COORDINATOR, Visit, page

       @page(COORDINATOR)
       async def catalogue(visit: Visit):
           services = await some_models_query(visit.db)
           return visit.render("catalogue.html", services=services)

   `page(*audiences)` signs the visitor in from the cookie (no session: a GET goes to
   the sign-in page, a POST gets 403), answers 404 to a visitor whose audiences do not
   include one of those given, checks the CSRF token of every POST (403, nothing done),
   and runs the endpoint in ONE database transaction (`visit.db`): what it changes is
   committed when it returns, rolled back if it raises. Objects of an organisation go
   through `visit.require_request(id)` (or a check of `visit.organisation.id` of your
   own) so that another organisation's object is a 404. Raise `PanelError(404)` (or
   403, 400) anywhere: it is rendered as the error page.
2. A form posts `csrf` = `{{ csrf }}` (use the `csrf_field()` macro of `base.html`), and
   the endpoint calls ONE operation of `models/` for the change, plus
   `models.audit.record_change(...)` for the audit event (who, what, before, after),
   in the same transaction (the «Attività» page lists them); then
   redirects (303) back to a page, with `visit.redirect(path, notice="key")` to show a
   message from the catalogue.
3. Add its routes to the module's `ROUTES` (`Route("/path", endpoint, methods=[...])`),
   the module's name to `PAGE_MODULES` below, and, for the navigation bar, a `Nav(label_key,
   path, audiences)` to the module's `NAV` list. Every sentence is a catalogue key
   (`handlers/locales/*/messages.po`, appended at the end, Italian and English); in
   templates `t("key", field=value)`, `money(cents)`, `day(date)`, `when(moment)`,
   `number(n)`.
4. Templates extend `base.html` (`{% block title %}`, `{% block content %}`); no script
   is needed, no file is fetched from anywhere at run time (static files are served from
   `static/`).
5. `tests/test_panel_security.py` tries every route of every `ROUTES` with every
   audience's session: add the new page's expected audiences there if it is not covered
   by its `page(...)` declaration (the test reads it from the endpoint).
"""

import importlib

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from bot.panel.access import Nav

PREFIX = "/pannello"


# the page groups, in the order of the navigation bar (a module of this package each)
PAGE_MODULES = ["signin", "dashboard", "requests", "complaints", "fund", "organisation",
                "catalogue", "enrolment", "people", "announcements", "exports", "activity"]


def modules() -> list:
    return [importlib.import_module(f"bot.panel.{name}") for name in PAGE_MODULES]


def navigation() -> list[Nav]:
    return [entry for module in modules() for entry in getattr(module, "NAV", [])]


def routes() -> list:
    found = [route for module in modules() for route in module.ROUTES]
    return [*found, Mount("/static", app=StaticFiles(packages=[("bot.panel", "static")]),
                          name="panel-static")]


def mount() -> Mount:
    """The console, for the web app (bot/web.py: every process that serves it, `web` and
    `serve`)."""
    return Mount(PREFIX, routes=routes())
