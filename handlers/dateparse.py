"""Parse free text (Italian first, English too) into a day and/or a time of day.

Workers write things like "domani alle 15", "sabato mattina", "27/11 ore 9" or
"tomorrow at 3pm". :func:`parse_when` turns such text into a :class:`When`.

How it works, in three small steps:

1. normalise the text (lower case, accents removed: "lunedì" -> "lunedi");
2. split it into tokens, either words ("domani") or numbers possibly joined by
   ``: . / -`` ("15:30", "27/11/2026");
3. walk the tokens left to right, asking a short list of recognisers (one per
   kind of expression) whether an expression starts at the current token.

Every other word ("vorrei", "per", "please", ...) is simply skipped, and the
token regex has no nested ambiguous repetition, so parsing is linear in the
length of the text.

Conventions worth knowing:

* a day-of-week means its next occurrence strictly after today;
* a day/month without a year means its next occurrence on or after today;
* an explicit calendar date beats a weekday or relative day in the same text
  ("lunedì 7 dicembre" -> 7 December); otherwise the first day mentioned wins,
  and likewise for times and parts of the day;
* an hour from 1 to 11 without am/pm is read on the 12-hour clock when the text
  also says afternoon or evening ("alle 9 di sera" -> 21:00); otherwise it is
  kept as written ("alle 3" -> 03:00);
* a dotted pair is a date when its second number can be a month ("27.11"),
  otherwise a time ("15.30"); after "alle"/"ore"/"at"... it is always a time.
"""

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Generic, TypeVar

from handlers.untrusted import is_number

__all__ = ["PARTS_OF_DAY", "DateProblem", "When", "parse_when"]

PARTS_OF_DAY = {
    "morning": (time(8), time(12)),
    "afternoon": (time(12), time(18)),
    "evening": (time(18), time(21)),
}


@dataclass(frozen=True)
class When:
    """What a text says about when: a day, an exact time and/or a part of the day."""

    day: date | None  # None if the text gave only a time
    at: time | None  # exact time if given ("alle 15", "ore 9:30", "15.30", "3pm")
    part_of_day: str | None  # "morning" | "afternoon" | "evening" if given


class DateProblem(Exception):
    """Raised when the text clearly is a date but an impossible or past one."""

    def __init__(self, reason: str):
        """`reason` is "impossible" (30/02, 25:00) or "past" (a day before today)."""
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------- vocabulary

_V = TypeVar("_V")


class _Phrases(Generic[_V]):
    """Multi-word phrases mapped to values, looked up by their first word."""

    def __init__(self, values: Mapping[tuple[str, ...], _V]):
        self._values = dict(values)
        self._by_first_word: dict[str, list[tuple[str, ...]]] = {}
        for phrase in sorted(values, key=len, reverse=True):  # longest phrase wins
            self._by_first_word.setdefault(phrase[0], []).append(phrase)

    def find(self, tokens: Sequence[str], index: int) -> tuple[int, _V] | None:
        """(phrase length, value) for the longest phrase starting at `index`, or None."""
        for phrase in self._by_first_word.get(_at(tokens, index), ()):
            if tuple(tokens[index : index + len(phrase)]) == phrase:
                return len(phrase), self._values[phrase]
        return None


_TOKEN_RE = re.compile(r"[0-9]+(?:[:./-][0-9]+)*|[a-z]+")
_CLOCK_RE = re.compile(r"([0-9]{1,2})[:.]([0-9]{2})")
_DATE_SEPARATORS_RE = re.compile(r"[/.-]")

# phrase -> (days from today, part of day)
_RELATIVE_DAYS: _Phrases[tuple[int, str | None]] = _Phrases(
    {
        ("ieri",): (-1, None),  # understood, so the answer can say it is past
        ("yesterday",): (-1, None),
        ("oggi",): (0, None),
        ("today",): (0, None),
        ("domani",): (1, None),
        ("tomorrow",): (1, None),
        ("dopodomani",): (2, None),
        ("dopo", "domani"): (2, None),
        ("day", "after", "tomorrow"): (2, None),
        ("stamattina",): (0, "morning"),
        ("stamani",): (0, "morning"),
        ("stamane",): (0, "morning"),
        ("stasera",): (0, "evening"),
        ("tonight",): (0, "evening"),
        ("domattina",): (1, "morning"),
    }
)

_WEEKDAYS = {
    **dict.fromkeys(("lunedi", "lun", "monday", "mon"), 0),
    **dict.fromkeys(("martedi", "mar", "tuesday", "tue", "tues"), 1),
    **dict.fromkeys(("mercoledi", "mer", "wednesday", "wed"), 2),
    **dict.fromkeys(("giovedi", "gio", "thursday", "thu", "thur", "thurs"), 3),
    **dict.fromkeys(("venerdi", "ven", "friday", "fri"), 4),
    **dict.fromkeys(("sabato", "sab", "saturday", "sat"), 5),
    **dict.fromkeys(("domenica", "dom", "sunday", "sun"), 6),
}

_MONTHS = {
    **dict.fromkeys(("gennaio", "gen", "january", "jan"), 1),
    **dict.fromkeys(("febbraio", "feb", "february"), 2),
    **dict.fromkeys(("marzo", "mar", "march"), 3),
    **dict.fromkeys(("aprile", "apr", "april"), 4),
    **dict.fromkeys(("maggio", "mag", "may"), 5),
    **dict.fromkeys(("giugno", "giu", "june", "jun"), 6),
    **dict.fromkeys(("luglio", "lug", "july", "jul"), 7),
    **dict.fromkeys(("agosto", "ago", "august", "aug"), 8),
    **dict.fromkeys(("settembre", "set", "sett", "september", "sep", "sept"), 9),
    **dict.fromkeys(("ottobre", "ott", "october", "oct"), 10),
    **dict.fromkeys(("novembre", "nov", "november"), 11),
    **dict.fromkeys(("dicembre", "dic", "december", "dec"), 12),
}

_PARTS = {
    **dict.fromkeys(("mattina", "mattinata", "mattino", "morning"), "morning"),
    **dict.fromkeys(("pomeriggio", "afternoon"), "afternoon"),
    **dict.fromkeys(("sera", "serata", "evening"), "evening"),
}

_NAMED_TIMES = {
    "mezzogiorno": time(12),
    "noon": time(12),
    "mezzanotte": time(0),
    "midnight": time(0),
}

# "alle 9 e mezza", "ore 10 e un quarto": words after "e" -> minutes
_MINUTE_WORDS: _Phrases[int] = _Phrases(
    {
        ("mezza",): 30,
        ("mezzo",): 30,
        ("quarto",): 15,
        ("un", "quarto"): 15,
        ("tre", "quarti"): 45,
    }
)

_MERIDIEMS: _Phrases[str] = _Phrases(
    {
        ("am",): "am",
        ("pm",): "pm",
        ("a", "m"): "am",  # "a.m."
        ("p", "m"): "pm",  # "p.m."
    }
)

_TIME_TRIGGERS = frozenset({"alle", "ore", "h", "at", "le", "dalle"})
_DAY_ARTICLES = frozenset({"il", "giorno", "the", "l"})
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
_MONTHS_AND_SUFFIXES = frozenset(_MONTHS) | _ORDINAL_SUFFIXES  # what may follow a day number


# --------------------------------------------------------------------------- tokens


def _normalise(text: str) -> str:
    """Lower-case `text` and strip accents ("Lunedì" -> "lunedi")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _tokenise(text: str) -> list[str]:
    """Split `text` into word tokens and number tokens ("27/11", "15:30")."""
    return _TOKEN_RE.findall(_normalise(text))


def _at(tokens: Sequence[str], index: int) -> str:
    """Return the token at `index`, or "" when out of range (so look-arounds are safe)."""
    return tokens[index] if 0 <= index < len(tokens) else ""


def _is_small_number(token: str) -> bool:
    """True for a plain number of one or two digits ("9", "27")."""
    return is_number(token) and len(token) <= 2


# --------------------------------------------------------------------------- validation


def _impossible() -> DateProblem:
    """A fresh DateProblem("impossible"), ready to raise."""
    return DateProblem("impossible")


def _make_time(hour: int, minute: int, meridiem: str | None) -> time:
    """Build a time, applying am/pm; raise DateProblem("impossible") if out of range."""
    if meridiem is not None:
        if not 1 <= hour <= 12:
            raise _impossible()
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if hour >= 24 or minute >= 60:
        raise _impossible()
    return time(hour, minute)


def _exact_date(year: int, month: int, day: int, today: date) -> date:
    """Date with an explicit year: must exist and must not be before `today`."""
    try:
        result = date(year, month, day)
    except ValueError:
        raise _impossible() from None
    if result < today:
        raise DateProblem("past")
    return result


def _next_occurrence(month: int, day: int, today: date) -> date:
    """The first `day`/`month` on or after `today` (29/02 waits for a leap year)."""
    try:
        date(2000, month, day)  # 2000 is a leap year: rejects only truly impossible days
    except ValueError:
        raise _impossible() from None
    for year in range(today.year, today.year + 9):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise _impossible()  # only reachable at the very end of the calendar


def _resolve_date(year: int | None, month: int, day: int, today: date) -> date:
    """Turn day/month[/year] into a date, raising DateProblem when impossible or past."""
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise _impossible()
    if year is None:
        return _next_occurrence(month, day, today)
    return _exact_date(year, month, day, today)


def _day_of_month(day: int, today: date) -> date:
    """'il 5': that day of this month if not yet past, else of next month."""
    year, month = today.year, today.month
    if day < today.day:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    try:
        return date(year, month, day)
    except ValueError:
        raise _impossible() from None


# --------------------------------------------------------------------------- recognisers


@dataclass(frozen=True)
class _Match:
    """One recognised expression, `length` tokens long."""

    length: int
    day: date | None = None
    at: time | None = None
    part: str | None = None
    calendar_day: bool = False  # an explicit calendar date: beats weekdays and "domani"
    ambiguous_hour: bool = False  # 1..11 without am/pm: may need +12 with "sera"


@dataclass(frozen=True)
class _Clock:
    """An hour and minute read from the tokens, before validation."""

    hour: int
    minute: int
    meridiem: str | None
    length: int
    looks_like_time: bool  # recognisable as a time even without "alle"/"at"

    def to_match(self) -> _Match:
        """Validate into a time (DateProblem("impossible") if out of range)."""
        at = _make_time(self.hour, self.minute, self.meridiem)
        ambiguous = self.meridiem is None and 1 <= self.hour <= 11
        return _Match(self.length, at=at, ambiguous_hour=ambiguous)


def _read_minutes_words(tokens: Sequence[str], index: int) -> tuple[int, int]:
    """Read "e mezza" / "e un quarto" / "e 30" at `index`: (minutes, tokens used)."""
    if _at(tokens, index) != "e":
        return 0, 0
    after = _at(tokens, index + 1)
    if _is_small_number(after):
        return int(after), 2
    found = _MINUTE_WORDS.find(tokens, index + 1)
    if found is None:
        return 0, 0
    length, minutes = found
    return minutes, 1 + length


def _read_meridiem(tokens: Sequence[str], index: int) -> tuple[str | None, int]:
    """Read "am"/"pm"/"a.m."/"p.m." at `index`: (meridiem or None, tokens used)."""
    found = _MERIDIEMS.find(tokens, index)
    if found is None:
        return None, 0
    length, meridiem = found
    return meridiem, length


def _read_clock(tokens: Sequence[str], index: int) -> _Clock | None:
    """Read "15", "15:30", "15.30", "9h30", "9 e mezza", each optionally + am/pm."""
    token = _at(tokens, index)
    pair = _CLOCK_RE.fullmatch(token)
    end = index + 1
    if pair:
        hour, minute = int(pair.group(1)), int(pair.group(2))
        looks_like_time = True
    elif _is_small_number(token):
        hour, minute, looks_like_time = int(token), 0, False
        if _at(tokens, end) == "h":  # "9h", "9h30"
            looks_like_time, end = True, end + 1
            if _is_small_number(_at(tokens, end)):
                minute, end = int(tokens[end]), end + 1
        else:
            minute, used = _read_minutes_words(tokens, end)
            end += used
    else:
        return None
    meridiem, used = _read_meridiem(tokens, end)
    end += used
    return _Clock(hour, minute, meridiem, end - index, looks_like_time or meridiem is not None)


def _relative_day(tokens: Sequence[str], index: int, today: date) -> _Match | None:
    """oggi/today, domani/tomorrow, dopodomani/day after tomorrow, stasera/tonight..."""
    found = _RELATIVE_DAYS.find(tokens, index)
    if found is None:
        return None
    length, (offset, part) = found
    return _Match(length, day=today + timedelta(days=offset), part=part)


def _weekday(tokens: Sequence[str], index: int, today: date) -> _Match | None:
    """A weekday name: its next occurrence strictly after today. Followed by a day
    number ("venerdì 11"), the number is the day of the month and wins."""
    weekday = _WEEKDAYS.get(tokens[index])
    if weekday is None:
        return None
    if _is_day_number(tokens, index + 1) and _at(tokens, index + 2) not in _MONTHS_AND_SUFFIXES:
        return _Match(2, day=_day_of_month(int(tokens[index + 1]), today), calendar_day=True)
    offset = (weekday - today.weekday()) % 7 or 7
    return _Match(1, day=today + timedelta(days=offset))


def _part_of_day(tokens: Sequence[str], index: int, today: date) -> _Match | None:
    """mattina/morning, pomeriggio/afternoon, sera/evening."""
    part = _PARTS.get(tokens[index])
    return None if part is None else _Match(1, part=part)


def _named_time(tokens: Sequence[str], index: int, today: date) -> _Match | None:
    """mezzogiorno/noon, mezzanotte/midnight."""
    at = _NAMED_TIMES.get(tokens[index])
    return None if at is None else _Match(1, at=at)


def _triggered_clock(tokens: Sequence[str], index: int, today: date) -> _Match | None:
    """A number after "alle"/"ore"/"h"/"at"/"le" is always a time ("alle 15", "ore 9.30")."""
    if _at(tokens, index - 1) not in _TIME_TRIGGERS:
        return None
    clock = _read_clock(tokens, index)
    return None if clock is None else clock.to_match()


def _date_parts(parts: Sequence[str]) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) from "27/11", "27/11/26", "2026-11-27" pieces."""
    if len(parts) == 3 and len(parts[0]) == 4 and all(len(p) <= 2 for p in parts[1:]):
        return int(parts[0]), int(parts[1]), int(parts[2])  # ISO year-month-day
    if len(parts) not in (2, 3) or any(len(p) > 2 for p in parts[:2]):
        return None
    year = None
    if len(parts) == 3:
        if len(parts[2]) not in (2, 4):
            return None
        year = int(parts[2]) + (2000 if len(parts[2]) == 2 else 0)
    return year, int(parts[1]), int(parts[0])


def _dotted_pair_is_date(tokens: Sequence[str], index: int, parts: Sequence[str]) -> bool:
    """'27.11' is a date, '15.30' and '3.30pm' are times."""
    if _read_meridiem(tokens, index + 1)[0] is not None:
        return False
    return len(parts[1]) <= 2 and 1 <= int(parts[1]) <= 12


def _numeric_date(tokens: Sequence[str], index: int, today: date) -> _Match | None:
    """27/11, 27-11, 27.11, 27/11/2026, 27/11/26, 2026-11-27."""
    token = tokens[index]
    if ":" in token or not _DATE_SEPARATORS_RE.search(token):
        return None
    parts = _DATE_SEPARATORS_RE.split(token)
    if "." in token and len(parts) == 2 and not _dotted_pair_is_date(tokens, index, parts):
        return None
    ymd = _date_parts(parts)
    if ymd is None:
        return None
    year, month, day = ymd
    return _Match(1, day=_resolve_date(year, month, day, today), calendar_day=True)


def _read_year(tokens: Sequence[str], index: int) -> int | None:
    """A four-digit year at `index`, if any."""
    token = _at(tokens, index)
    return int(token) if is_number(token) and len(token) == 4 else None


def _is_day_number(tokens: Sequence[str], index: int) -> bool:
    """A one/two-digit number that is not the hour of "3pm" or "9h"."""
    if not _is_small_number(_at(tokens, index)):
        return False
    return _at(tokens, index + 1) != "h" and _read_meridiem(tokens, index + 1)[0] is None


def _skip(tokens: Sequence[str], index: int, words: frozenset[str]) -> int:
    """Index after the token at `index` if it is one of `words`, else `index`."""
    return index + 1 if _at(tokens, index) in words else index


def _day_then_month(tokens: Sequence[str], index: int, today: date) -> _Match | None:
    """Day then month: "27 novembre", "3 dicembre 2026", "3 dec", "the 3rd of december"."""
    if not _is_day_number(tokens, index):
        return None
    end = _skip(tokens, index + 1, _ORDINAL_SUFFIXES)
    end = _skip(tokens, end, frozenset({"of"}))
    month = _MONTHS.get(_at(tokens, end))
    if month is None:
        return None
    year = _read_year(tokens, end + 1)
    end += 1 if year is None else 2
    day = _resolve_date(year, month, int(tokens[index]), today)
    return _Match(end - index, day=day, calendar_day=True)


def _month_then_day(tokens: Sequence[str], index: int, today: date) -> _Match | None:
    """Month then day: "december 3", "dec 3rd 2026"."""
    month = _MONTHS.get(tokens[index])
    if month is None or not _is_day_number(tokens, index + 1):
        return None
    end = _skip(tokens, index + 2, _ORDINAL_SUFFIXES)
    year = _read_year(tokens, end)
    end += 0 if year is None else 1
    day = _resolve_date(year, month, int(tokens[index + 1]), today)
    return _Match(end - index, day=day, calendar_day=True)


def _loose_clock(tokens: Sequence[str], index: int, today: date) -> _Match | None:
    """A time without "alle"/"at": "15:30", "15.30", "3pm", "9h30"."""
    clock = _read_clock(tokens, index)
    if clock is None or not clock.looks_like_time:
        return None
    return clock.to_match()


def _bare_day(tokens: Sequence[str], index: int, today: date) -> _Match | None:
    """A bare day number: "il 5", "giorno 5", "on the 5th" (this month, or the next)."""
    if not _is_small_number(tokens[index]):
        return None
    has_suffix = _at(tokens, index + 1) in _ORDINAL_SUFFIXES
    if not has_suffix and _at(tokens, index - 1) not in _DAY_ARTICLES:
        return None
    day = _day_of_month(int(tokens[index]), today)
    return _Match(1 + has_suffix, day=day, calendar_day=True)


_Recogniser = Callable[[Sequence[str], int, date], _Match | None]

# Order matters: earlier recognisers win when several could start at a token.
_RECOGNISERS: tuple[_Recogniser, ...] = (
    _relative_day,
    _month_then_day,  # before _weekday: "mar 3" is 3 March, "mar" alone is Tuesday
    _weekday,
    _part_of_day,
    _named_time,
    _triggered_clock,  # before dates: "alle 12.11" is a time
    _numeric_date,
    _day_then_month,
    _loose_clock,
    _bare_day,
)


# --------------------------------------------------------------------------- assembly


@dataclass
class _Findings:
    """What has been recognised so far; the first of each kind wins."""

    day: date | None = None
    calendar_day: bool = False
    at: time | None = None
    ambiguous_hour: bool = False
    part: str | None = None

    def add(self, match: _Match) -> None:
        """Merge one match into the findings."""
        upgrade = match.calendar_day and not self.calendar_day
        if match.day is not None and (self.day is None or upgrade):
            self.day, self.calendar_day = match.day, match.calendar_day
        if match.at is not None and self.at is None:
            self.at, self.ambiguous_hour = match.at, match.ambiguous_hour
        if match.part is not None and self.part is None:
            self.part = match.part

    def result(self) -> When | None:
        """The final When, or None when nothing was found."""
        if self.day is None and self.at is None and self.part is None:
            return None
        at = self.at
        if at is not None and self.ambiguous_hour and self.part in ("afternoon", "evening"):
            at = at.replace(hour=at.hour + 12)  # "alle 9 di sera" -> 21:00
        return When(day=self.day, at=at, part_of_day=self.part)


def _first_match(tokens: Sequence[str], index: int, today: date) -> _Match | None:
    """The first recogniser's match starting at `index`, if any."""
    for recognise in _RECOGNISERS:
        match = recognise(tokens, index, today)
        if match is not None:
            return match
    return None


def parse_when(text: str, today: date) -> When | None:
    """Return what the text says, None when it says no date or time at all.

    Raise DateProblem("impossible") for 30/02, 31/04, 25:00, 9:75... and
    DateProblem("past") for an explicit date before `today`.
    """
    tokens = _tokenise(text)
    findings = _Findings()
    index = 0
    while index < len(tokens):
        match = _first_match(tokens, index, today)
        if match is None:
            index += 1
        else:
            findings.add(match)
            index += match.length
    return findings.result()
