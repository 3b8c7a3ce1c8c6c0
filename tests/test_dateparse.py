"""Tests for handlers.dateparse: Italian/English free text -> day and/or time."""

from datetime import date, time

import pytest

from handlers.dateparse import PARTS_OF_DAY, DateProblem, When, parse_when

TODAY = date(2026, 11, 25)  # a Wednesday


def day_only(year: int, month: int, day: int) -> When:
    return When(day=date(year, month, day), at=None, part_of_day=None)


def time_only(hour: int, minute: int = 0) -> When:
    return When(day=None, at=time(hour, minute), part_of_day=None)


def assert_problem(text: str, reason: str, today: date = TODAY) -> None:
    with pytest.raises(DateProblem) as caught:
        parse_when(text, today)
    assert caught.value.reason == reason


# --------------------------------------------------------------------------- API


def test_api_shapes():
    expected_parts = {
        "morning": (time(8), time(12)),
        "afternoon": (time(12), time(18)),
        "evening": (time(18), time(21)),
    }
    assert expected_parts == PARTS_OF_DAY
    problem = DateProblem("past")
    assert isinstance(problem, Exception)
    assert problem.reason == "past"
    assert str(problem) == "past"
    when = When(day=None, at=None, part_of_day="morning")
    with pytest.raises(AttributeError):
        when.day = TODAY  # type: ignore[misc]


# --------------------------------------------------------------------------- relative days


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oggi", date(2026, 11, 25)),
        ("today", date(2026, 11, 25)),
        ("domani", date(2026, 11, 26)),
        ("tomorrow", date(2026, 11, 26)),
        ("dopodomani", date(2026, 11, 27)),
        ("dopo domani", date(2026, 11, 27)),
        ("day after tomorrow", date(2026, 11, 27)),
        ("the day after tomorrow please", date(2026, 11, 27)),
        ("Domani!", date(2026, 11, 26)),
        ("TOMORROW", date(2026, 11, 26)),
    ],
)
def test_relative_days(text, expected):
    assert parse_when(text, TODAY) == When(day=expected, at=None, part_of_day=None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stasera", When(date(2026, 11, 25), None, "evening")),
        ("tonight", When(date(2026, 11, 25), None, "evening")),
        ("stamattina", When(date(2026, 11, 25), None, "morning")),
        ("domattina", When(date(2026, 11, 26), None, "morning")),
    ],
)
def test_relative_days_with_part_of_day(text, expected):
    assert parse_when(text, TODAY) == expected


def test_relative_days_roll_over_the_year():
    assert parse_when("domani", date(2026, 12, 31)) == day_only(2027, 1, 1)
    assert parse_when("dopodomani", date(2026, 12, 30)) == day_only(2027, 1, 1)


# --------------------------------------------------------------------------- weekdays

WEEKDAY_NAMES = [
    (("lunedì", "lunedi", "lun", "monday", "mon"), date(2026, 11, 30)),
    (("martedì", "martedi", "mar", "tuesday", "tue"), date(2026, 12, 1)),
    (("mercoledì", "mercoledi", "mer", "wednesday", "wed"), date(2026, 12, 2)),
    (("giovedì", "giovedi", "gio", "thursday", "thu"), date(2026, 11, 26)),
    (("venerdì", "venerdi", "ven", "friday", "fri"), date(2026, 11, 27)),
    (("sabato", "sab", "saturday", "sat"), date(2026, 11, 28)),
    (("domenica", "dom", "sunday", "sun"), date(2026, 11, 29)),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [(name, expected) for names, expected in WEEKDAY_NAMES for name in names],
)
def test_weekday_names(text, expected):
    assert parse_when(text, TODAY) == When(day=expected, at=None, part_of_day=None)


@pytest.mark.parametrize(
    "text",
    ["sabato", "prossimo sabato", "sabato prossimo", "next saturday", "on Saturday", "SABATO"],
)
def test_next_weekday_variants_are_the_same_day(text):
    assert parse_when(text, TODAY) == day_only(2026, 11, 28)


def test_weekday_said_on_that_weekday_means_next_week():
    assert parse_when("mercoledì", TODAY) == day_only(2026, 12, 2)
    assert parse_when("sabato", date(2026, 11, 28)) == day_only(2026, 12, 5)


def test_monday_said_on_sunday_is_tomorrow():
    assert parse_when("lunedì", date(2026, 11, 29)) == day_only(2026, 11, 30)


def test_weekday_rolls_over_the_year():
    # 2026-12-30 is a Wednesday
    assert parse_when("lunedì", date(2026, 12, 30)) == day_only(2027, 1, 4)
    assert parse_when("friday", date(2026, 12, 30)) == day_only(2027, 1, 1)


# --------------------------------------------------------------------------- numeric dates


@pytest.mark.parametrize(
    "text",
    ["27/11", "27-11", "27.11", "27/11/2026", "27/11/26", "27.11.2026", "2026-11-27", "il 27/11"],
)
def test_numeric_dates(text):
    assert parse_when(text, TODAY) == day_only(2026, 11, 27)


def test_numeric_date_today_is_fine():
    assert parse_when("25/11", TODAY) == day_only(2026, 11, 25)
    assert parse_when("25/11/2026", TODAY) == day_only(2026, 11, 25)


def test_numeric_date_without_year_takes_next_occurrence():
    assert parse_when("27/11", date(2026, 11, 28)) == day_only(2027, 11, 27)
    assert parse_when("24/11", TODAY) == day_only(2027, 11, 24)
    assert parse_when("3/1", TODAY) == day_only(2027, 1, 3)


def test_numeric_date_year_rollover():
    assert parse_when("02/01", date(2026, 12, 30)) == day_only(2027, 1, 2)
    assert parse_when("31/12", date(2026, 12, 30)) == day_only(2026, 12, 31)


def test_numeric_date_future_years():
    assert parse_when("3/1/2027", TODAY) == day_only(2027, 1, 3)
    assert parse_when("03/01/27", TODAY) == day_only(2027, 1, 3)


# --------------------------------------------------------------------------- month names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("27 novembre", date(2026, 11, 27)),
        ("3 dicembre 2026", date(2026, 12, 3)),
        ("3 dicembre", date(2026, 12, 3)),
        ("3 dic", date(2026, 12, 3)),
        ("december 3", date(2026, 12, 3)),
        ("December 3, 2026", date(2026, 12, 3)),
        ("3 dec", date(2026, 12, 3)),
        ("the 3rd of december", date(2026, 12, 3)),
        ("dec 3rd", date(2026, 12, 3)),
        ("15 gennaio", date(2027, 1, 15)),
        ("il 1° marzo", date(2027, 3, 1)),
        ("mar 3", date(2027, 3, 3)),
        ("may 4", date(2027, 5, 4)),
        ("l'8 dicembre", date(2026, 12, 8)),
        ("24 novembre", date(2027, 11, 24)),
        ("10 agosto 2027", date(2027, 8, 10)),
        ("10 August 2027", date(2027, 8, 10)),
        ("1 settembre", date(2027, 9, 1)),
    ],
)
def test_day_and_month_names(text, expected):
    assert parse_when(text, TODAY) == When(day=expected, at=None, part_of_day=None)


# --------------------------------------------------------------------------- bare day numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("il 5", date(2026, 12, 5)),
        ("giorno 5", date(2026, 12, 5)),
        ("il giorno 5", date(2026, 12, 5)),
        ("on the 5th", date(2026, 12, 5)),
        ("the 5th", date(2026, 12, 5)),
        ("il 25", date(2026, 11, 25)),
        ("il 28", date(2026, 11, 28)),
        ("per l'8", date(2026, 12, 8)),
    ],
)
def test_bare_day_number(text, expected):
    assert parse_when(text, TODAY) == When(day=expected, at=None, part_of_day=None)


def test_bare_day_number_rolls_over_the_year():
    assert parse_when("il 5", date(2026, 12, 30)) == day_only(2027, 1, 5)


def test_bare_day_that_month_does_not_have_is_impossible():
    assert_problem("il 31", "impossible")  # 31 November
    assert_problem("il 0", "impossible")
    assert_problem("il 32", "impossible")


def test_a_number_without_context_is_not_a_day():
    assert parse_when("5", TODAY) is None
    assert parse_when("vorrei 2 pizze", TODAY) is None


# --------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alle 15", time(15)),
        ("ore 9", time(9)),
        ("h 9", time(9)),
        ("h9", time(9)),
        ("15:30", time(15, 30)),
        ("15.30", time(15, 30)),
        ("alle 15:30", time(15, 30)),
        ("ore 9:30", time(9, 30)),
        ("ore 9.30", time(9, 30)),
        ("alle 12.11", time(12, 11)),
        ("alle 9 e mezza", time(9, 30)),
        ("alle 9 e mezzo", time(9, 30)),
        ("alle 10 e un quarto", time(10, 15)),
        ("alle 10 e tre quarti", time(10, 45)),
        ("alle 10 e 20", time(10, 20)),
        ("alle ore 15", time(15)),
        ("verso le 15", time(15)),
        ("circa alle 15", time(15)),
        ("9am", time(9)),
        ("9 am", time(9)),
        ("3 pm", time(15)),
        ("3pm", time(15)),
        ("3 p.m.", time(15)),
        ("3:30pm", time(15, 30)),
        ("3.30pm", time(15, 30)),
        ("12pm", time(12)),
        ("12am", time(0)),
        ("at 15", time(15)),
        ("at 3pm please", time(15)),
        ("9h30", time(9, 30)),
        ("alle 0", time(0)),
        ("23:59", time(23, 59)),
        ("09:05", time(9, 5)),
        ("mezzogiorno", time(12)),
        ("noon", time(12)),
        ("mezzanotte", time(0)),
    ],
)
def test_times(text, expected):
    assert parse_when(text, TODAY) == When(day=None, at=expected, part_of_day=None)


@pytest.mark.parametrize(
    "text",
    [
        "alle 25",
        "alle 24",
        "25:00",
        "24:00",
        "15:60",
        "9:75",
        "alle 9 e 60",
        "13pm",
        "0am",
        "25.00",
    ],
)
def test_impossible_times(text):
    assert_problem(text, "impossible")


# --------------------------------------------------------------------------- parts of day


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mattina", "morning"),
        ("in mattinata", "morning"),
        ("morning", "morning"),
        ("in the morning", "morning"),
        ("pomeriggio", "afternoon"),
        ("nel pomeriggio", "afternoon"),
        ("afternoon", "afternoon"),
        ("sera", "evening"),
        ("in serata", "evening"),
        ("evening", "evening"),
    ],
)
def test_parts_of_day(text, expected):
    assert parse_when(text, TODAY) == When(day=None, at=None, part_of_day=expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alle 3 del pomeriggio", When(None, time(15), "afternoon")),
        ("alle 9 di sera", When(None, time(21), "evening")),
        ("sera alle 9", When(None, time(21), "evening")),
        ("at 8 in the evening", When(None, time(20), "evening")),
        ("alle 10 di mattina", When(None, time(10), "morning")),
        ("alle 15 di pomeriggio", When(None, time(15), "afternoon")),
        ("alle 12 di pomeriggio", When(None, time(12), "afternoon")),
        ("9am in the evening", When(None, time(9), "evening")),
        ("stasera alle 8", When(TODAY, time(20), "evening")),
    ],
)
def test_hour_is_read_on_twelve_hour_clock_with_afternoon_or_evening(text, expected):
    assert parse_when(text, TODAY) == expected


# --------------------------------------------------------------------------- combinations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("domani alle 15", When(date(2026, 11, 26), time(15), None)),
        ("alle 15 domani", When(date(2026, 11, 26), time(15), None)),
        ("sabato mattina", When(date(2026, 11, 28), None, "morning")),
        ("mattina di sabato", When(date(2026, 11, 28), None, "morning")),
        ("27/11 ore 9", When(date(2026, 11, 27), time(9), None)),
        ("ore 9 del 27/11", When(date(2026, 11, 27), time(9), None)),
        ("tomorrow at 3pm", When(date(2026, 11, 26), time(15), None)),
        ("alle 10 di lunedì", When(date(2026, 11, 30), time(10), None)),
        ("lunedì alle 10", When(date(2026, 11, 30), time(10), None)),
        ("domani pomeriggio", When(date(2026, 11, 26), None, "afternoon")),
        ("tomorrow afternoon", When(date(2026, 11, 26), None, "afternoon")),
        ("il 5 alle 10", When(date(2026, 12, 5), time(10), None)),
        ("27 novembre alle 9:30", When(date(2026, 11, 27), time(9, 30), None)),
        ("december 3 at 10am", When(date(2026, 12, 3), time(10), None)),
        ("on monday at 9", When(date(2026, 11, 30), time(9), None)),
        ("next friday morning at 10:30", When(date(2026, 11, 27), time(10, 30), "morning")),
        ("27.11 15.30", When(date(2026, 11, 27), time(15, 30), None)),
        ("27/11/2026 h 9", When(date(2026, 11, 27), time(9), None)),
        (
            "Vorrei per favore il servizio per domani, verso le 15 circa",
            When(date(2026, 11, 26), time(15), None),
        ),
        ("Ciao, mi serve sabato prossimo di mattina", When(date(2026, 11, 28), None, "morning")),
        ("I'd like it on Thursday evening please", When(date(2026, 11, 26), None, "evening")),
        ("dopodomani in serata alle 19", When(date(2026, 11, 27), time(19), "evening")),
    ],
)
def test_combinations(text, expected):
    assert parse_when(text, TODAY) == expected


def test_explicit_date_beats_weekday():
    assert parse_when("lunedì 7 dicembre", TODAY) == day_only(2026, 12, 7)
    assert parse_when("domani, cioè il 27/11", TODAY) == day_only(2026, 11, 27)


def test_first_day_and_first_time_win():
    assert parse_when("domani o dopodomani", TODAY) == day_only(2026, 11, 26)
    assert parse_when("dalle 9 alle 12", TODAY) == time_only(9)


def test_accents_and_case_are_optional():
    for text in ("LUNEDÌ", "Lunedi", "lunedì", "lunedi'", "LuNeDì"):
        assert parse_when(text, TODAY) == day_only(2026, 11, 30)


# --------------------------------------------------------------------------- impossible / past


@pytest.mark.parametrize(
    "text",
    [
        "32/11",
        "30/02",
        "31/04",
        "31/06/2027",
        "29/02/2027",
        "0/11",
        "27/13",
        "27/00",
        "30 febbraio",
        "31 aprile",
        "february 30",
        "32 dicembre",
        "2027-02-29",
        "32.11",
    ],
)
def test_impossible_dates(text):
    assert_problem(text, "impossible")


@pytest.mark.parametrize(
    "text",
    ["24/11/2026", "27/11/2025", "27/11/25", "1 gennaio 2026", "november 24 2026", "2026-11-24"],
)
def test_past_dates(text):
    assert_problem(text, "past")


def test_impossible_date_is_impossible_even_with_past_year():
    assert_problem("30/02/2020", "impossible")


# --------------------------------------------------------------------------- leap years


def test_leap_years():
    assert parse_when("29/02/2028", TODAY) == day_only(2028, 2, 29)
    assert parse_when("29 febbraio 2028", TODAY) == day_only(2028, 2, 29)
    assert parse_when("29/02", TODAY) == day_only(2028, 2, 29)  # next Feb 29
    assert parse_when("29/02", date(2028, 1, 10)) == day_only(2028, 2, 29)
    assert parse_when("29/02", date(2028, 3, 1)) == day_only(2032, 2, 29)
    assert_problem("29/02/2027", "impossible")
    assert_problem("29/02/2100", "impossible")  # century, not a leap year


def test_bare_day_in_short_february():
    # 30 January 2027, "il 29" -> 29 February 2027 does not exist
    assert_problem("il 29", "impossible", today=date(2027, 1, 30))
    assert parse_when("il 29", date(2028, 1, 30)) == day_only(2028, 2, 29)


# --------------------------------------------------------------------------- junk


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "ciao",
        "🙂",
        "'; DROP TABLE x; --",
        "a" * 5000,
        "grazie mille!",
        "hello, how are you?",
        "vorrei un servizio per favore",
        "<script>alert(1)</script>",
        "12345",
        "1" * 5000,
        "alle",
        "at",
        "il",
        "next",
        "prossimo",
    ],
)
def test_text_without_dates_or_times_is_none(text):
    assert parse_when(text, TODAY) is None


@pytest.mark.parametrize(
    "text",
    [
        "a" * 5000,
        "a " * 2500,
        "1 " * 2500,
        "1/" * 2500,
        "1." * 2500,
        "alle " * 1000,
        "e mezza " * 600,
        "9" * 5000,
    ],
)
def test_long_junk_parses_without_crashing(text):
    """Speed on such input is measured by bench/dateparse_bench.py, not here."""
    try:
        result = parse_when(text, TODAY)
    except DateProblem as problem:
        assert problem.reason in {"impossible", "past"}
    else:
        assert result is None or isinstance(result, When)


@pytest.mark.parametrize(("text", "expected"), [
    ("venerdì 11", (date(2026, 12, 11), None)),
    ("lunedì 14 ore 10", (date(2026, 12, 14), time(10))),
    ("venerdì 11 dicembre", (date(2026, 12, 11), None)),
    ("venerdì alle 11", (date(2026, 12, 4), time(11))),
    ("sab 12 dic", (date(2026, 12, 12), None)),
])
def test_a_day_number_after_a_weekday_is_the_day_of_the_month(text, expected):
    when = parse_when(text, date(2026, 12, 1))
    assert (when.day, when.at) == expected
