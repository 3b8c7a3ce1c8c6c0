"""The coordinator's figures as text and files: the daily digest, the figures of a period
("/stats settimana"), the indicators export for the region (CSV) and the reading of the
period the coordinator typed. Pure functions: figures in, text or bytes out; every
sentence from the catalogue, money and dates the way each language writes them."""

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from babel.numbers import format_decimal, format_percent

from handlers import formatting
from handlers.messages import text
from models.figures import (
    CATEGORIES,
    GENDERS,
    RUNWAY_HORIZON_YEARS,
    STATUSES,
    Delivery,
    DigestFigures,
    FundFigures,
    OrgLine,
    PeriodFigures,
    Runway,
    Satisfaction,
    Uptake,
)

MAX_PERIOD_DAYS = 366
TOP_MUNICIPALITIES = 5
CSV_LANGUAGE = "it"  # the region reads Italian
_EMOJI = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]")


# --- small formatters ---------------------------------------------------------------------

def plain_label(label: str) -> str:
    """A catalogue label without its emoji (for charts and spreadsheets)."""
    return _EMOJI.sub("", label).strip()


def category_name(category: str, language: str, *, emoji: bool = True) -> str:
    label = text(language, f"category.{category}")
    return label if emoji else plain_label(label)


def duration(minutes: int, language: str) -> str:
    """'3 ore', '1 ora e 5 min', '45 min' (the same as everywhere else)."""
    return formatting.duration(minutes, language)


def wait(delta: timedelta, language: str) -> str:
    """A waiting time: '2 g 3 h' past a day, else hours and minutes."""
    minutes = int(delta.total_seconds() // 60)
    if minutes >= 24 * 60:
        days, rest = divmod(minutes, 24 * 60)
        return text(language, "report.days_hours", days=days, hours=rest // 60)
    return duration(minutes, language)


def percent(share: float, language: str) -> str:
    return format_percent(share, "#,##0.#%", locale=formatting.LOCALES.get(language, "it_IT"))


def decimal(value: float, language: str) -> str:
    return format_decimal(value, "0.0", locale=formatting.LOCALES.get(language, "it_IT"))


def long_date(value: date, language: str) -> str:
    """'3 marzo 2027' / '3 March 2027'."""
    return formatting.date_as(value, "d MMMM y", language)


# --- the daily digest ---------------------------------------------------------------------

def digest_text(fig: DigestFigures, language: str) -> str:
    """The evening digest: no names, addresses or notes, only counts, hours and money."""
    sections = [
        text(language, "report.digest_title", day=formatting.day(fig.day, language)),
        _received_section(fig.received, language, "report.received_today",
                          "report.no_requests_today"),
        _waiting_section(fig, language),
        _done_line(fig.jobs_done, fig.delivered_minutes, language, "report.done_today",
                   "report.no_jobs_today"),
        _satisfaction_line(fig.satisfaction, language, "report.satisfaction_recent",
                           "report.satisfaction_recent_none"),
        _fund_section(fig.fund, fig.runway, fig.day, language),
        _organisations_today(fig.cooperatives, fig.employers, language),
        "\n".join([text(language, "report.unreachable", count=fig.unreachable),
                   text(language, "report.held_notices", count=fig.held_notices)]),
    ]
    return "\n\n".join(section for section in sections if section)


def digest_message(fig: DigestFigures, language: str, *, late_as_of: datetime | None = None,
                   missed: tuple[date, ...] = ()) -> str:
    """The digest as a coordinator gets it: late (queued after its time, the process was
    down), it first says as of when its figures are and which other days were missed."""
    body = digest_text(fig, language)
    if late_as_of is None:
        return body
    return f"{late_note(late_as_of, missed, language)}\n\n{body}"


def late_note(as_of: datetime, missed: tuple[date, ...], language: str) -> str:
    note = text(language, "digest.late", when=formatting.when(as_of, language))
    if missed:
        days = ", ".join(formatting.day(d, language) for d in missed)
        note += " " + text(language, "digest.missed_days", days=days,
                           first=f"{missed[0]:%d/%m}", last=f"{missed[-1]:%d/%m}")
    return note


def _received_section(received: dict[str, dict[str, int]], language: str, title_key: str,
                      empty_key: str) -> str:
    total = sum(sum(row.values()) for row in received.values())
    if not total:
        return text(language, empty_key)
    lines = [text(language, title_key, count=total)]
    for category in CATEGORIES:
        by_status = {status: received.get(status, {}).get(category, 0) for status in STATUSES}
        count = sum(by_status.values())
        if count:
            statuses = ", ".join(text(language, f"report.status.{status}", count=n)
                                 for status, n in by_status.items() if n)
            lines.append(text(language, "report.category_line",
                              category=category_name(category, language), count=count,
                              statuses=statuses))
    return "\n".join(lines)


def _waiting_section(fig: DigestFigures, language: str) -> str:
    waiting = fig.waiting
    if waiting.pending:
        lines = [text(language, "report.waiting", count=waiting.pending,
                      wait=wait(waiting.longest_wait or timedelta(), language))]
    else:
        lines = [text(language, "report.waiting_none")]
    if waiting.unserved:
        lines.append(text(language, "report.unserved", count=waiting.unserved))
    return "\n".join(lines)


def _done_line(jobs: int, minutes: int, language: str, key: str, empty_key: str) -> str:
    if not jobs:
        return text(language, empty_key)
    return text(language, key, count=jobs, hours=duration(minutes, language))


def _satisfaction_line(satisfaction: Satisfaction, language: str, key: str,
                       empty_key: str) -> str:
    if not satisfaction.sent:
        return text(language, empty_key)
    if not satisfaction.answered or satisfaction.average is None:
        return text(language, "report.satisfaction_no_answers", sent=satisfaction.sent)
    line = text(language, key, average=decimal(satisfaction.average, language),
                answered=satisfaction.answered, sent=satisfaction.sent,
                rate=percent(satisfaction.response_rate, language))
    if satisfaction.low_scores:
        line += " " + text(language, "report.low_scores", count=satisfaction.low_scores)
    if satisfaction.comments:
        line += " " + text(language, "report.comments", count=satisfaction.comments)
    return line


def _fund_balances(fund: FundFigures, language: str, key: str = "report.fund") -> str:
    return text(language, key, name=fund.name,
                committed=formatting.money(fund.committed_cents, language),
                reserved=formatting.money(fund.reserved_cents, language),
                remaining=formatting.money(fund.remaining_cents, language),
                total=formatting.money(fund.total_cents, language))


def _fund_section(fund: FundFigures | None, runway: Runway | None, day: date,
                  language: str) -> str:
    if fund is None:
        return text(language, "report.no_fund")
    return "\n".join([_fund_balances(fund, language), _runway_line(fund, runway, day, language)])


def _runway_line(fund: FundFigures, runway: Runway | None, day: date, language: str) -> str:
    """When the fund would run out: the date within the digest's year; past it, that the
    fund outlasts the year, and the date; past the horizon, only that it lasts longer."""
    if fund.remaining_cents <= 0:
        return text(language, "report.fund_exhausted")
    if runway is None or not (runway.runs_out_on or runway.beyond_horizon):
        return text(language, "report.runway_none")
    pace = {"pace": formatting.money(runway.daily_cents, language),
            "since": long_date(runway.since, language)}
    if runway.beyond_horizon:
        return text(language, "report.runway_far", years=RUNWAY_HORIZON_YEARS, **pace)
    runs_out_on = long_date(runway.runs_out_on, language)
    if runway.runs_out_on.year > day.year:
        return text(language, "report.runway_beyond_year", year=day.year, date=runs_out_on,
                    **pace)
    return text(language, "report.runway", date=runs_out_on, **pace)


def _organisations_today(cooperatives: list[OrgLine], employers: list[OrgLine],
                         language: str) -> str:
    if not cooperatives and not employers:
        return text(language, "report.no_activity_today")
    blocks = []
    for title_key, lines in (("report.by_cooperative_today", cooperatives),
                             ("report.by_employer_today", employers)):
        if lines:
            blocks.append("\n".join([text(language, title_key)] + [
                text(language, "report.org_line", name=line.name, received=line.received,
                     done=line.done) for line in lines]))
    return "\n\n".join(blocks)


# --- figures for a period -----------------------------------------------------------------

def period_title(first: date, last: date, language: str) -> str:
    if first == last:
        return text(language, "report.stats_title_day", day=long_date(first, language))
    return text(language, "report.stats_title", first=long_date(first, language),
                last=long_date(last, language))


def stats_text(fig: PeriodFigures, first: date, last: date, language: str) -> str:
    """The figures of a period, for the chat (the full detail is in the CSV)."""
    sections = [
        period_title(first, last, language),
        _received_section(fig.received, language, "report.stats_received",
                          "report.stats_no_requests"),
        _municipalities_line(fig.by_municipality, language),
        _done_line(fig.jobs_done, fig.delivered_minutes, language, "report.stats_done",
                   "report.stats_no_jobs"),
        text(language, "report.stats_saved", hours=duration(fig.saved_minutes, language))
        if fig.saved_minutes else "",
        _uptake_section(fig, language),
        _care_line(fig, language),
        _satisfaction_line(fig.satisfaction, language, "report.stats_satisfaction",
                           "report.stats_satisfaction_none"),
        _period_fund(fig.fund, language),
        _organisations_period(fig, language),
    ]
    return "\n\n".join(section for section in sections if section)


def _municipalities_line(by_municipality: dict[str, dict[str, int]], language: str) -> str:
    busiest = list(by_municipality.items())[:TOP_MUNICIPALITIES]
    if not busiest:
        return ""
    places = ", ".join(f"{name} {sum(row.values())}" for name, row in busiest)
    return text(language, "report.stats_municipalities", places=places)


def _uptake_section(fig: PeriodFigures, language: str) -> str:
    if not fig.enrolled:
        return text(language, "report.stats_nobody_enrolled")
    lines = [text(language, "report.stats_uptake", users=fig.users, enrolled=fig.enrolled,
                  rate=percent(fig.users / fig.enrolled, language))]
    lines.append(text(language, "report.stats_uptake_by_employer"))
    lines += [_uptake_line(u.name, u, language) for u in fig.uptake_by_employer if u.enrolled]
    lines.append(text(language, "report.stats_uptake_by_gender"))
    lines += [_uptake_line(gender_name(u.key, language), u, language)
              for u in fig.uptake_by_gender if u.enrolled]
    return "\n".join(lines)


def _uptake_line(name: str, uptake: Uptake, language: str) -> str:
    return text(language, "report.uptake_line", name=name, users=uptake.users,
                enrolled=uptake.enrolled)


def gender_name(gender: str, language: str) -> str:
    return text(language, "report.gender_unknown" if gender == "none" else f"gender.{gender}")


def _care_line(fig: PeriodFigures, language: str) -> str:
    if fig.care.men_share is None:
        return text(language, "report.stats_care_none")
    return text(language, "report.stats_care", men=fig.care.requests.get("m", 0),
                total=fig.care.total_requests, rate=percent(fig.care.men_share, language))


def _period_fund(fund: FundFigures | None, language: str) -> str:
    if fund is None:
        return text(language, "report.no_fund")
    return "\n".join([
        text(language, "report.stats_fund_period",
             amount=formatting.money(fund.committed_in_period_cents, language)),
        _fund_balances(fund, language, "report.stats_fund_now")])


def _organisations_period(fig: PeriodFigures, language: str) -> str:
    blocks = []
    for title_key, lines in (("report.by_cooperative_period", fig.cooperatives),
                             ("report.by_employer_period", fig.employers)):
        active = [line for line in lines if line.active]
        if active:
            blocks.append("\n".join([text(language, title_key)] + [
                text(language, "report.org_line_hours", name=line.name,
                     received=line.received, done=line.done,
                     hours=duration(line.minutes, language)) for line in active]))
    return "\n\n".join(blocks)


# --- the indicators export ----------------------------------------------------------------

def indicators_csv(fig: PeriodFigures, first: date, last: date) -> bytes:
    """The indicators for the region: UTF-8 with BOM, ';' between fields (what an Italian
    spreadsheet opens directly), long format `sezione;voce;dettaglio;valore`, decimal
    comma, euro without symbol, hours in decimal. Rates are blank when undefined."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_t("report.csv.header.section"), _t("report.csv.header.item"),
                     _t("report.csv.header.detail"), _t("report.csv.header.value")])
    writer.writerows(_csv_rows(fig, first, last))
    return buffer.getvalue().encode("utf-8-sig")


def _t(key: str, **params) -> str:
    return text(CSV_LANGUAGE, key, **params)


def _number(value: float | None, decimals: int = 0) -> str:
    """12,50 (decimal comma, no thousands separator); blank for an undefined value."""
    if value is None:
        return ""
    return f"{value:.{decimals}f}".replace(".", ",")


def _hours(minutes: int) -> str:
    return _number(minutes / 60, 2)


def _euro(cents: int) -> str:
    return _number(cents / 100, 2)


def _share(value: float | None) -> str:
    return _number(None if value is None else value * 100, 1)


def _category(category: str) -> str:
    return category_name(category, CSV_LANGUAGE, emoji=False)


def _csv_rows(fig: PeriodFigures, first: date, last: date) -> Iterator[list[str]]:
    yield from _csv_period(first, last)
    yield from _csv_uptake(fig)
    yield from _csv_requests(fig)
    yield from _csv_organisations(fig)
    yield from _csv_delivery(fig)
    yield from _csv_satisfaction(fig.satisfaction)
    yield from _csv_fund(fig.fund)
    yield from _csv_care(fig)
    yield from _csv_notes()


def _csv_period(first: date, last: date) -> Iterator[list[str]]:
    section = _t("report.csv.section.period")
    yield [section, _t("report.csv.from"), "", first.strftime("%d/%m/%Y")]
    yield [section, _t("report.csv.to"), "", last.strftime("%d/%m/%Y")]


def _csv_uptake_lines(section: str, name: str, uptake: Uptake) -> Iterator[list[str]]:
    yield [section, name, _t("report.csv.enrolled"), _number(uptake.enrolled)]
    yield [section, name, _t("report.csv.users"), _number(uptake.users)]
    yield [section, name, _t("report.csv.uptake_share"), _share(uptake.share)]


def _csv_uptake(fig: PeriodFigures) -> Iterator[list[str]]:
    by_employer = _t("report.csv.section.uptake_employer")
    for uptake in fig.uptake_by_employer:
        yield from _csv_uptake_lines(by_employer, uptake.name, uptake)
    total = Uptake("total", _t("report.csv.total"), fig.enrolled, fig.users)
    yield from _csv_uptake_lines(by_employer, total.name, total)
    by_gender = _t("report.csv.section.uptake_gender")
    for uptake in fig.uptake_by_gender:
        yield from _csv_uptake_lines(by_gender, gender_name(uptake.key, CSV_LANGUAGE), uptake)


def _csv_requests(fig: PeriodFigures) -> Iterator[list[str]]:
    by_status = _t("report.csv.section.requests_status")
    for status in STATUSES:
        for category in CATEGORIES:
            yield [by_status, text(CSV_LANGUAGE, f"status.{status}"), _category(category),
                   _number(fig.received.get(status, {}).get(category, 0))]
    for category, count in fig.received_by_category.items():
        yield [by_status, _t("report.csv.total"), _category(category), _number(count)]
    yield [by_status, _t("report.csv.total"), _t("report.csv.all_categories"),
           _number(fig.total_received)]
    by_place = _t("report.csv.section.requests_municipality")
    for place, row in fig.by_municipality.items():
        for category in CATEGORIES:
            yield [by_place, place, _category(category), _number(row.get(category, 0))]


def _csv_org_lines(section: str, lines: list[OrgLine]) -> Iterator[list[str]]:
    for line in lines:
        yield [section, line.name, _t("report.csv.received"), _number(line.received)]
        yield [section, line.name, _t("report.csv.done"), _number(line.done)]
        yield [section, line.name, _t("report.csv.hours_delivered"), _hours(line.minutes)]


def _csv_organisations(fig: PeriodFigures) -> Iterator[list[str]]:
    yield from _csv_org_lines(_t("report.csv.section.employers"), fig.employers)
    yield from _csv_org_lines(_t("report.csv.section.cooperatives"), fig.cooperatives)


def _csv_delivery(fig: PeriodFigures) -> Iterator[list[str]]:
    done, saved = _t("report.csv.section.delivered"), _t("report.csv.section.time_saved")
    rows: list[tuple[str, Delivery]] = [(_category(c), d) for c, d in fig.delivered.items()]
    rows.append((_t("report.csv.total"),
                 Delivery(fig.jobs_done, fig.delivered_minutes, fig.saved_minutes)))
    for name, delivery in rows:
        yield [done, name, _t("report.csv.jobs_done"), _number(delivery.jobs)]
        yield [done, name, _t("report.csv.hours_delivered"), _hours(delivery.minutes)]
    for name, delivery in rows:
        yield [saved, name, _t("report.csv.hours"), _hours(delivery.saved_minutes)]


def _csv_satisfaction(satisfaction: Satisfaction) -> Iterator[list[str]]:
    section = _t("report.csv.section.satisfaction")
    yield [section, _t("report.csv.surveys_sent"), "", _number(satisfaction.sent)]
    yield [section, _t("report.csv.surveys_answered"), "", _number(satisfaction.answered)]
    yield [section, _t("report.csv.response_rate"), "", _share(satisfaction.response_rate)]
    yield [section, _t("report.csv.average_score"), "", _number(satisfaction.average, 2)]
    yield [section, _t("report.csv.low_scores"), "", _number(satisfaction.low_scores)]
    yield [section, _t("report.csv.comments"), "", _number(satisfaction.comments)]
    for comment in satisfaction.shared_comments:  # only those the worker agreed to share
        yield [section, _t("report.csv.shared_comment"), "", " ".join(comment.split())]


def _csv_fund(fund: FundFigures | None) -> Iterator[list[str]]:
    if fund is None:
        return
    section = _t("report.csv.section.fund")
    yield [section, _t("report.csv.fund_committed_period"), fund.name,
           _euro(fund.committed_in_period_cents)]
    yield [section, _t("report.csv.fund_reserved_now"), fund.name, _euro(fund.reserved_cents)]
    yield [section, _t("report.csv.fund_committed_total"), fund.name,
           _euro(fund.committed_cents)]
    yield [section, _t("report.csv.fund_remaining_now"), fund.name, _euro(fund.remaining_cents)]
    yield [section, _t("report.csv.fund_total"), fund.name, _euro(fund.total_cents)]


def _csv_care(fig: PeriodFigures) -> Iterator[list[str]]:
    section = _t("report.csv.section.care")
    for gender in GENDERS:
        yield [section, _t("report.csv.care_requests"), gender_name(gender, CSV_LANGUAGE),
               _number(fig.care.requests.get(gender, 0))]
    for gender in GENDERS:
        yield [section, _t("report.csv.care_workers"), gender_name(gender, CSV_LANGUAGE),
               _number(fig.care.workers.get(gender, 0))]
    yield [section, _t("report.csv.men_share"), "", _share(fig.care.men_share)]


def _csv_notes() -> Iterator[list[str]]:
    section = _t("report.csv.section.notes")
    for item in ("time_saved", "uptake", "hours_delivered", "received", "men_share"):
        yield [section, _t(f"report.csv.note.{item}.title"), "", _t(f"report.csv.note.{item}")]


# --- the period the coordinator asks for ----------------------------------------------------

_KEYWORDS = {
    "oggi": "today", "today": "today",
    "ieri": "yesterday", "yesterday": "yesterday",
    "settimana": "week", "week": "week", "questa settimana": "week", "this week": "week",
    "mese": "month", "month": "month", "questo mese": "month", "this month": "month",
    "anno": "year", "year": "year", "quest'anno": "year", "this year": "year",
}
_DATE = r"(\d{1,2})[/.](\d{1,2})(?:[/.](\d{4}|\d{2}))?"
_RANGE = re.compile(rf"^(?:dal |from )?{_DATE}\s*(?:[-–—]|\bal\b|\bto\b)\s*{_DATE}$")
_SINGLE = re.compile(rf"^{_DATE}$")


def parse_period(value: str, today: date) -> tuple[date, date] | None:
    """The local days first..last the coordinator means: "oggi", "ieri", "settimana"
    (Monday to today), "mese", "anno" (to today), their English twins, a range
    "01/11-30/11" or "1/11/2026-30/11/2026", or a single day "25/11". Without a year,
    a range starts in the current year (the previous one if it would start in the
    future) and ends in the following year if its end's month comes before its start's
    ("01/12-15/01"). None for anything else, a reversed range, or one longer than 366
    days."""
    words = " ".join(value.casefold().split())
    if words in _KEYWORDS:
        return _named_period(_KEYWORDS[words], today)
    if month := _month_period(words, today):
        return month
    if match := _RANGE.match(words):
        days = _range(match.groups(), today)
        if days and not any(match.groups()[i] for i in (2, 5)) and days[0].year != days[1].year \
                and (days[1] - days[0]).days > MAX_INFERRED_CROSSING_DAYS:
            return None  # "30/11-01/10": written backwards, not ten months across a year
    elif match := _SINGLE.match(words):
        days = _range(match.groups() * 2, today)
    else:
        return None
    if days is None or days[1] < days[0] or (days[1] - days[0]).days + 1 > MAX_PERIOD_DAYS:
        return None
    return days


MONTHS = {name: number for number, names in enumerate((
    (), ("gennaio", "january", "gen", "jan"), ("febbraio", "february", "feb"),
    ("marzo", "march", "mar"), ("aprile", "april", "apr"), ("maggio", "may", "mag"),
    ("giugno", "june", "giu", "jun"), ("luglio", "july", "lug", "jul"),
    ("agosto", "august", "ago", "aug"), ("settembre", "september", "set", "sep"),
    ("ottobre", "october", "ott", "oct"), ("novembre", "november", "nov"),
    ("dicembre", "december", "dic", "dec")), 0) for name in names}
_MONTH = re.compile(r"^(?:(?:il )?mese di |in )?([a-z]+)\.?(?: (\d{4}))?$")
MAX_INFERRED_CROSSING_DAYS = 92  # "01/12-15/01" crosses New Year; "30/11-01/10" is backwards


def _month_period(words: str, today: date) -> tuple[date, date] | None:
    """'novembre', 'novembre 2026', 'nov': the whole month (without a year, the latest
    one that has begun)."""
    match = _MONTH.match(words)
    if not match or match.group(1) not in MONTHS:
        return None
    month = MONTHS[match.group(1)]
    year = int(match.group(2)) if match.group(2) else (
        today.year if month <= today.month else today.year - 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, 1), following - timedelta(days=1)


def is_backwards(value: str, today: date) -> bool:
    """A range whose end comes before its start, as typed ("30/11-01/11")."""
    match = _RANGE.match(" ".join(value.casefold().split()))
    if not match:
        return False
    day1, month1, _, day2, month2, _ = match.groups()
    return (int(month2), int(day2)) < (int(month1), int(day1)) \
        and parse_period(value, today) is None


def _named_period(name: str, today: date) -> tuple[date, date]:
    if name == "yesterday":
        yesterday = today - timedelta(days=1)
        return yesterday, yesterday
    starts = {"today": today, "week": today - timedelta(days=today.weekday()),
              "month": today.replace(day=1), "year": today.replace(month=1, day=1)}
    return starts[name], today


def _year(text_year: str | None) -> int | None:
    if text_year is None:
        return None
    return int(text_year) + (2000 if len(text_year) == 2 else 0)


def _range(groups: tuple[str | None, ...], today: date) -> tuple[date, date] | None:
    """Two dates (day, month, year or None each). With no year at all, the first date's
    is inferred from today; a missing year is taken from the other date, a year apart
    when the range crosses New Year (its end's month before its start's)."""
    day1, month1, year1, day2, month2, year2 = groups
    first_year, last_year = _year(year1), _year(year2)
    apart = 1 if int(month2) < int(month1) else 0  # years between its ends
    if first_year is None and last_year is None:
        starts_later = (int(month1), int(day1)) > (today.month, today.day)
        first_year = today.year - 1 if starts_later else today.year
    if first_year is None:
        first_year = last_year - apart
    if last_year is None:
        last_year = first_year + apart
    try:
        return (date(first_year, int(month1), int(day1)), date(last_year, int(month2), int(day2)))
    except ValueError:
        return None
