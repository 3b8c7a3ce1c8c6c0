"""The fund's ledger as a CSV for the region and the partners' accountants: the same
conventions as the indicators' export (UTF-8 with BOM, ';' between fields, decimal comma,
euro without symbol, Italian headers), one row per movement, oldest first, with the
request's number and service but nothing about the person."""

import csv
import io
from datetime import datetime

from handlers.messages import text
from models.calendar import local

CSV_LANGUAGE = "it"


def ledger_csv(rows: list[tuple[int, datetime, str, int, int | None, str | None]]) -> bytes:
    """`rows`: (entry id, at, kind, cents, request id, service code)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([text(CSV_LANGUAGE, f"ledger.csv.{column}") for column in
                     ("entry", "date", "time", "kind", "amount", "request", "service")])
    for entry_id, at, kind, cents, request_id, service in rows:
        moment = local(at)
        writer.writerow([entry_id, moment.strftime("%d/%m/%Y"), moment.strftime("%H:%M"),
                         text(CSV_LANGUAGE, f"panel.ledger.{kind}"),
                         f"{cents / 100:.2f}".replace(".", ","),
                         request_id or "", service or ""])
    return buffer.getvalue().encode("utf-8-sig")
