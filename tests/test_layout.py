"""The tests' own layout: what several test files share is in the package tests/support/
(or, for fixtures, tests/conftest.py), and no module of tests/ or bench/ imports a test
module or the conftest: those are pytest's to load, never a library for another module."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS, BENCH = ROOT / "tests", ROOT / "bench"


def package_of(path: Path) -> str:
    """The dotted name of the package a file is in (tests/support/chat.py: tests.support)."""
    return ".".join(path.parent.relative_to(ROOT).parts)


def imported(source: str, package: str = "tests") -> set[str]:
    """Every module `source` imports, at its top or inside a function, relative imports
    resolved as from a module of `package`; for `from package import name`,
    package.name too (it may be a module)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def pytests_own(names: set[str]) -> set[str]:
    """The test modules (tests.test_*) and tests.conftest among dotted names, or that
    they are in."""
    return {".".join(name.split(".")[:2]) for name in names
            if name.startswith("tests.test_") or name.split(".")[:2] == ["tests", "conftest"]}


def sources() -> list[Path]:
    return sorted(TESTS.rglob("*.py")) + sorted(BENCH.glob("*.py"))


def test_the_check_sees_imports_of_every_form():
    source = """
import tests.test_cli
from tests import test_routing
from tests.test_operators import book_in_alfa as book
from .test_outbox import RecordingSender
from . import test_figures
from tests.support.chat import Chatter
from tests.conftest import MINI

def later():
    from tests.test_surveys import done_job
"""
    assert pytests_own(imported(source, "tests")) == {
        "tests.test_cli", "tests.test_routing", "tests.test_operators", "tests.test_outbox",
        "tests.test_figures", "tests.test_surveys", "tests.conftest"}
    assert pytests_own(imported("from tests.support.booking import book\n"
                                "from tests import support\n")) == set()


def test_no_module_of_tests_or_bench_imports_a_test_module_or_the_conftest():
    found = {path: imported(path.read_text(), package_of(path)) for path in sources()}
    # the check reads real files: it finds the support package where it is used, inside
    # functions too (bench/whatsapp_latency.py imports the fake Twilio in its child process)
    assert "tests.support.booking" in found[TESTS / "test_operators.py"]
    assert "tests.support.fake_telegram" in found[BENCH / "telegram_throughput.py"]
    assert "tests.support.fake_twilio" in found[BENCH / "whatsapp_latency.py"]
    offending = {str(path.relative_to(ROOT)): sorted(pytests_own(names))
                 for path, names in found.items() if pytests_own(names)}
    assert offending == {}


def test_helpers_live_in_the_support_package():
    """Beside the test files, tests/ holds only conftest.py and the package's __init__."""
    loose = [path.name for path in TESTS.glob("*.py")
             if not path.name.startswith("test_")
             and path.name not in ("conftest.py", "__init__.py")]
    assert loose == []
    assert (TESTS / "support" / "__init__.py").exists()
