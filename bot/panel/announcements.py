"""Announcements of the territory's initiatives (coordinator, the programme's action 5):
write one (title, text, an optional link and date), choose its audience (workers of some
employers, in some municipalities, or everyone — among those who said yes), see how many
it would reach, send it, and follow each one's figures (sent, delivered, read, held,
failed, opted out afterwards)."""

from datetime import date

from sqlmodel import select
from starlette.responses import Response
from starlette.routing import Route

from bot.panel.access import COORDINATOR, Nav, PanelError, Visit, page
from bot.panel.forms import FormField, fill, read
from models import announcements
from models.base import OrgRole
from models.catalog_rules import Invalid, Problem
from models.tables import Announcement, Municipality, Organisation

BASE = "/pannello/annunci"


async def _fields(visit: Visit) -> list[FormField]:
    orgs = (await visit.db.exec(select(Organisation).order_by(Organisation.name))).all()
    places = (await visit.db.exec(select(Municipality).order_by(Municipality.name))).all()
    return [
        FormField("title", "panel.news.title_field"),
        FormField("body", "panel.news.body", "textarea"),
        FormField("link", "panel.news.link", hint_key="panel.news.link_hint"),
        FormField("day", "panel.news.day", "date"),
        FormField("employers", "panel.news.employers", "multi",
                  options=[(str(o.id), o.name) for o in orgs if OrgRole.EMPLOYER in o.roles],
                  hint_key="panel.news.audience_hint"),
        FormField("municipalities", "panel.news.municipalities", "multi",
                  options=[(str(m.id), m.name) for m in places],
                  hint_key="panel.news.audience_hint")]


async def _listing(visit: Visit, fields: list[FormField], status: int = 200) -> Response:
    rows = []
    for row in await announcements.listed(visit.db):
        rows.append((row, await announcements.counts(visit.db, row),
                     await announcements.audience_size(visit.db, row)))
    return visit.render("announcements.html", status=status, fields=fields, rows=rows)


@page(COORDINATOR)
async def overview(visit: Visit) -> Response:
    return await _listing(visit, await _fields(visit))


@page(COORDINATOR)
async def write(visit: Visit) -> Response:
    fields = await _fields(visit)
    values, problems = await read(visit, fields)
    day = None
    if values["day"]:
        try:
            day = date.fromisoformat(values["day"])
        except ValueError:
            problems.append(Problem("day", "rules.wrong_value"))
    ids = {name: [int(v) for v in values[name] if str(v).isdigit()]
           for name in ("employers", "municipalities")}
    if not problems:
        try:
            await announcements.create(
                visit.db, visit.person, title=values["title"], body=values["body"],
                link=values["link"] or None, day=day, employer_ids=ids["employers"],
                municipality_ids=ids["municipalities"], now=visit.now)
            return visit.redirect(BASE, notice="news_written")
        except Invalid as refused:
            problems = refused.problems
    return await _listing(visit, fill(fields, values, problems, visit.language), 400)


@page(COORDINATOR)
async def send(visit: Visit) -> Response:
    row = await visit.db.get(Announcement, visit.request.path_params["announcement_id"])
    if row is None:
        raise PanelError(404)
    queued = await announcements.send(visit.db, visit.person, row.id, visit.now)
    return visit.redirect(BASE, notice="news_sent" if queued or row.sent_at else
                          "nothing_changed")


ROUTES = [
    Route("/annunci", overview, methods=["GET"]),
    Route("/annunci", write, methods=["POST"]),
    Route("/annunci/{announcement_id:int}/invia", send, methods=["POST"]),
]
NAV = [Nav("panel.nav.announcements", BASE, (COORDINATOR,))]
