"""Dates, times and euro amounts the way each language writes them (Babel)."""

from datetime import date, datetime, time

from babel.dates import format_date, format_time
from babel.numbers import format_currency

from models.calendar import local

LOCALES = {"it": "it_IT", "en": "en_GB"}


def money(cents: int, language: str) -> str:
    return format_currency(cents / 100, "EUR", locale=LOCALES.get(language, "it_IT"))


def day(value: date, language: str) -> str:
    """'giovedì 26 novembre' / 'Thursday 26 November'."""
    return format_date(value, "EEEE d MMMM", locale=LOCALES.get(language, "it_IT"))


def short_day(value: date, language: str) -> str:
    return format_date(value, "EEE d MMM", locale=LOCALES.get(language, "it_IT"))


def clock(value: time, language: str) -> str:
    return format_time(value, "HH:mm", locale=LOCALES.get(language, "it_IT"))


def when(moment: datetime, language: str) -> str:
    """A stored UTC moment, shown in Europe/Rome."""
    there = local(moment)
    return f"{day(there.date(), language)}, {clock(there.time(), language)}"
