"""The `intempo` command as a person at a terminal uses it (real processes, real files)."""

import os
import subprocess
import sys

import pytest

from tests.support.catalogs import CATALOG
from tests.support.cli import intempo


def test_unmigrated_database_is_refused_with_what_to_run(tmp_path):
    result = intempo(tmp_path, "enroll", "--org", "koala", "--role", "worker")
    assert result.returncode == 2
    assert "intempo db upgrade" in result.stderr


def test_catalogue_reload_and_invalid_file(ready):
    again = intempo(ready, "catalog", "load", str(CATALOG))
    assert "0 created, 0 updated, 0 removed" in again.stdout
    bad = ready / "bad.toml"
    bad.write_text(CATALOG.read_text().replace(
        "price_cents = 1800", 'price_cents = "cheap"', 1))
    result = intempo(ready, "catalog", "load", str(bad))
    assert result.returncode == 1
    assert "services[0] (spesa), campo price_cents: Serve un numero intero." in result.stderr


def test_catalogue_dump_is_loaded_back_unchanged(ready):
    dumped = intempo(ready, "catalog", "dump", "copia.toml")
    assert dumped.returncode == 0, dumped.stderr
    again = intempo(ready, "catalog", "load", str(ready / "copia.toml"))
    assert again.returncode == 0 and "0 created, 0 updated" in again.stdout, again.stderr


def test_enroll_prints_single_use_codes(ready):
    result = intempo(ready, "enroll", "--org", "koala", "--role", "operator", "--count", "3")
    codes = result.stdout.split()
    assert result.returncode == 0 and len(codes) == 3 and len(set(codes)) == 3
    assert all(len(code) == 8 for code in codes)
    wrong = intempo(ready, "enroll", "--org", "ali", "--role", "operator")
    assert wrong.returncode == 1 and "not a provider" in wrong.stderr
    unknown = intempo(ready, "enroll", "--org", "nessuno", "--role", "worker")
    assert unknown.returncode == 1 and "no organisation" in unknown.stderr


def test_a_whole_story_at_the_terminal(ready):
    """A worker enrols and books; the coordinator, enrolled later, finds the notice."""
    code = intempo(ready, "enroll", "--org", "ali", "--role", "worker").stdout.strip()
    script = "\n".join([code, "Italiano", "accetto", "Marco", "Uomo", "nuova richiesta",
                        "anziani"]) + "\n"
    first = intempo(ready, "chat", "--as", "333 111 2222", stdin=script)
    assert first.returncode == 0, first.stderr
    assert "Fatto, Marco" in first.stdout
    # the terminal closed half-way: the next chat goes on where it was
    rest = "\n".join(["compagnia", "Ricengo", "2", "1", "Via Roma 3", "nessuna",
                      "conferma"]) + "\n"
    worker = intempo(ready, "chat", "--as", "333 111 2222", stdin=rest)
    assert worker.returncode == 0, worker.stderr
    assert worker.stdout.lstrip().startswith("Quale servizio")
    assert "Prezzo: 32,00 €" in worker.stdout
    assert "Paga il fondo IN...TEMPO: 22,40 €" in worker.stdout
    assert "confermata e affidata a Iride" in worker.stdout
    listing = intempo(ready, "outbox")
    assert listing.returncode == 0 and listing.stdout.count("\n") >= 1
    again = intempo(ready, "chat", "--as", "+39 333 111 2222", stdin="2\n1\n")
    assert "in attesa di un operatore" in again.stdout


def test_a_bad_phone_number_is_refused(ready):
    result = intempo(ready, "chat", "--as", "not-a-phone", stdin="")
    assert result.returncode == 1 and "not a valid phone number" in result.stderr


def test_export_indicators_and_a_persons_own_data(ready):
    code = intempo(ready, "enroll", "--org", "ali", "--role", "worker").stdout.strip()
    script = "\n".join([code, "Italiano", "accetto", "Marco", "Uomo", "nuova richiesta",
                        "anziani", "compagnia", "Ricengo", "2", "1", "Via Roma 3",
                        "nessuna", "conferma"]) + "\n"
    intempo(ready, "chat", "--as", "333 111 2222", stdin=script)
    result = intempo(ready, "export", "--from", "01/01/2026", "--to", "31/12/2026",
                     "--out", "indicatori.csv")
    assert result.returncode == 0, result.stderr
    csv_text = (ready / "indicatori.csv").read_bytes().decode("utf-8-sig")
    assert csv_text.splitlines()[0].lower().startswith("sezione;")
    assert "Ali" in csv_text
    bad = intempo(ready, "export", "--from", "primo novembre", "--to", "31/12/2026")
    assert bad.returncode == 1 and "DD/MM/YYYY" in bad.stderr
    mine = intempo(ready, "person", "export", "--phone", "+39 333 111 2222")
    assert mine.returncode == 0 and '"first_name": "Marco"' in mine.stdout
    assert '"address": "Via Roma 3"' in mine.stdout
    refused = intempo(ready, "person", "erase", "--phone", "+39 333 111 2222")
    assert refused.returncode == 1 and "--yes" in refused.stderr
    erased = intempo(ready, "person", "erase", "--phone", "+39 333 111 2222", "--yes")
    assert erased.returncode == 0, erased.stderr
    gone = intempo(ready, "person", "export", "--phone", "+39 333 111 2222")
    assert gone.returncode == 1


@pytest.mark.parametrize("url", ["not a url", "sqlite:////no/such/folder/intempo.db"])
def test_a_database_that_cannot_be_used_is_a_clear_message(tmp_path, url):
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Cannot use the database at DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
