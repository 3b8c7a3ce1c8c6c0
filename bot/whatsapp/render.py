"""Replies as WhatsApp text: choices as a numbered list with the "how to answer" line, long
texts split into messages of at most 1,600 characters (Twilio's limit for one WhatsApp
message) at paragraph, then line, then word boundaries, and a flattened one-line version
of a notice for a template variable."""

import re
from collections.abc import Iterable

from handlers.types import Reply

MAX_MESSAGE = 1600  # Twilio's limit for a WhatsApp body
MAX_VARIABLE = 900  # a template's body is at most 1,024 characters, fixed text included
SEPARATORS = ("\n\n", "\n", " ")


def units(text: str) -> int:
    """Length as Twilio counts it: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


def as_text(reply: Reply) -> str:
    """The reply's text, then '1. label' lines and the hint, kept in one paragraph. A
    notice's numbered choices are answered by typing the number right after it (the
    dialogue takes the next message as the answer to the notice); its hint also says how
    to act later from the menu."""
    if not reply.choices:
        return reply.text
    return f"{reply.text}\n\n" + "\n".join(_choice_lines(reply, hint_style="_"))


def _choice_lines(reply: Reply, hint_style: str = "") -> list[str]:
    """'1. label' for each choice, then the hint (in italics with hint_style='_')."""
    lines = [f"{number}. {choice.label}" for number, choice in enumerate(reply.choices, 1)]
    hint = [f"{hint_style}{reply.hint}{hint_style}"] if reply.hint and reply.choices else []
    return lines + hint


def messages(replies: Iterable[Reply], limit: int = MAX_MESSAGE) -> list[str]:
    """Every reply as one or more WhatsApp messages, in order."""
    return [part for reply in replies for part in split(as_text(reply), limit)]


def split(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Cut `text` into parts of at most `limit` units, each as long as it can be, breaking
    between paragraphs if possible, else between lines, else between words."""
    text = text.strip()
    if not text:
        return []
    return [part for part in (p.strip() for p in _split(text, limit, 0)) if part]


def _split(text: str, limit: int, level: int) -> list[str]:
    if units(text) <= limit:
        return [text]
    if level == len(SEPARATORS):
        return _cut(text, limit)
    separator = SEPARATORS[level]
    parts: list[str] = []
    current = ""
    for piece in text.split(separator):
        joined = f"{current}{separator}{piece}" if current else piece
        if units(joined) <= limit:
            current = joined
            continue
        if current:
            parts.append(current)
        smaller = _split(piece, limit, level + 1)
        parts.extend(smaller[:-1])
        current = smaller[-1]
    if current:
        parts.append(current)
    return parts


def _cut(text: str, limit: int) -> list[str]:
    """A word longer than a message: cut by characters, never inside one."""
    parts, current, size = [], [], 0
    for char in text:
        width = units(char)
        if size + width > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    return [*parts, "".join(current)]


def template_variable(reply: Reply, limit: int = MAX_VARIABLE, tail: str | None = None) -> str:
    """The notice's text (and hint) as one template variable: WhatsApp refuses variables
    holding line breaks, tabs or more than four spaces in a row, and long ones. `tail`
    (a link) is kept whole at the end; the text is cut to make room for it."""
    text = "\n".join([reply.text, *_choice_lines(reply)])
    flat = " · ".join(line.strip() for line in text.splitlines() if line.strip())
    flat = re.sub(r"\s+", " ", flat)
    ending = f" · {tail}" if tail else ""
    room = limit - units(ending)
    if units(flat) <= room:
        return flat + ending
    cut = flat
    while units(cut) > room - 1:
        cut = cut[:-1]
    return cut.rstrip() + "…" + ending
