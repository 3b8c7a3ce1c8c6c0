"""Stoplight Prism serving Twilio's OpenAPI descriptions on loopback (started through
`npx`; skipped when Node.js is missing, required in CI): it answers like Twilio and
refuses (422) any request its description does not allow. Two session fixtures: the
Messages API alone, and Messages + Content joined in one document."""

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_twilio import SPEC
from tests.support.net import free_port

JOINED = SPEC.with_name("twilio_messages_content.json")


def _prism(spec: Path, tmp_path_factory) -> Iterator[str]:
    if not spec.exists():
        pytest.skip(f"Twilio's OpenAPI description is not at {spec} (INTEMPO_TWILIO_OAI)")
    npx = shutil.which("npx")
    if npx is None:
        if os.environ.get("CI"):
            pytest.fail("Prism is required in CI, but npx (Node.js) is not installed")
        pytest.skip("Prism cannot run: npx (Node.js) is not installed")
    port = free_port()
    log = Path(tmp_path_factory.mktemp("prism")) / "prism.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [npx, "--yes", "@stoplight/prism-cli@5", "mock", "-h", "127.0.0.1", "-p",
             str(port), str(spec)], stdout=output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_port(port, process, log, seconds=240)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory):
    """Prism mocking Twilio's Messages API on a free loopback port, for the session."""
    yield from _prism(SPEC, tmp_path_factory)


@pytest.fixture(scope="session")
def prism_content_url(tmp_path_factory):
    """Prism mocking Twilio's Messages and Content APIs on one port (one base URL for
    both domains, as TWILIO_API_BASE_URL gives the client)."""
    yield from _prism(JOINED, tmp_path_factory)


def _wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.skip(f"Prism exited ({process.returncode}): {log.read_text()[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.25)
    _stop(process)
    pytest.skip(f"Prism did not start within {seconds:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
