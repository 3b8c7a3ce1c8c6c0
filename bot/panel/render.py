"""Pages are Jinja2 templates (bot/panel/templates) filled with the message catalogue and
Babel's formats in the visitor's language; every response carries the security headers."""

from datetime import date, datetime
from functools import lru_cache, partial

from babel.numbers import format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from bot.panel.security import harden
from handlers import formatting, reports
from handlers.messages import catalogue, text
from models.calendar import local


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(loader=PackageLoader("bot.panel", "templates"),
                       autoescape=select_autoescape(default=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def number(value: float | int | None, language: str, pattern: str = "#,##0") -> str:
    if value is None:
        return "—"
    return format_decimal(value, pattern, locale=formatting.LOCALES.get(language, "it_IT"))


def moment(value: datetime | None, language: str) -> str:
    """A stored UTC moment as '02/12/2026 09:05' in Europe/Rome."""
    if value is None:
        return "—"
    return local(value).strftime("%d/%m/%Y %H:%M")


def helpers(language: str) -> dict:
    """What every template may call, bound to the visitor's language."""
    return {
        "language": language,
        "t": partial(text, language),
        "label": lambda key, fallback: text(language, key) if key in catalogue(language)
        else fallback,
        "money": lambda cents: formatting.money(cents or 0, language),
        "day": lambda value: reports.long_date(value, language) if value else "—",
        "when": lambda value: formatting.when(value, language) if value else "—",
        "moment": lambda value: moment(value, language),
        "number": lambda value, pattern="#,##0": number(value, language, pattern),
        "percent": lambda share: "—" if share is None else reports.percent(share, language),
        "duration": lambda minutes: reports.duration(minutes or 0, language),
        # no emoji on the pages: a computer without an emoji font shows empty boxes
        "category": lambda code: reports.category_name(code, language, emoji=False),
        "plain": reports.plain_label,
        "iso": lambda value: value.isoformat() if isinstance(value, date | datetime) else "",
    }


def render(template: str, language: str, status: int = 200, **context) -> HTMLResponse:
    page = environment().get_template(template).render(**helpers(language), **context)
    return harden(HTMLResponse(page, status_code=status))
