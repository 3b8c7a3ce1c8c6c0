"""`intempo steps graph`: the dialogue's steps and where each can lead, read from the code
(handlers/step_graph.py), as a Mermaid flowchart; `--readme` writes it into README.md
between its markers, so the diagram there is always the code's."""

import sys
from pathlib import Path

START, END = "<!-- steps-graph:start -->", "<!-- steps-graph:end -->"
README = Path(__file__).resolve().parent.parent / "README.md"


def readme_block(diagram: str) -> str:
    return f"{START}\n```mermaid\n{diagram}```\n{END}"


def with_graph(readme: str, diagram: str) -> str:
    """The README's text with the diagram between the markers replaced."""
    before, start, rest = readme.partition(START)
    _, end, after = rest.partition(END)
    if not start or not end:
        raise ValueError(f"README.md has no {START} … {END} markers")
    return before + readme_block(diagram) + after


def add_parser(commands) -> None:
    group = commands.add_parser("steps", help="the dialogue's steps")
    actions = group.add_subparsers(required=True, metavar="ACTION")
    graph = actions.add_parser("graph", help="print the graph of steps (Mermaid)")
    graph.add_argument("--readme", action="store_true",
                       help="write it into README.md between its markers instead")
    graph.set_defaults(run=steps_graph)


def steps_graph(settings, args) -> int:
    from handlers.step_graph import mermaid  # read from the code only when asked for

    diagram = mermaid()
    if not args.readme:
        sys.stdout.write(diagram)
        return 0
    README.write_text(with_graph(README.read_text(encoding="utf-8"), diagram),
                      encoding="utf-8")
    print(f"graph of steps written into {README}")
    return 0
