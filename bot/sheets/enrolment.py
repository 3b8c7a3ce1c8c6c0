"""The enrolment sheet: an A4 page of cards, one per code, each with the Telegram deep link
and the WhatsApp click-to-chat link as QR codes (SVG, sharp in print), the code in letters
and two lines on what IN...TEMPO is; and the same codes as a CSV for mail-merge. A channel
that is not configured (no bot username, no WhatsApp number) has no QR code and the sheet
says so."""

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from handlers import formatting, messages
from models.calendar import local
from models.enrolment import CodeState

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = TEMPLATES / "enrolment.css"  # inline in a saved sheet, linked in the console
_environment = Environment(loader=FileSystemLoader(TEMPLATES),
                           autoescape=select_autoescape(["html"]))


@dataclass(frozen=True)
class Links:
    """Where a code takes a person: `t.me/<bot>?start=<CODE>`, `wa.me/<number>?text=<CODE>`."""

    telegram_username: str | None = None
    whatsapp_number: str | None = None  # digits only, country code first

    @classmethod
    def from_settings(cls, settings) -> "Links":
        username = (getattr(settings, "telegram_bot_username", None) or "").strip().lstrip("@")
        sender = (settings.twilio_whatsapp_from or "").removeprefix("whatsapp:")
        digits = "".join(ch for ch in sender if ch.isdigit())
        return cls(username or None, digits or None)

    def telegram(self, code: str) -> str | None:
        return f"https://t.me/{self.telegram_username}?start={code}" \
            if self.telegram_username else None

    def whatsapp(self, code: str) -> str | None:
        return f"https://wa.me/{self.whatsapp_number}?text={quote(code)}" \
            if self.whatsapp_number else None


def qr_svg(url: str) -> Markup:
    """A QR code as inline SVG sized by its box (CSS), with the standard quiet zone."""
    svg = segno.make(url, error="m", micro=False).svg_inline(
        scale=1, border=4, omitsize=True, svgclass="qr", title=url)
    return Markup(svg)


def spaced(code: str) -> str:
    """ABCD2345 → 'ABCD 2345', easier to read and type."""
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


def role_label(role: str, language: str) -> str:
    return messages.text(language, f"sheet.role.{role}")


def enrolment_sheet(codes: list[CodeState], links: Links, language: str = "it",
                    stylesheet: str | None = None) -> str:
    """The printable page (a whole HTML document) for these codes; its CSS inline, or
    linked from `stylesheet` (the console's pages allow no inline style)."""
    def t(key: str, **params) -> str:
        return messages.text(language, key, **params)

    cards = []
    for state in sorted(codes, key=lambda s: s.code.id):  # in the order they were issued
        code = state.code.code
        telegram, whatsapp = links.telegram(code), links.whatsapp(code)
        cards.append({
            "code": code, "spaced": spaced(code), "organisation": state.organisation.name,
            "role": role_label(state.code.role, language),
            "until": formatting.day(local(state.code.expires_at).date(), language),
            "telegram": telegram, "telegram_qr": qr_svg(telegram) if telegram else None,
            "whatsapp": whatsapp, "whatsapp_qr": qr_svg(whatsapp) if whatsapp else None})
    return _environment.get_template("enrolment.html").render(
        cards=cards, t=t, language=language, stylesheet=stylesheet,
        css=Markup(STYLESHEET.read_text(encoding="utf-8")) if stylesheet is None else "",
        missing=[t(key) for key, there in (("sheet.no_telegram", links.telegram_username),
                                           ("sheet.no_whatsapp", links.whatsapp_number))
                 if not there])


def codes_csv(codes: list[CodeState], links: Links, now: datetime,
              language: str = "it") -> bytes:
    """The codes for mail-merge: UTF-8 with BOM, ';' between fields, one row per code."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([messages.text(language, f"sheet.csv.{column}") for column in (
        "code", "organisation", "role", "state", "valid_until", "telegram", "whatsapp",
        "used_by", "used_at")])
    for state in codes:
        code = state.code
        writer.writerow([
            code.code, state.organisation.name, role_label(code.role, language),
            messages.text(language, f"sheet.state.{state.state}"),
            local(code.expires_at).strftime("%d/%m/%Y"), links.telegram(code.code) or "",
            links.whatsapp(code.code) or "",
            (state.used_by.first_name or "—") if state.used_by else "",
            local(code.used_at).strftime("%d/%m/%Y %H:%M") if code.used_at else ""])
    return buffer.getvalue().encode("utf-8-sig")
