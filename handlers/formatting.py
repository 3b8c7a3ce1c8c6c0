"""Dates, times and euro amounts the way each language writes them (Babel)."""

from datetime import date, datetime, time

from babel.dates import format_date, format_time
from babel.numbers import format_currency

from models.calendar import local

LOCALES = {"it": "it_IT", "en": "en_GB"}


def money(cents: int, language: str) -> str:
    return format_currency(cents / 100, "EUR", locale=LOCALES.get(language, "it_IT"))


def day(value: date, language: str) -> str:
    """'giovedì 26 novembre' / 'Thursday 26 November'; 'martedì 1° dicembre'."""
    return date_as(value, "EEEE d MMMM", language)


def date_as(value: date, pattern: str, language: str) -> str:
    """A Babel date pattern, with Italian's '1°' for the first of the month."""
    if language == "it" and value.day == 1 and "d" in pattern:
        pattern = pattern.replace("d", "d'°'", 1)
    return format_date(value, pattern, locale=LOCALES.get(language, "it_IT"))


def short_day(value: date, language: str) -> str:
    return format_date(value, "EEE d MMM", locale=LOCALES.get(language, "it_IT"))


def clock(value: time, language: str) -> str:
    return format_time(value, "HH:mm", locale=LOCALES.get(language, "it_IT"))


def duration(minutes: int, language: str) -> str:
    """'45 min', '1 ora', '3 ore', '1 ora e 30 min' / '1 hour 30 min': one way everywhere
    (requests, jobs, the digest, the figures)."""
    from handlers.messages import text  # the catalogue (imports nothing of ours)

    hours, rest = divmod(int(minutes), 60)
    if not hours:
        return text(language, "duration.minutes", minutes=rest)
    whole = text(language, "duration.one_hour" if hours == 1 else "duration.hours",
                 hours=hours)
    return whole if not rest else text(language, "duration.hours_minutes", hours=whole,
                                       minutes=rest)


def when(moment: datetime, language: str) -> str:
    """A stored UTC moment, shown in Europe/Rome."""
    there = local(moment)
    return f"{day(there.date(), language)}, {clock(there.time(), language)}"
