"""The catalogue's rules, one place for them: the catalogue file (`intempo catalog load`)
and the console's forms check the same things with these functions. Each problem names
the field it is about and a message key (`rules.*` in the message catalogue), so a form
shows the reason next to the field and the command line prints it after the entry."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from pydantic import BaseModel, ValidationError

from models.base import Category

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
ATECO = re.compile(r"^\d{2}(\.\d{1,2}){0,2}$")
HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
WEEKDAYS = {"lun": 1, "mar": 2, "mer": 3, "gio": 4, "ven": 5, "sab": 6, "dom": 7}
DURATION = (15, 12 * 60)
CAPACITY = (1, 1000)
ESCALATION = (5, 24 * 60)
LIMITS = {"code": 60, "name": 200, "name_it": 120, "name_en": 120, "description_it": 300,
          "description_en": 300}


@dataclass(frozen=True)
class Problem:
    """Why one field is refused: `key` is a `rules.*` message, `params` fill it in
    (a param ending in `_cents` is an amount of money)."""

    field: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)


class Invalid(ValueError):
    """Values refused by the rules; nothing was changed."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.field}: {p.key}" for p in problems))
        self.problems = problems

    def by_field(self) -> dict[str, list[Problem]]:
        fields: dict[str, list[Problem]] = {}
        for problem in self.problems:
            fields.setdefault(problem.field, []).append(problem)
        return fields


def parse_hours(hours: str) -> tuple[time, time] | None:
    """'08:00-12:30' → (08:00, 12:30), or None when it is not two valid times."""
    match = HOURS.match(hours.strip())
    if not match:
        return None
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        return None
    return time(h1, m1), time(h2, m2)


def minutes_of(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _text(problems: list[Problem], name: str, value: str | None, *, required: bool = True,
          limit: int | None = None) -> None:
    value = (value or "").strip()
    if required and not value:
        problems.append(Problem(name, "rules.required"))
    limit = limit or LIMITS.get(name)
    if limit and len(value) > limit:
        problems.append(Problem(name, "rules.too_long", {"limit": limit}))


def _between(problems: list[Problem], name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        problems.append(Problem(name, "rules.between", {"low": low, "high": high}))


def code_problems(code: str, taken: Iterable[str] = ()) -> list[Problem]:
    """A code: lower-case letters, digits and dashes, not already used."""
    if not SLUG.match(code or "") or len(code) > LIMITS["code"]:
        return [Problem("code", "rules.code_format")]
    if code in set(taken):
        return [Problem("code", "rules.duplicate_code", {"code": code})]
    return []


def service_problems(entry, taken_codes: Iterable[str] = ()) -> list[Problem]:
    """A service: code, names, category, typical duration and a list price above zero."""
    problems = code_problems(entry.code, taken_codes)
    for name in ("name_it", "name_en"):
        _text(problems, name, getattr(entry, name))
    for name in ("description_it", "description_en"):
        _text(problems, name, getattr(entry, name), required=False)
    if entry.category not in set(Category):
        problems.append(Problem("category", "rules.unknown_category"))
    _between(problems, "duration_minutes", entry.duration_minutes, *DURATION)
    if entry.price_cents <= 0:
        problems.append(Problem("price_cents", "rules.price_zero"))
    return problems


def organisation_problems(entry, taken_codes: Iterable[str] = ()) -> list[Problem]:
    problems = code_problems(entry.code, taken_codes)
    _text(problems, "name", entry.name)
    if not entry.roles:
        problems.append(Problem("roles", "rules.roles_required"))
    if entry.ateco and not ATECO.match(entry.ateco):
        problems.append(Problem("ateco", "rules.ateco_format"))
    _between(problems, "escalation_minutes", entry.escalation_minutes, *ESCALATION)
    return problems


def offering_problems(entry, *, providers: Iterable[str], durations: Mapping[str, int],
                      places: Iterable[str], taken: Iterable[tuple[str, str]] = ()
                      ) -> list[Problem]:
    """An offering: a provider and a service that exist, known municipalities, at least one
    weekday, hours that end after they start and hold the service, capacity of 1 or more.
    `durations` maps each service code to its typical duration; `taken` holds the
    (provider, service) pairs already offered elsewhere."""
    problems = []
    if entry.provider not in set(providers):
        problems.append(Problem("provider", "rules.not_a_provider"))
    if entry.service not in durations:
        problems.append(Problem("service", "rules.unknown_service"))
    elif (entry.provider, entry.service) in set(taken):
        problems.append(Problem("service", "rules.offered_twice"))
    places = set(places)
    unknown = [m for m in entry.municipalities if m != "*" and m not in places]
    if not entry.municipalities:
        problems.append(Problem("municipalities", "rules.municipalities_required"))
    elif unknown:
        problems.append(Problem("municipalities", "rules.unknown_municipality",
                                {"names": ", ".join(unknown)}))
    wrong_days = [d for d in entry.weekdays if d not in WEEKDAYS]
    if not entry.weekdays or wrong_days:
        problems.append(Problem("weekdays", "rules.weekdays_required"))
    window = parse_hours(entry.hours)
    if window is None:
        problems.append(Problem("hours", "rules.hours_format"))
    elif window[0] >= window[1]:
        problems.append(Problem("hours", "rules.hours_order"))
    elif entry.service in durations \
            and minutes_of(window[1]) - minutes_of(window[0]) < durations[entry.service]:
        problems.append(Problem("hours", "rules.hours_too_short",
                                {"minutes": durations[entry.service]}))
    if entry.daily_capacity < CAPACITY[0]:
        problems.append(Problem("daily_capacity", "rules.capacity_zero"))
    elif entry.daily_capacity > CAPACITY[1]:
        problems.append(Problem("daily_capacity", "rules.between",
                                {"low": CAPACITY[0], "high": CAPACITY[1]}))
    return problems


def fund_problems(entry, used_cents: int = 0) -> list[Problem]:
    """The fund: a name, amounts not negative, a total not below what is already committed
    and reserved (`used_cents`), each category's share between 0 and 100 %."""
    problems = code_problems(entry.code)
    _text(problems, "name", entry.name)
    if entry.total_cents < 0:
        problems.append(Problem("total_cents", "rules.not_negative"))
    elif entry.total_cents < used_cents:
        problems.append(Problem("total_cents", "rules.fund_below_used",
                                {"used_cents": used_cents}))
    if entry.cap_per_worker_year_cents < 0:
        problems.append(Problem("cap_per_worker_year_cents", "rules.not_negative"))
    for category, share in entry.share_percent.items():
        if category not in set(Category):
            problems.append(Problem(f"share_percent.{category}", "rules.unknown_category"))
        elif not 0 <= share <= 100:
            problems.append(Problem(f"share_percent.{category}", "rules.share_range"))
    return problems


def duplicates(values: list[str]) -> list[str]:
    return sorted({v for v in values if values.count(v) > 1})


TYPE_KEYS = {"missing": "rules.required", "extra_forbidden": "rules.unknown_field",
             "int_parsing": "rules.whole_number", "int_type": "rules.whole_number",
             "int_from_float": "rules.whole_number", "bool_type": "rules.yes_or_no",
             "bool_parsing": "rules.yes_or_no", "enum": "rules.one_of",
             "literal_error": "rules.one_of"}


def type_problems(error: ValidationError) -> list[tuple[tuple, Problem]]:
    """Pydantic's own refusals (a word where a number goes, a field that does not exist)
    as problems, each with where it is (pydantic's location)."""
    found = []
    for problem in error.errors():
        location = tuple(problem["loc"])
        key = TYPE_KEYS.get(problem["type"], "rules.wrong_value")
        params = {"choices": problem.get("ctx", {}).get("expected", "")} \
            if key == "rules.one_of" else {}
        found.append((location, Problem(str(location[-1]) if location else "-", key, params)))
    return found


def parse(model: type[BaseModel], raw: dict[str, Any]) -> tuple[BaseModel | None, list[Problem]]:
    """Values typed into a form → an entry of the catalogue file's kind, or the problems
    with the types (checked before the rules)."""
    try:
        return model.model_validate(raw), []
    except ValidationError as error:
        return None, [problem for _, problem in type_problems(error)]
