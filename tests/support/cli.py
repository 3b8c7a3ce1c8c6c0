"""The `intempo` command run as a person at a terminal runs it: a real process on a
SQLite file in the test's folder."""

import os
import subprocess
import sys
from pathlib import Path

from tests.support.chat import plain


def intempo(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """`intempo ARGS` in `tmp_path` on its cli.db; stdout with plain spaces."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "LOG_LEVEL": "WARNING"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, env=env,
                            input=stdin, capture_output=True, text=True, timeout=120)
    result.stdout = plain(result.stdout)
    return result
