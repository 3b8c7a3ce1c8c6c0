"""Step names are checked: every `Go(...)` in handlers/ names a registered step (or, from
the code, one the checker can tell), and the README's graph of steps is the one the code
makes now (`intempo steps graph --readme` rewrites it)."""

from pathlib import Path

from bot.cli import main
from bot.steps_cli import END, README, START, readme_block, with_graph
from handlers import dialogue
from handlers.flow import STEPS
from handlers.step_graph import BACK, COMMANDS, mermaid, read_graph, wrong_names
from handlers.steps import notice

REQUEST_STEPS = "handlers/steps/request.py"
STAFF_ACTIONS = "handlers/steps/staff_actions.py"


def source(path: str) -> str:
    return (README.parent / path).read_text(encoding="utf-8")


def test_every_go_names_a_registered_step():
    graph = read_graph()
    assert wrong_names(graph) == []
    # the checker saw the Go calls there are, literal and computed
    by_source = {site.source: site for site in graph.sites}
    assert "'req.service'" in by_source
    assert by_source["TARGETS[value]"].targets is not None
    assert set(by_source["self.next_step"].targets) == {"staff.job", "op.offer", "op.job"}
    assert by_source["ACTION_STEPS[value]"].targets == (
        "staff.assign", "staff.cancel", "staff.handle", "staff.write")
    assert by_source["previous"].targets == (BACK,)
    assert len(graph.sites) > 40


def test_a_misspelt_step_fails_the_check():
    """The same checker, over request.py with one name misspelt, finds it and says where."""
    text = source(REQUEST_STEPS)
    assert text.count('Go("req.service")') == 1
    misspelt = text.replace('Go("req.service")', 'Go("req.servce")')
    problems = wrong_names(read_graph({REQUEST_STEPS: misspelt}))
    assert len(problems) == 1
    assert problems[0].startswith(f"{REQUEST_STEPS}:")
    assert problems[0].endswith("Go('req.servce'): no step 'req.servce'")


def test_a_go_the_checker_cannot_read_fails_too():
    """A name built at run time (an f-string) cannot be checked: it is refused, not passed."""
    text = source(STAFF_ACTIONS)
    assert text.count("Go(ACTION_STEPS[value])") == 1
    built = text.replace("Go(ACTION_STEPS[value])", 'Go(f"staff.{value}")')
    problems = wrong_names(read_graph({STAFF_ACTIONS: built}))
    assert problems == [p for p in problems if "cannot tell which step" in p]
    assert len(problems) == 1 and "Go(f'staff.{value}')" in problems[0]


def test_a_notice_step_name_is_the_notice_step():
    """Go(notice_step.step_name(id)) is read as the notice step: dialogue.step_for agrees."""
    assert dialogue.step_for(notice.step_name(7)) is STEPS[notice.NoticeAnswer.name]


def test_the_graph_reaches_every_step():
    edges = read_graph().edges
    reached = {target for _, target in edges}
    assert set(STEPS) - reached == {"home", "welcome"}  # where a chat starts
    assert ("staff.job", "staff.assign") in edges
    assert ("op.available", "op.offer") in edges and ("op.available", "op.job") not in edges
    assert ("notice", "op.job") in edges  # accepting an offer from its notice
    assert (COMMANDS, "coord.stats") in edges  # /stats from anywhere


def test_the_readme_shows_the_graph_the_code_makes():
    readme = README.read_text(encoding="utf-8")
    assert readme.count(START) == 1 and readme.count(END) == 1
    assert readme_block(mermaid()) in readme, \
        "README's graph of steps is stale: run `intempo steps graph --readme`"


def test_the_command_prints_and_writes_the_graph(tmp_path: Path, monkeypatch, capsys):
    assert main(["steps", "graph"]) == 0
    printed = capsys.readouterr().out
    assert printed == mermaid() and printed.startswith("flowchart LR\n")
    assert '    req_service["req.service"]' in printed
    assert "  req_category --> req_service" in printed

    stale = tmp_path / "README.md"
    stale.write_text(f"intro\n{START}\nold\n{END}\nrest\n", encoding="utf-8")
    monkeypatch.setattr("bot.steps_cli.README", stale)
    assert main(["steps", "graph", "--readme"]) == 0
    assert stale.read_text(encoding="utf-8") == f"intro\n{readme_block(mermaid())}\nrest\n"
    assert with_graph(stale.read_text(encoding="utf-8"), mermaid()) == \
        stale.read_text(encoding="utf-8")
