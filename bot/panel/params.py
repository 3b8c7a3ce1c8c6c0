"""Reading the query string and forms: numbers and dates typed by people, refused politely."""

from datetime import date

from bot.panel.access import PanelError


def whole_number(value: str | None) -> int | None:
    """'12', '#12', 'n. 12' → 12; anything else → None."""
    value = (value or "").strip().lstrip("#").removeprefix("n.").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def iso_day(value: str | None) -> date | None:
    """A date field's value (YYYY-MM-DD), None when empty; 400 when it is not a date."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as problem:
        raise PanelError(400, "panel.error.period") from problem
