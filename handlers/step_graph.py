"""The graph of the dialogue's steps, read from the code: every `Go(...)` in handlers/, the
step names it can lead to, and from which step's code it runs. tests/test_step_graph.py
checks every name against the registered steps; `intempo steps graph` draws the graph as
the Mermaid diagram in the README.

A `Go` argument is resolved when it is a string, a module's string constant, an item of a
module's dict/tuple of names (`TARGETS[value]`), a step's own attribute (`self.next_step`),
`x if x in NAMES else other`, or a local variable assigned from those. Two dynamic kinds
are named here: the way back (WAYS_BACK, a step the conversation was at before) and a
notice's own step (NOTICE_STEP_CALLS, "notice:<id>", which dialogue.step_for reads as the
notice step). Anything else is unresolved, and the test says where it is."""

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import handlers
import handlers.steps  # registers every step
from handlers.flow import STEPS
from handlers.steps.notice import NoticeAnswer

HANDLERS = Path(handlers.__file__).parent
BACK = "«back»"
WAYS_BACK = {"previous", "waiting[-1]"}  # arguments, as written, taken off the way back
NOTICE_STEP_CALLS = {"step_name", "notice_step.step_name"}
COMMANDS = "commands"  # the node for what runs outside any step's code
NOTE = ("From any step: menu (home), indietro (the step before), aiuto, annulla. "
        "Commands and notices arriving open:")


@dataclass(frozen=True)
class GoSite:
    """One `Go(...)`: where it is, its argument as written, the step names it can lead to
    (None: not resolved), and the function it is in (`module:qualname`)."""

    path: str
    line: int
    source: str
    function: str
    targets: tuple[str, ...] | None


@dataclass
class _Function:
    module: str
    path: str
    qualname: str
    node: ast.FunctionDef | ast.AsyncFunctionDef
    class_name: str | None
    gos: list[ast.Call] = field(default_factory=list)
    calls: list[ast.Call] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return self.module, self.qualname


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(HANDLERS.rglob("*.py")):
        parts = path.relative_to(HANDLERS.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _functions(overrides: dict[str, str]) -> dict[tuple[str, str], _Function]:
    """Every module-level function and method in handlers/, with its Go calls and the
    other calls it makes; `overrides` replace a file's text (path → source)."""
    found = {}
    for module, path in _modules():
        shown = path.relative_to(HANDLERS.parent).as_posix()
        source = overrides.get(shown) or path.read_text(encoding="utf-8")
        for top in ast.parse(source).body:
            members = top.body if isinstance(top, ast.ClassDef) else [top]
            for node in members:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    in_class = top.name if isinstance(top, ast.ClassDef) else None
                    qualname = f"{in_class}.{node.name}" if in_class else node.name
                    found[module, qualname] = _Function(module, shown, qualname, node, in_class)
    for function in found.values():
        for node in ast.walk(function.node):
            if isinstance(node, ast.Call):
                is_go = isinstance(node.func, ast.Name) and node.func.id == "Go"
                (function.gos if is_go else function.calls).append(node)
    return found


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _lookup(module: str, dotted: str | None):
    """What `dotted` names at the top of `module` (None if nothing)."""
    value = importlib.import_module(module) if dotted else None
    for part in (dotted or "").split("."):
        value = getattr(value, part, None)
    return value


def _names_in(value) -> tuple[str, ...] | None:
    """The step names a value holds: a string, or a dict's values / a sequence of them."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple | set | frozenset) and value \
            and all(isinstance(v, str) for v in value):
        return tuple(sorted(set(value)))
    return None


def _argument(call: ast.Call) -> ast.expr | None:
    if call.args:
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg == "step"), None)


class _Resolver:
    """Resolves a Go argument inside `function`; `owners` are the step classes whose code
    it is (what `self.<attribute>` can be)."""

    def __init__(self, function: _Function, owners: list[type]):
        self.function, self.owners = function, owners

    def targets(self, node: ast.expr | None, seen: frozenset[str] = frozenset()
                ) -> tuple[str, ...] | None:
        if node is None:
            return None
        if ast.unparse(node) in WAYS_BACK:
            return (BACK,)
        if isinstance(node, ast.Constant):
            return (node.value,) if isinstance(node.value, str) else None
        if isinstance(node, ast.Call) and _dotted(node.func) in NOTICE_STEP_CALLS:
            return (NoticeAnswer.name,)
        if isinstance(node, ast.Subscript):
            return _names_in(_lookup(self.function.module, _dotted(node.value)))
        if isinstance(node, ast.IfExp):
            return self._either(node, seen)
        if isinstance(node, ast.Attribute) and _dotted(node.value) == "self":
            return _names_in([getattr(owner, node.attr, None) for owner in self.owners])
        if isinstance(node, ast.Name):
            return self._variable(node.id, seen)
        return None

    def _either(self, node: ast.IfExp, seen: frozenset[str]) -> tuple[str, ...] | None:
        """`a if c else b`; in `x if x in NAMES else b`, x is one of NAMES."""
        test = node.test
        guarded = (isinstance(test, ast.Compare) and len(test.ops) == 1
                   and isinstance(test.ops[0], ast.In) and isinstance(test.left, ast.Name)
                   and isinstance(node.body, ast.Name) and test.left.id == node.body.id)
        body = _names_in(_lookup(self.function.module, _dotted(test.comparators[0]))) \
            if guarded else self.targets(node.body, seen)
        orelse = self.targets(node.orelse, seen)
        return None if body is None or orelse is None else tuple(sorted({*body, *orelse}))

    def _variable(self, name: str, seen: frozenset[str]) -> tuple[str, ...] | None:
        """A local variable (every value assigned to it), or else a module's constant."""
        assigned = [node.value for node in ast.walk(self.function.node)
                    if isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name]
        if not assigned:
            constant = _lookup(self.function.module, name)
            return (constant,) if isinstance(constant, str) else None
        if name in seen:
            return None
        found: set[str] = set()
        for value in assigned:
            targets = self.targets(value, seen | {name})
            if targets is None:
                return None
            found |= set(targets)
        return tuple(sorted(found))


@dataclass(frozen=True)
class Graph:
    sites: tuple[GoSite, ...]
    edges: frozenset[tuple[str, str]]  # (step or COMMANDS, step)


def _owners(functions: dict) -> dict[tuple[str, str], list[type]]:
    """For each method, the registered steps whose code it is (their class or a base)."""
    owners: dict[tuple[str, str], list[type]] = {}
    for instance in STEPS.values():
        for base in type(instance).__mro__:
            for key, function in functions.items():
                if function.class_name == base.__name__ and key[0] == base.__module__:
                    owners.setdefault(key, []).append(type(instance))
    return owners


def _called(function: _Function, functions: dict) -> Iterator[tuple[str, str]]:
    """The module-level handlers/ functions this one calls by name."""
    for call in function.calls:
        found = _lookup(function.module, _dotted(call.func))
        key = (getattr(found, "__module__", None), getattr(found, "__qualname__", None))
        if key in functions and functions[key].class_name is None:
            yield key


def _walk(step_class: type, start: tuple[str, str], functions: dict,
          owners: dict) -> Iterator[tuple[_Function, tuple[str, ...] | None]]:
    """Each Go reached from the method `start` of a step, with what it names there."""
    todo, done = [start], set()
    while todo:
        key = todo.pop()
        if key in done:
            continue
        done.add(key)
        function = functions[key]
        resolver = _Resolver(function, [step_class] if key in owners else [])
        for call in function.gos:
            yield function, resolver.targets(_argument(call))
        todo += list(_called(function, functions))


def read_graph(overrides: dict[str, str] | None = None) -> Graph:
    """Every Go in handlers/ (resolved for all the steps whose code it is) and the edges
    between steps they make; a Go outside any step's code is an edge from COMMANDS.
    `overrides` (path → source) read other text for a file, as a test does."""
    functions = _functions(overrides or {})
    owners = _owners(functions)
    sites = []
    for key, function in functions.items():
        resolver = _Resolver(function, owners.get(key, []))
        for call in function.gos:
            argument = _argument(call)
            sites.append(GoSite(function.path, call.lineno,
                                ast.unparse(argument) if argument is not None else "",
                                f"{key[0]}:{key[1]}", resolver.targets(argument)))
    edges, reached = set(), set()
    for name, instance in STEPS.items():
        for key, classes in owners.items():
            if type(instance) in classes:
                for function, targets in _walk(type(instance), key, functions, owners):
                    reached.add(function.key)
                    edges |= {(name, t) for t in targets or () if t not in (BACK, name)}
    for site in sites:
        if tuple(site.function.split(":", 1)) not in reached:
            edges |= {(COMMANDS, t) for t in site.targets or () if t != BACK}
    return Graph(tuple(sorted(sites, key=lambda s: (s.path, s.line))), frozenset(edges))


def wrong_names(graph: Graph) -> list[str]:
    """Every Go that names no registered step, or whose argument cannot be resolved."""
    problems = []
    for site in graph.sites:
        where = f"{site.path}:{site.line} Go({site.source})"
        if site.targets is None:
            problems.append(f"{where}: cannot tell which step (see handlers/step_graph.py)")
        problems += [f"{where}: no step {name!r}" for name in site.targets or ()
                     if name != BACK and name not in STEPS]
    return problems


def _node(name: str) -> str:
    return name.replace(".", "_")


def mermaid(graph: Graph | None = None) -> str:
    """The steps as a Mermaid flowchart, grouped by their names' prefix, with an edge for
    each step another one can Go to; the global commands as one note."""
    graph = graph or read_graph()
    groups: dict[str, list[str]] = {}
    for name in sorted(STEPS):
        groups.setdefault(name.split(".")[0] if "." in name else "", []).append(name)
    lines = ["flowchart LR", f'  {COMMANDS}[/"{NOTE}"/]']
    for group, members in sorted(groups.items()):
        indent = "    " if group else "  "
        lines += [f"  subgraph {group}_steps[{group}]"] if group else []
        lines += [f'{indent}{_node(name)}["{name}"]' for name in members]
        lines += ["  end"] if group else []
    lines += [f"  {_node(source)} --> {_node(target)}" for source, target in sorted(graph.edges)]
    return "\n".join(lines) + "\n"
