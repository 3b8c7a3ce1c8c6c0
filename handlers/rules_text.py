"""The catalogue rules' refusals (models/catalog_rules.py) in a person's language: next to
a form's field in the console, after the entry on the command line."""

from handlers import formatting, messages
from models.catalog_rules import Problem


def reason(problem: Problem, language: str) -> str:
    """Why the field was refused, e.g. «Il prezzo deve essere maggiore di zero.»"""
    params = {name: formatting.money(value, language) if name.endswith("_cents") else value
              for name, value in problem.params.items()}
    return messages.text(language, problem.key, **params)


def describe(located: list[tuple[str, Problem]], language: str = "it") -> str:
    """One line per problem: entry, field and reason (the catalogue file's errors)."""
    field = messages.text(language, "rules.field")
    return "\n".join(f"{entry}, {field} {problem.field}: {reason(problem, language)}"
                     for entry, problem in located)
