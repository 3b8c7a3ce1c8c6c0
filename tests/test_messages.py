"""The message catalogue: both languages complete and consistent, every key the code
uses present, and Babel's formats for each language."""

import re
import string
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from handlers import formatting, messages
from handlers.matching import match_choice
from handlers.untrusted import clean_text

ROOT = Path(__file__).resolve().parent.parent
KEY_IN_CODE = re.compile(
    r"""(?:\bt|\bsay|\btext)\(\s*(?:[a-z_.]+,\s*)?["']([a-z_]+\.[a-z_.]+)["']""")


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_italian_and_english_have_the_same_keys_and_fields():
    italian, english = messages.catalogue("it"), messages.catalogue("en")
    assert set(italian) == set(english)
    for key in italian:
        assert fields(italian[key]) == fields(english[key]), key


def test_every_key_the_code_names_exists():
    used = set()
    for folder in ("handlers", "bot", "scheduler", "models"):
        for path in (ROOT / folder).rglob("*.py"):
            used |= set(KEY_IN_CODE.findall(path.read_text(encoding="utf-8")))
    assert used, "the scan found no keys: the pattern is broken"
    missing = used - set(messages.catalogue("it"))
    assert not missing


def test_unknown_language_falls_back_to_italian():
    assert messages.text("de", "yes") == "sì"


@pytest.mark.parametrize(("language", "money", "day"), [
    ("it", "1.234,50\xa0€", "venerdì 27 novembre"),
    ("en", "€1,234.50", "Friday 27 November"),
])
def test_babel_formats(language, money, day):
    assert formatting.money(123450, language) == money
    assert formatting.day(date(2026, 11, 27), language) == day
    # stored in UTC, shown in Europe/Rome: 14:00 UTC is 15:00 in winter, 16:00 in summer
    assert formatting.when(datetime(2026, 11, 27, 14, tzinfo=UTC), language).endswith("15:00")
    assert formatting.when(datetime(2026, 7, 3, 14, tzinfo=UTC), language).endswith("16:00")


@pytest.mark.parametrize(("typed", "expected"), [
    ("2", [1]), ("nuova", [0]), ("NUOVA RICHIESTA", [0]), ("mie", [1]), ("nr", [0]),
    ("Lìngua", [2]), ("9", []), ("xyz", []), ("", []), ("richiest", [0, 1]),
])
def test_typed_answers_select_choices(typed, expected):
    labels = ["➕ Nuova richiesta", "📋 Le mie richieste", "🌐 Lingua", "❓ Aiuto"]
    assert match_choice(typed, labels) == expected


def test_control_characters_are_dropped():
    assert clean_text(" ciao\x00\x07 mondo\n ") == "ciao mondo"
