"""Text that comes from outside (typed text, button payloads, callback data, platform ids),
made safe before anything reads it or stores it.

- Control characters go: NUL is refused by PostgreSQL in any text value, a lone surrogate
  cannot be encoded for either database, and neither means anything in a chat.
- A number is ASCII digits only. `str.isdigit()` (and `isdecimal()`) also say yes to
  '፩' (U+1369), '᧚' or '²', on which `int()` raises or which no one means as a number."""

import unicodedata

DIGITS = frozenset("0123456789")


def is_number(text: str) -> bool:
    """True for a non-empty run of the digits 0-9 and nothing else."""
    return bool(text) and all(ch in DIGITS for ch in text)


def as_number(text: str, max_digits: int = 18) -> int | None:
    """The number `text` writes with 0-9 only, or None (also for more than `max_digits`
    digits: `int()` refuses over 4,300 of them, and no answer of ours needs that many)."""
    return int(text) if is_number(text) and len(text) <= max_digits else None


def without_controls(text: str, keep: str = "") -> str:
    """`text` with every control, format, surrogate and unassigned character removed,
    except those in `keep` (e.g. line breaks in typed text)."""
    return "".join(ch for ch in text if ch in keep or unicodedata.category(ch)[0] != "C")


def clean_text(text: str) -> str:
    """Typed text: no control characters (line breaks and tabs stay), no surrounding space."""
    return without_controls(text, keep="\n\t").strip()


def clean_id(value: str | None) -> str | None:
    """A payload or an id: no control characters, no surrounding space; None stays None."""
    return None if value is None else without_controls(value).strip()
