"""The period a page shows, read from its query string: a named one ("oggi", "settimana",
"mese", "anno", "programma" = since the first request) or a custom range `dal`..`al`
(ISO dates from the form's date fields). Named periods end today, as in the chat."""

from dataclasses import dataclass
from datetime import date

from bot.panel.access import PanelError
from handlers.reports import parse_period

NAMED = ("oggi", "settimana", "mese", "anno", "programma")
CUSTOM = "personalizzato"
MAX_DAYS = 3 * 366  # the programme runs two years; a range longer than that is a typo


@dataclass(frozen=True)
class Period:
    name: str
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def query(self) -> str:
        """The query string that shows this period again."""
        if self.name == CUSTOM:
            return f"periodo={CUSTOM}&dal={self.first.isoformat()}&al={self.last.isoformat()}"
        return f"periodo={self.name}"


def read_period(params, today: date, programme_start: date | None,
                default: str = "mese") -> Period:
    """The period asked for; PanelError(400) for a custom range that is not one."""
    name = params.get("periodo") or default
    if name == CUSTOM:
        try:
            first = date.fromisoformat(params.get("dal", ""))
            last = date.fromisoformat(params.get("al", ""))
        except ValueError as problem:
            raise PanelError(400, "panel.error.period") from problem
        if last < first or (last - first).days + 1 > MAX_DAYS:
            raise PanelError(400, "panel.error.period")
        return Period(CUSTOM, first, last)
    if name == "programma":
        return Period(name, min(programme_start or today, today), today)
    if name not in NAMED:
        raise PanelError(400, "panel.error.period")
    first, last = parse_period(name, today)
    return Period(name, first, last)
