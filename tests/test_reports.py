"""The coordinator's figures as text, CSV and chart (the data set of tests/test_figures.py),
and the reading of the period typed after /stats."""

import csv
import io
import struct
import warnings
from datetime import date, timedelta

import pytest

from handlers.charts import requests_chart
from handlers.reports import digest_text, indicators_csv, parse_period, stats_text
from models.figures import (
    Delivery,
    DigestFigures,
    FundFigures,
    Runway,
    Satisfaction,
    Waiting,
)
from tests.support.booking import THURSDAY
from tests.support.chat import plain
from tests.support.figures import build, digest_of, period_of

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))

BUSY_DAY_IT = """\
📊 Riepilogo di giovedì 26 novembre

📥 Richieste ricevute oggi: 2
• 🛒 Commissioni salva-tempo: 1 (annullate 1)
• 🧸 Cura dei figli: 1 (in attesa 1)

⏳ In attesa di un operatore: 2; l'attesa più lunga è di 1 g 9 h.
⚠️ Senza cooperativa disponibile, ancora da svolgere: 1.

✅ Servizi svolti oggi: 2, per 3 ore e 5 min di servizio.

⭐ Soddisfazione (ultimi 30 giorni): media 2,0 su 5; questionari con risposta 1 su 2 (50%). \
Punteggi bassi (1 o 2): 1.

💶 Fondo di prova: impegnati 30,00 €, prenotati 20,00 €, disponibili 0,00 € su 50,00 €.
Il fondo è esaurito: non resta nulla da prenotare.

🧩 Per cooperativa (ricevute / svolte oggi):
• Cooperativa A: 2 / 2

🏢 Per datore di lavoro (ricevute / svolte oggi):
• Cooperativa A: 1 / 0
• Datore: 1 / 2

📵 Persone non raggiungibili su nessun canale: 2.
📭 Avvisi in sospeso senza destinatario: 1."""

NOTHING_IT = """\
📊 Riepilogo di giovedì 26 novembre

📥 Nessuna richiesta oggi.

⏳ Nessuna richiesta in attesa di un operatore.

✅ Nessun servizio svolto oggi.

⭐ Soddisfazione (ultimi 30 giorni): nessun questionario inviato.

💶 Fondo di prova: impegnati 0,00 €, prenotati 0,00 €, disponibili 50,00 € su 50,00 €.
Nessuna spesa negli ultimi 30 giorni: nessuna data di esaurimento prevista.

🏢 Oggi nessuna attività per cooperative e datori di lavoro.

📵 Persone non raggiungibili su nessun canale: 0.
📭 Avvisi in sospeso senza destinatario: 0."""


# --- the digest ---------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_digest_text_of_a_busy_day(mini, clock):
    await build(mini, clock)
    fig = await digest_of(mini, THURSDAY)
    assert plain(digest_text(fig, "it")) == plain(BUSY_DAY_IT)
    english = plain(digest_text(fig, "en"))
    assert english.startswith("📊 Digest of Thursday 26 November\n\n📥 Requests received today: 2")
    assert "• 🧸 Childcare: 1 (waiting 1)" in english
    assert "the longest wait is 1 d 9 h." in english
    assert "committed €30.00, reserved €20.00, available €0.00 of €50.00." in english


@pytest.mark.asyncio
async def test_digest_text_never_names_a_person_or_an_address(mini, clock):
    await build(mini, clock)
    fig = await digest_of(mini, THURSDAY)
    for language in ("it", "en"):
        digest = digest_text(fig, language)
        for secret in ("W1", "W2", "W3", "OpA", "Via Roma", "Alfa"):
            assert secret not in digest


@pytest.mark.asyncio
async def test_digest_text_of_a_day_with_nothing(mini):
    fig = await digest_of(mini, THURSDAY)
    assert plain(digest_text(fig, "it")) == plain(NOTHING_IT)
    assert "📥 No requests today." in digest_text(fig, "en")


FUND = FundFigures("Fondo", 4_000_000, 20_000, 1_234_550, 50_000)


def digest_with(runway: Runway | None, fund: FundFigures = FUND) -> DigestFigures:
    return DigestFigures(
        day=THURSDAY, received={}, waiting=Waiting(1, timedelta(minutes=95), 0),
        delivered={"errand": Delivery(3, 200, 180)},
        satisfaction=Satisfaction(sent=4, answered=3, average=13 / 3, low_scores=0),
        fund=fund, runway=runway, cooperatives=[], employers=[], unreachable=0,
        held_notices=0)


def test_digest_text_shows_the_run_out_date():
    fig = digest_with(Runway(daily_cents=2_500, runs_out_on=date(2026, 12, 20),
                             since=date(2026, 10, 28)))
    italian = plain(digest_text(fig, "it"))
    assert "⏳ In attesa di un operatore: 1; l'attesa più lunga è di 1 ora e 35 min." in italian
    assert "✅ Servizi svolti oggi: 3, per 3 ore e 20 min di servizio." in italian
    assert "media 4,3 su 5; questionari con risposta 3 su 4 (75%)." in italian
    assert "Punteggi bassi" not in italian
    assert ("💶 Fondo: impegnati 12.345,50 €, prenotati 200,00 €, "
            "disponibili 27.454,50 € su 40.000,00 €.") in italian
    assert ("Al ritmo di spesa dal 28 ottobre 2026 (25,00 € al giorno) il fondo si "
            "esaurirebbe il 20 dicembre 2026.") in italian
    english = plain(digest_text(fig, "en"))
    assert ("At the pace of spending since 28 October 2026 (€25.00 a day) the fund would "
            "run out on 20 December 2026.") in english
    assert "average 4.3 out of 5; surveys answered 3 of 4 (75%)." in english


@pytest.mark.parametrize(("runway", "italian", "english"), [
    (Runway(2_500, date(2027, 3, 3), since=THURSDAY),
     "Al ritmo di spesa dal 26 novembre 2026 (25,00 € al giorno) il fondo basterebbe oltre "
     "la fine del 2026: si esaurirebbe il 3 marzo 2027.",
     "the fund would last beyond the end of 2026: it would run out on 3 March 2027."),
    (Runway(33, None, since=THURSDAY, beyond_horizon=True),
     "Al ritmo di spesa dal 26 novembre 2026 (0,33 € al giorno) il fondo basterebbe per più "
     "di 5 anni.",
     "(€0.33 a day) the fund would last more than 5 years."),
    (None, "Nessuna spesa negli ultimi 30 giorni: nessuna data di esaurimento prevista.",
     "No spending in the last 30 days: no run-out date in sight."),
])
def test_digest_text_says_sensibly_when_the_fund_lasts_long(runway, italian, english):
    fig = digest_with(runway)
    assert italian in plain(digest_text(fig, "it"))
    assert english in plain(digest_text(fig, "en"))


def test_an_exhausted_fund_is_said_so_even_with_no_recent_spending():
    fig = digest_with(Runway(0, None), FundFigures("Fondo", 5_000, 0, 5_000, 0))
    assert "Il fondo è esaurito: non resta nulla da prenotare." in digest_text(fig, "it")


# --- figures for a period -----------------------------------------------------------------

@pytest.mark.asyncio
async def test_stats_text_of_november(mini, clock):
    await build(mini, clock)
    fig = await period_of(mini, *NOVEMBER)
    italian = plain(stats_text(fig, *NOVEMBER, "it"))
    for line in [
        "📈 Dati dal 1° novembre 2026 al 30 novembre 2026",
        "📥 Richieste ricevute: 6",
        "• 🤝 Cura degli anziani: 2 (in attesa 1, senza cooperativa 1)",
        "📍 Comuni con più richieste: Alfa 4, Beta 1, Gamma 1.",
        "✅ Servizi svolti: 2, per 3 ore e 5 min di servizio.",
        "⏱️ Tempo liberato stimato per i lavoratori: 3 ore e 10 min.",
        "👥 Lavoratori che hanno usato il servizio: 3 su 4 iscritti (75%).",
        "• Datore: 2 su 2",
        "• Non indicato: 1 su 1",
        "⚖️ Richieste di cura fatte da uomini: 2 su 4 (50%).",
        "💶 Impegnati nel periodo: 30,00 €.",
        "• Cooperativa A: 4 / 2 / 3 ore e 5 min",
        "• Cooperativa B: 1 / 0 / 0 min",
    ]:
        assert line in italian.splitlines(), line
    english = plain(stats_text(fig, *NOVEMBER, "en"))
    assert english.startswith("📈 Figures from 1 November 2026 to 30 November 2026")
    assert "⚖️ Care requests made by men: 2 of 4 (50%)." in english


@pytest.mark.asyncio
async def test_stats_text_of_an_empty_day(mini):
    fig = await period_of(mini, THURSDAY, THURSDAY)
    italian = plain(stats_text(fig, THURSDAY, THURSDAY, "it"))
    assert italian.splitlines()[:5] == [
        "📈 Dati del 26 novembre 2026", "", "📥 Nessuna richiesta nel periodo.", "",
        "✅ Nessun servizio svolto nel periodo."]
    assert "👥 Nessun lavoratore iscritto." in italian
    assert "⚖️ Nessuna richiesta di cura nel periodo." in italian
    assert "⭐ Nessun questionario inviato nel periodo." in italian


# --- the indicators export ----------------------------------------------------------------

EXPECTED_CSV = """\
sezione;voce;dettaglio;valore
periodo;dal;;01/11/2026
periodo;al;;30/11/2026
adesione per datore di lavoro;Cooperativa A;lavoratori iscritti;2
adesione per datore di lavoro;Cooperativa A;lavoratori che hanno usato il servizio;1
adesione per datore di lavoro;Cooperativa A;quota di utilizzo (%);50,0
adesione per datore di lavoro;Datore;lavoratori iscritti;2
adesione per datore di lavoro;Datore;lavoratori che hanno usato il servizio;2
adesione per datore di lavoro;Datore;quota di utilizzo (%);100,0
adesione per datore di lavoro;totale;lavoratori iscritti;4
adesione per datore di lavoro;totale;lavoratori che hanno usato il servizio;3
adesione per datore di lavoro;totale;quota di utilizzo (%);75,0
adesione per genere;Donna;lavoratori iscritti;2
adesione per genere;Donna;lavoratori che hanno usato il servizio;1
adesione per genere;Donna;quota di utilizzo (%);50,0
adesione per genere;Uomo;lavoratori iscritti;1
adesione per genere;Uomo;lavoratori che hanno usato il servizio;1
adesione per genere;Uomo;quota di utilizzo (%);100,0
adesione per genere;Altro;lavoratori iscritti;0
adesione per genere;Altro;lavoratori che hanno usato il servizio;0
adesione per genere;Altro;quota di utilizzo (%);
adesione per genere;Non indicato;lavoratori iscritti;1
adesione per genere;Non indicato;lavoratori che hanno usato il servizio;1
adesione per genere;Non indicato;quota di utilizzo (%);100,0
richieste per stato e categoria;in attesa di un operatore;Commissioni salva-tempo;0
richieste per stato e categoria;in attesa di un operatore;Cura dei figli;1
richieste per stato e categoria;in attesa di un operatore;Cura degli anziani;1
richieste per stato e categoria;in attesa — nessuna cooperativa disponibile;Commissioni salva-tempo;0
richieste per stato e categoria;in attesa — nessuna cooperativa disponibile;Cura dei figli;0
richieste per stato e categoria;in attesa — nessuna cooperativa disponibile;Cura degli anziani;1
richieste per stato e categoria;presa in carico;Commissioni salva-tempo;0
richieste per stato e categoria;presa in carico;Cura dei figli;0
richieste per stato e categoria;presa in carico;Cura degli anziani;0
richieste per stato e categoria;svolta;Commissioni salva-tempo;1
richieste per stato e categoria;svolta;Cura dei figli;1
richieste per stato e categoria;svolta;Cura degli anziani;0
richieste per stato e categoria;non svolta (assente);Commissioni salva-tempo;0
richieste per stato e categoria;non svolta (assente);Cura dei figli;0
richieste per stato e categoria;non svolta (assente);Cura degli anziani;0
richieste per stato e categoria;annullata;Commissioni salva-tempo;1
richieste per stato e categoria;annullata;Cura dei figli;0
richieste per stato e categoria;annullata;Cura degli anziani;0
richieste per stato e categoria;totale;Commissioni salva-tempo;2
richieste per stato e categoria;totale;Cura dei figli;2
richieste per stato e categoria;totale;Cura degli anziani;2
richieste per stato e categoria;totale;tutte le categorie;6
richieste per comune e categoria;Alfa;Commissioni salva-tempo;2
richieste per comune e categoria;Alfa;Cura dei figli;2
richieste per comune e categoria;Alfa;Cura degli anziani;0
richieste per comune e categoria;Beta;Commissioni salva-tempo;0
richieste per comune e categoria;Beta;Cura dei figli;0
richieste per comune e categoria;Beta;Cura degli anziani;1
richieste per comune e categoria;Gamma;Commissioni salva-tempo;0
richieste per comune e categoria;Gamma;Cura dei figli;0
richieste per comune e categoria;Gamma;Cura degli anziani;1
richieste per datore di lavoro;Cooperativa A;richieste ricevute;2
richieste per datore di lavoro;Cooperativa A;servizi svolti;0
richieste per datore di lavoro;Cooperativa A;ore erogate;0,00
richieste per datore di lavoro;Datore;richieste ricevute;4
richieste per datore di lavoro;Datore;servizi svolti;2
richieste per datore di lavoro;Datore;ore erogate;3,08
richieste per cooperativa;Cooperativa A;richieste ricevute;4
richieste per cooperativa;Cooperativa A;servizi svolti;2
richieste per cooperativa;Cooperativa A;ore erogate;3,08
richieste per cooperativa;Cooperativa B;richieste ricevute;1
richieste per cooperativa;Cooperativa B;servizi svolti;0
richieste per cooperativa;Cooperativa B;ore erogate;0,00
servizi svolti;Commissioni salva-tempo;servizi svolti;1
servizi svolti;Commissioni salva-tempo;ore erogate;0,92
servizi svolti;Cura dei figli;servizi svolti;1
servizi svolti;Cura dei figli;ore erogate;2,17
servizi svolti;Cura degli anziani;servizi svolti;0
servizi svolti;Cura degli anziani;ore erogate;0,00
servizi svolti;totale;servizi svolti;2
servizi svolti;totale;ore erogate;3,08
tempo liberato stimato;Commissioni salva-tempo;ore;1,00
tempo liberato stimato;Cura dei figli;ore;2,17
tempo liberato stimato;Cura degli anziani;ore;0,00
tempo liberato stimato;totale;ore;3,17
soddisfazione;questionari inviati;;2
soddisfazione;questionari con risposta;;1
soddisfazione;tasso di risposta (%);;50,0
soddisfazione;punteggio medio (1-5);;2,00
soddisfazione;punteggi 1 o 2;;1
soddisfazione;commenti ricevuti;;0
fondo;impegnato nel periodo (euro);Fondo di prova;30,00
fondo;prenotato alla data di estrazione (euro);Fondo di prova;20,00
fondo;impegnato in totale alla data di estrazione (euro);Fondo di prova;30,00
fondo;disponibile alla data di estrazione (euro);Fondo di prova;0,00
fondo;dotazione del fondo (euro);Fondo di prova;50,00
cura condivisa;richieste di cura;Donna;0
cura condivisa;richieste di cura;Uomo;2
cura condivisa;richieste di cura;Altro;0
cura condivisa;richieste di cura;Non indicato;2
cura condivisa;lavoratori con richieste di cura;Donna;0
cura condivisa;lavoratori con richieste di cura;Uomo;1
cura condivisa;lavoratori con richieste di cura;Altro;0
cura condivisa;lavoratori con richieste di cura;Non indicato;1
cura condivisa;quota di richieste di cura fatte da uomini (%);;50,0"""  # noqa: E501


@pytest.mark.asyncio
async def test_indicators_csv_line_by_line(mini, clock):
    await build(mini, clock)
    fig = await period_of(mini, *NOVEMBER)
    data = indicators_csv(fig, *NOVEMBER)
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8, accents survive
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    expected = [line.split(";") for line in EXPECTED_CSV.splitlines()]
    for number, (row, wanted) in enumerate(zip(rows, expected, strict=False), start=1):
        assert row == wanted, f"line {number}"
    notes = rows[len(expected):]
    assert [row[:3] for row in notes] == [
        ["note", "tempo liberato stimato", ""], ["note", "adesione", ""],
        ["note", "servizi svolti e ore erogate", ""], ["note", "richieste ricevute", ""],
        ["note", "cura condivisa", ""]]
    # a note with ';' inside is quoted, and still reads back as one field
    assert notes[0][3].startswith("Per le commissioni salva-tempo svolte: la durata prevista")
    assert "; per la cura dei figli" in notes[0][3]
    assert all(len(row) == 4 for row in rows)


@pytest.mark.asyncio
async def test_indicators_csv_of_an_empty_period_has_every_section(mini):
    fig = await period_of(mini, *NOVEMBER)
    rows = list(csv.reader(io.StringIO(indicators_csv(fig, *NOVEMBER).decode("utf-8-sig")),
                           delimiter=";"))
    sections = list(dict.fromkeys(row[0] for row in rows[1:]))
    assert sections == [
        "periodo", "adesione per datore di lavoro", "adesione per genere",
        "richieste per stato e categoria", "richieste per datore di lavoro",
        "richieste per cooperativa", "servizi svolti", "tempo liberato stimato",
        "soddisfazione", "fondo", "cura condivisa", "note"]
    assert ["soddisfazione", "tasso di risposta (%)", "", ""] in rows  # undefined: blank
    assert ["cura condivisa", "quota di richieste di cura fatte da uomini (%)", "", ""] in rows
    assert ["fondo", "disponibile alla data di estrazione (euro)", "Fondo di prova",
            "50,00"] in rows


# --- the period typed after /stats --------------------------------------------------------

TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize(("typed", "expected"), [
    ("oggi", (TODAY, TODAY)),
    ("  OGGI ", (TODAY, TODAY)),
    ("today", (TODAY, TODAY)),
    ("ieri", (date(2026, 11, 24), date(2026, 11, 24))),
    ("yesterday", (date(2026, 11, 24), date(2026, 11, 24))),
    ("settimana", (date(2026, 11, 23), TODAY)),
    ("week", (date(2026, 11, 23), TODAY)),
    ("mese", (date(2026, 11, 1), TODAY)),
    ("this month", (date(2026, 11, 1), TODAY)),
    ("anno", (date(2026, 1, 1), TODAY)),
    ("year", (date(2026, 1, 1), TODAY)),
    ("01/11-30/11", (date(2026, 11, 1), date(2026, 11, 30))),
    ("1/11 - 30/11", (date(2026, 11, 1), date(2026, 11, 30))),
    ("1/11/2026-30/11/2026", (date(2026, 11, 1), date(2026, 11, 30))),
    ("1.11.26-30.11.26", (date(2026, 11, 1), date(2026, 11, 30))),
    ("dal 1/10 al 31/10", (date(2026, 10, 1), date(2026, 10, 31))),
    ("01/12-31/12", (date(2025, 12, 1), date(2025, 12, 31))),  # December is still ahead
    ("1/12/2025-31/1/2026", (date(2025, 12, 1), date(2026, 1, 31))),
    # across New Year: the end is in the year after the start (December is still ahead)
    ("01/12-15/01", (date(2025, 12, 1), date(2026, 1, 15))),
    ("dal 1/12 al 15/1", (date(2025, 12, 1), date(2026, 1, 15))),
    ("01/12-15/01/2027", (date(2026, 12, 1), date(2027, 1, 15))),
    ("1/12/2026-15/1", (date(2026, 12, 1), date(2027, 1, 15))),
    ("15/11-10/11", None),  # reversed within a month: not a year-long period
    ("1/1/2026-1/1/2027", (date(2026, 1, 1), date(2027, 1, 1))),  # 366 days: allowed
    ("1/1/2026-2/1/2027", None),  # 367 days
    ("1/1/2024-31/12/2024", (date(2024, 1, 1), date(2024, 12, 31))),  # a leap year: 366
    ("25/11", (TODAY, TODAY)),
    ("30/11-01/11", None),  # reversed
    ("31/02-28/02", None),  # no such day
    ("1/1/2025-31/12/2026", None),  # too long
    ("novembre", (date(2026, 11, 1), date(2026, 11, 30))),
    ("Novembre 2025", (date(2025, 11, 1), date(2025, 11, 30))),
    ("dicembre", (date(2025, 12, 1), date(2025, 12, 31))),  # the latest December begun
    ("feb 2024", (date(2024, 2, 1), date(2024, 2, 29))),
    ("ieri", (date(2026, 11, 24), date(2026, 11, 24))),
    ("30/11-01/10", None),  # backwards, not ten months across New Year
    ("novembrissimo", None),
    ("", None),
    ("settimana prossima", None),
    ("1/11-", None),
])
def test_parse_period(typed, expected):
    assert parse_period(typed, TODAY) == expected


def test_a_period_across_new_year_typed_in_january():
    january = date(2027, 1, 10)
    assert parse_period("01/12-15/01", january) == (date(2026, 12, 1), date(2027, 1, 15))
    assert parse_period("20/12-05/01", january) == (date(2026, 12, 20), date(2027, 1, 5))


def test_week_on_a_monday_is_one_day():
    monday = date(2026, 11, 23)
    assert parse_period("settimana", monday) == (monday, monday)


# --- the chart ----------------------------------------------------------------------------

def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_chart_is_a_phone_sized_png_without_warnings():
    series = {"errand": [n % 4 for n in range(30)], "childcare": [1] * 30,
              "eldercare": [0] * 29 + [5]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph (an emoji) would warn
        data = requests_chart(series, THURSDAY, "it")
        english = requests_chart(series, THURSDAY, "en")
    assert png_size(data) == (1000, 600) and png_size(english) == (1000, 600)
    assert len(data) > 10_000 and data != english


def test_chart_of_thirty_empty_days():
    series = {"errand": [0] * 30, "childcare": [0] * 30, "eldercare": [0] * 30}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = requests_chart(series, THURSDAY, "it")
    assert png_size(data) == (1000, 600) and len(data) > 10_000


@pytest.mark.asyncio
async def test_chart_of_the_digest_series(mini, clock):
    await build(mini, clock)
    fig = await digest_of(mini, THURSDAY)
    assert png_size(requests_chart(fig.series, THURSDAY, "it")) == (1000, 600)
