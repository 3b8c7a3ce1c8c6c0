"""The command line's rough edges: a database that cannot be used is one clear line for
every cause; dates that do not exist, ISO dates, a missing folder, the default export
folder; unknown outbox statuses; an organisation by name or code."""

import os
import subprocess
import sys

from tests.support.cli import intempo


def with_url(tmp_path, url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_database_that_cannot_be_used_is_one_clear_line(tmp_path, pg_available):
    urls = ["mysql://someone@127.0.0.1/intempo"]
    if pg_available:
        urls.append("postgresql://postgres@127.0.0.1:5432/intempo_not_there_at_all")
        urls.append("postgresql://nobody_here@127.0.0.1:5432/test")
    for url in urls:
        result = with_url(tmp_path, url, "outbox")
        assert result.returncode == 2, (url, result.stderr)
        assert "Traceback" not in result.stderr, (url, result.stderr)
        assert result.stderr.startswith("Cannot use the database at DATABASE_URL:"), url
        assert len(result.stderr.strip().splitlines()) == 2, result.stderr  # + what to check


def test_export_dates_and_folders(ready):
    wrong_day = intempo(ready, "export", "--from", "30/02/2026", "--to", "31/03/2026")
    assert wrong_day.returncode == 1 and "that date does not exist" in wrong_day.stderr
    nowhere = intempo(ready, "export", "--from", "01/11/2026", "--to", "30/11/2026",
                      "--out", "missing/indicatori.csv")
    assert nowhere.returncode == 1 and "the folder missing does not exist" in nowhere.stderr
    assert "Cannot use the database" not in nowhere.stderr
    iso = intempo(ready, "export", "--from", "2026-11-01", "--to", "2026-11-30")
    assert iso.returncode == 0, iso.stderr
    assert iso.stdout.strip() == "exports/intempo-indicatori-2026-11-01-2026-11-30.csv"
    assert (ready / "exports" / "intempo-indicatori-2026-11-01-2026-11-30.csv").exists()


def test_outbox_statuses_and_enrolment_by_name(ready):
    unknown = intempo(ready, "outbox", "--status", "lost")
    assert unknown.returncode == 1
    assert "pending, held, sent, delivered, failed, withdrawn" in unknown.stderr
    by_name = intempo(ready, "enroll", "--org", "KOALA", "--role", "worker")
    assert by_name.returncode == 0 and len(by_name.stdout.strip()) == 8
    nobody = intempo(ready, "enroll", "--org", "Cooperativa Inesistente", "--role", "worker")
    assert nobody.returncode == 1 and "the codes are: " in nobody.stderr
    assert "koala" in nobody.stderr
    helps = intempo(ready, "export", "--help")
    assert "YYYY-MM-DD" in helps.stdout and "exports/" in helps.stdout
