"""The tests' time: Crema's time zone, and a clock they move by hand."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

ROME = ZoneInfo("Europe/Rome")
# Wednesday 25 November 2026, 09:00 in Crema: every test starts from here unless it moves
START = datetime(2026, 11, 25, 9, 0, tzinfo=ROME).astimezone(UTC)


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set_local(self, *args) -> datetime:
        self.now = datetime(*args, tzinfo=ROME).astimezone(UTC)
        return self.now
