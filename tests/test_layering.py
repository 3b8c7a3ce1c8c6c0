"""The layers keep to their places (issue 9): the dialogue in handlers/ reads and writes the
store only through named functions of models/ (no query built in handlers/, no row added,
deleted or flushed there; fetching a row by its id with `session.get` is allowed), and
never imports scheduler/ (the scheduler calls handlers/, not the other way round).

Read from the source with `ast`, so an import inside a function counts as well."""

import ast
from pathlib import Path

import handlers

HANDLERS = Path(handlers.__file__).parent
ROOT = HANDLERS.parent
QUERY_PACKAGES = ("sqlmodel", "sqlalchemy")
QUERY_NAMES = {"select", "delete", "func", "update", "insert", "text"}
FORBIDDEN_PACKAGES = ("scheduler",)
SESSION_WRITES = {"add", "add_all", "delete", "exec", "execute", "flush", "merge", "scalar",
                  "scalars", "commit"}
# files allowed to break the rule, each with its reason (none now: keep it that way)
EXEMPT: set[str] = set()


def _top(module: str | None) -> str:
    return (module or "").split(".")[0]


def imports_of(source: str) -> list[tuple[str, str | None]]:
    """(module, name) for every import in `source`; name is None for `import module`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found += [(node.module or "", alias.name) for alias in node.names]
    return found


def session_calls(source: str) -> list[str]:
    """`session.<method>(...)` calls (also `turn.session.…`) other than `get`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in SESSION_WRITES:
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if name == "session":
                found.append(f"calls session.{node.func.attr} (line {node.lineno})")
    return found


def layering_problems(source: str) -> list[str]:
    """What in `source` breaks the rule: a query-building name from SQLModel/SQLAlchemy,
    the query packages imported whole, anything of scheduler/, a session used for more
    than fetching by id."""
    problems = session_calls(source)
    for module, name in imports_of(source):
        top = _top(module)
        if top in FORBIDDEN_PACKAGES:
            problems.append(f"imports {module}" + (f".{name}" if name else ""))
        elif top in QUERY_PACKAGES and (name is None or name in QUERY_NAMES or name == "*"):
            problems.append(f"imports {module}" + (f".{name}" if name else " whole"))
    return problems


def handler_files() -> list[Path]:
    return sorted(HANDLERS.rglob("*.py"))


def test_no_handler_builds_a_query_or_imports_the_scheduler():
    problems = {}
    for path in handler_files():
        name = path.relative_to(ROOT).as_posix()
        if name in EXEMPT:
            continue
        found = layering_problems(path.read_text(encoding="utf-8"))
        if found:
            problems[name] = found
    assert problems == {}, ("handlers/ must read and write through named functions of "
                            f"models/ and never import scheduler/: {problems}")


def test_the_check_reads_every_handler_and_sees_their_imports():
    """The scan is not vacuous: it reads the steps, and it sees what they do import."""
    names = {path.relative_to(ROOT).as_posix() for path in handler_files()}
    assert {"handlers/steps/request.py", "handlers/notices.py", "handlers/reports.py"} <= names
    request_imports = imports_of((HANDLERS / "steps" / "request.py").read_text())
    assert any(_top(module) == "models" for module, _ in request_imports)
    assert ("handlers.flow", "Go") in request_imports


def test_the_check_catches_each_kind_of_breach():
    breaches = {
        "from sqlmodel import select": ["imports sqlmodel.select"],
        "from sqlalchemy import func, text": ["imports sqlalchemy.func",
                                              "imports sqlalchemy.text"],
        "import sqlalchemy": ["imports sqlalchemy whole"],
        "from sqlalchemy.sql.expression import delete": [
            "imports sqlalchemy.sql.expression.delete"],
        "from scheduler.chart import requests_chart": ["imports scheduler.chart.requests_chart"],
        "def later():\n    import scheduler.jobs\n": ["imports scheduler.jobs"],
        "async def f(turn):\n    turn.session.add(row)\n": ["calls session.add (line 2)"],
        "async def f(session):\n    await session.exec(q)\n": ["calls session.exec (line 2)"],
    }
    for source, expected in breaches.items():
        assert layering_problems(source) == expected, source
    allowed = ("from sqlmodel.ext.asyncio.session import AsyncSession\n"
               "from sqlalchemy.exc import IntegrityError\nfrom models import jobs\n"
               "async def f(turn):\n    await turn.session.get(Person, 1)\n"
               "    turn.conversation.back.append('x')\n")
    assert layering_problems(allowed) == []


def test_the_exemptions_still_exist():
    """An exemption names a file that is there and still needs it (else: remove it)."""
    for name in EXEMPT:
        path = ROOT / name
        assert path.exists(), f"{name} is gone: remove it from EXEMPT"
        assert layering_problems(path.read_text(encoding="utf-8")), \
            f"{name} keeps the rule now: remove it from EXEMPT"
