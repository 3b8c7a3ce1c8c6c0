"""Forms of the management pages: fields described once (what to show, how to read the
typed value back), refusals shown next to their field. Reading a form gives the values
the catalogue file would hold (euro typed as 18,50 become cents), so the same rules
(models/catalog_rules.py) judge a form and a file."""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from handlers.rules_text import reason
from models.catalog_rules import Problem


@dataclass
class FormField:
    """One field. `kind`: text, textarea, number, money (euro, stored in cents), select,
    multi (several of `options`), check (yes/no), hours ('08:00-12:00' as two times),
    date."""

    name: str
    label_key: str
    kind: str = "text"
    value: Any = None
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    errors: list[str] = field(default_factory=list)
    required: bool = False
    hint_key: str | None = None

    @property
    def shown(self) -> Any:
        """The value as the input shows it."""
        if self.kind == "money" and isinstance(self.value, int):
            return f"{Decimal(self.value) / 100:.2f}".replace(".", ",")
        if self.kind == "hours" and isinstance(self.value, str) and "-" in self.value:
            return self.value.split("-", 1)
        if self.kind == "hours":
            return ["", ""]
        if self.kind == "multi":
            return {str(v) for v in (self.value or [])}
        return "" if self.value is None else self.value


def cents(text: str) -> int | None:
    """'18,50' / '18.50' / '1.234,50' / '€ 18' → cents; None when it is not an amount."""
    cleaned = text.replace("€", "").replace(" ", "").strip()
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return None
    if amount != amount.quantize(Decimal("0.01")) or not amount.is_finite():
        return None
    return int(amount * 100)


async def read(visit, fields: list[FormField]) -> tuple[dict[str, Any], list[Problem]]:
    """The posted values, typed as the catalogue file types them; problems of the kind
    'not an amount' / 'not a number' come back as problems of their field."""
    form = await visit.request.form()
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for spec in fields:
        raw = form.get(spec.name, "")
        if spec.kind == "multi":
            values[spec.name] = form.getlist(spec.name)
        elif spec.kind == "check":
            values[spec.name] = raw in ("on", "1", "true")
        elif spec.kind == "hours":
            values[spec.name] = f"{form.get(spec.name + '_from', '')}-" \
                                f"{form.get(spec.name + '_to', '')}"
        elif spec.kind == "money":
            amount = cents(str(raw))
            if amount is None:
                problems.append(Problem(spec.name, "rules.amount_format"))
            values[spec.name] = amount if amount is not None else 0
        elif spec.kind == "number":
            text = str(raw).strip()
            if not text.lstrip("-").isdigit():
                problems.append(Problem(spec.name, "rules.whole_number"))
            values[spec.name] = int(text) if text.lstrip("-").isdigit() else 0
        else:
            values[spec.name] = str(raw).strip()
    return values, problems


def fill(fields: list[FormField], values: dict[str, Any], problems: list[Problem],
         language: str) -> list[FormField]:
    """The fields again with what was typed and each refusal next to its field."""
    by_name = {spec.name: spec for spec in fields}
    for spec in fields:
        if spec.name in values:
            spec.value = values[spec.name]
    for problem in problems:
        target = by_name.get(problem.field) or by_name.get(problem.field.split(".")[0]) \
            or fields[0]
        target.errors.append(reason(problem, language))
    return fields
