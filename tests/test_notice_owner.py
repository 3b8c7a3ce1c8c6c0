"""One owner for a notice's life: no module but models/outbox.py writes a notice's
lifecycle fields, and models/ knows no channel by name (issue 9, item 4).

Read from the source, not run: an AST scan of models/, scheduler/, bot/ and handlers/
for (a) assignments to those attributes of anything that is a notice (a name with
"notice" in it, or a name bound from an expression about `Notice`, or looped over one),
and (b) keyword arguments naming those fields (or a `**` splat, whose keys cannot be
read) in a call about the `Notice` table (`update(Notice).values(...)`, `Notice(...)`,
`insert_ignoring_duplicates(session, Notice, ...)`). A scanner that finds nothing proves
nothing, so it is also run on the owner itself and on planted writes of every form."""

import ast
import io
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OWNER = ROOT / "models" / "outbox.py"
SCANNED = ("models", "scheduler", "bot", "handlers")
LIFECYCLE = {
    "status", "held_reason", "delivery_status", "shown_at", "sent_at", "provider_message_id",
    "claimed_until", "in_flight_at", "in_flight_chat_id", "unknown_outcomes", "attempts",
    "next_attempt_at", "last_error", "channel", "person_id",
}


def _mentions_notice_table(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "Notice" for n in ast.walk(node))


def _root_name(node: ast.AST) -> str | None:
    """`held` for `held.all()`, `(await session.exec(q)).all()` → `session`, etc."""
    while True:
        if isinstance(node, ast.Await):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def _bound_names(target: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


class _Scan(ast.NodeVisitor):
    def __init__(self):
        self.found: list[tuple[int, str]] = []
        self.notices: set[str] = set()  # names known to hold notices, in this function

    def _is_notice(self, node: ast.AST) -> bool:
        name = _root_name(node) if not isinstance(node, ast.Name) else node.id
        return name is not None and ("notice" in name.lower() or name in self.notices)

    def _about_notices(self, value: ast.AST) -> bool:
        return _mentions_notice_table(value) or self._is_notice(value)

    def visit_FunctionDef(self, node):
        outer, self.notices = self.notices, set()
        self.generic_visit(node)
        self.notices = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def _targets(self, targets, value):
        if value is not None and self._about_notices(value):
            for target in targets:
                self.notices.update(_bound_names(target))
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Attribute) and node.attr in LIFECYCLE \
                        and isinstance(node.ctx, ast.Store) and self._is_notice(node.value):
                    self.found.append((node.lineno, node.attr))

    def visit_Assign(self, node):
        self.generic_visit(node)
        self._targets(node.targets, node.value)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        self._targets([node.target], None)

    def visit_AnnAssign(self, node):
        self.generic_visit(node)
        self._targets([node.target], node.value)

    def _loop(self, target, iterable):
        if self._about_notices(iterable):
            self.notices.update(_bound_names(target))

    def visit_For(self, node):
        self._loop(node.target, node.iter)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def visit_comprehension(self, node):
        self._loop(node.target, node.iter)
        self.generic_visit(node)

    def visit_Call(self, node):
        self.generic_visit(node)
        about_table = any(_mentions_notice_table(arg) for arg in node.args) \
            or (isinstance(node.func, ast.Name) and node.func.id == "Notice") \
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "values"
                and _mentions_notice_table(node.func.value))
        if not about_table:
            return
        for keyword in node.keywords:
            if keyword.arg is None:  # **values: cannot tell which fields
                self.found.append((node.lineno, "**"))
            elif keyword.arg in LIFECYCLE:
                self.found.append((node.lineno, keyword.arg))


def notice_writes(source: str) -> list[tuple[int, str]]:
    """(line, field) of every write of a notice's lifecycle field in `source`."""
    scan = _Scan()
    scan.visit(ast.parse(source))
    return sorted(set(scan.found))


def _sources():
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_only_the_owner_writes_a_notices_life():
    outside = [f"{path.relative_to(ROOT)}:{line}: {field}"
               for path in _sources() if path != OWNER
               for line, field in notice_writes(path.read_text())]
    assert outside == [], "write through models/outbox.py instead:\n" + "\n".join(outside)


def test_the_scan_finds_the_owners_own_writes():
    fields = {field for _, field in notice_writes(OWNER.read_text())}
    assert {"status", "held_reason", "delivery_status", "shown_at", "provider_message_id",
            "claimed_until", "in_flight_at", "unknown_outcomes", "attempts",
            "next_attempt_at", "person_id"} <= fields


@pytest.mark.parametrize("planted", [
    "def f(notice):\n    notice.status = 'sent'\n",
    "def f(the_notice):\n    the_notice.status, the_notice.last_error = 'failed', 'x'\n",
    "def f(notice):\n    notice.attempts += 1\n",
    "def f(notice):\n    notice.in_flight_at = notice.in_flight_chat_id = None\n",
    "async def f(s):\n    n = await s.get(Notice, 1)\n    n.shown_at = 1\n",
    "async def f(s):\n    held = await s.exec(select(Notice))\n"
    "    for n in held.all():\n        n.held_reason = None\n",
    "async def f(s):\n    await s.exec(update(Notice).where(Notice.id == 1).values(status='x'))\n",
    "async def f(s, v):\n    await s.exec(update(Notice).values(**v))\n",
    "async def f(s):\n    await s.exec(insert_ignoring_duplicates(s, Notice, status='x'))\n",
    "def f():\n    return Notice(id=1, delivery_status='read')\n",
])
def test_the_scan_finds_every_form_of_write(planted):
    assert notice_writes(planted)


@pytest.mark.parametrize("innocent", [
    "def f(offer):\n    offer.status = 'closed'\n",  # not a notice
    "async def f(s, notice):\n    person = await s.get(Person, notice.person_id)\n"
    "    person.status = 'x'\n",
    "async def f(s):\n    n = await s.get(Notice, 1)\n    n.rendered_text = None\n",
    "def f():\n    return Notice(id=1, kind='worker.offer')\n",
])
def test_the_scan_leaves_other_writes_alone(innocent):
    assert notice_writes(innocent) == []


# --- models/ knows no channel by name ------------------------------------------------------

CHANNEL_WORDS = ("whatsapp", "telegram", "twilio")
# the schema's vocabulary of channels (base.py's Channel), and the WhatsApp adapter's
# inbound queue, a table the schema must import (models/tables.py)
CHANNEL_FREE_EXCEPT = {"base.py", "whatsapp_inbox.py"}
ADAPTER_TABLE = {"WhatsAppInbound", "whatsapp_inbox"}


def channel_words(source: str) -> list[tuple[int, str]]:
    """Names and string literals (not comments, not docstrings) naming a channel."""
    docstrings = {node.body[0].value.lineno for node in ast.walk(ast.parse(source))
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                                | ast.AsyncFunctionDef) and node.body
                  and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)
                  and isinstance(node.body[0].value.value, str)}
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.STRING and token.start[0] in docstrings:
            continue
        if token.type == tokenize.NAME and token.string in ADAPTER_TABLE:
            continue
        if token.type in (tokenize.NAME, tokenize.STRING) \
                and any(word in token.string.lower() for word in CHANNEL_WORDS):
            found.append((token.start[0], token.string))
    return found


def test_models_know_no_channel_by_name():
    named = [f"models/{path.name}:{line}: {word}"
             for path in sorted((ROOT / "models").glob("*.py"))
             if path.name not in CHANNEL_FREE_EXCEPT
             for line, word in channel_words(path.read_text())]
    assert named == [], "a channel's rules belong in bot/<channel>/:\n" + "\n".join(named)


def test_the_channel_scan_finds_a_channel_in_code():
    assert channel_words('"""WhatsApp, in a docstring, is fine."""\n'
                         'x = text.removeprefix("whatsapp:")\n') == [(2, '"whatsapp:"')]
    assert channel_words("from models.whatsapp import opt_out\n")
    assert channel_words((ROOT / "models" / "base.py").read_text())  # its Channel enum
