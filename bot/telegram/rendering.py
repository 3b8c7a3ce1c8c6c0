"""The dialogue's replies → Telegram messages: plain text (no parse mode, so nothing a user
typed can break the markup) cut to Telegram's 4096-character limit, and the choices as an
inline keyboard on the last part. Pure functions, no I/O."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.types import Choice, Reply

log = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 4096  # counted in UTF-16 code units, as Telegram counts
MAX_CALLBACK_DATA_BYTES = 64
SHORT_LABEL = 18  # two buttons of this length fit side by side on a phone
CHOSEN_MARK = "✔️"


@dataclass(frozen=True)
class OutgoingMessage:
    text: str
    keyboard: InlineKeyboardMarkup | None = None


def render_reply(reply: Reply) -> list[OutgoingMessage]:
    parts = split_text(reply.text)
    keyboard = keyboard_for(reply.choices)
    return [*(OutgoingMessage(part) for part in parts[:-1]),
            OutgoingMessage(parts[-1], keyboard)]


def keyboard_for(choices: Sequence[Choice]) -> InlineKeyboardMarkup | None:
    """One button per row; two side by side when both labels are short (e.g. days, times,
    "Back" and "Menu")."""
    rows: list[list[InlineKeyboardButton]] = []
    pending_short: InlineKeyboardButton | None = None
    for choice in choices:
        if len(choice.payload.encode()) > MAX_CALLBACK_DATA_BYTES:
            log.error("choice %r left out: payload longer than Telegram allows", choice.label)
            continue
        button = InlineKeyboardButton(choice.label, callback_data=choice.payload)
        if utf16_length(choice.label) > SHORT_LABEL:
            if pending_short is not None:
                rows.append([pending_short])
                pending_short = None
            rows.append([button])
        elif pending_short is None:
            pending_short = button
        else:
            rows.append([pending_short, button])
            pending_short = None
    if pending_short is not None:
        rows.append([pending_short])
    return InlineKeyboardMarkup(rows) if rows else None


def chosen_text(original: str, label: str) -> str:
    """The text of a message whose keyboard was used, with the choice made shown under it."""
    suffix = f"\n\n{CHOSEN_MARK} {label}"
    room = MAX_MESSAGE_LENGTH - utf16_length(suffix)
    if utf16_length(original) > room:
        original = _prefix_within(original, room - 1).rstrip() + "…"
    return original + suffix


def split_text(text: str, limit: int = MAX_MESSAGE_LENGTH) -> list[str]:
    """Cut `text` into parts of at most `limit` UTF-16 units, preferably between paragraphs,
    then between lines, then between words."""
    parts = []
    rest = text
    while utf16_length(rest) > limit:
        head = _prefix_within(rest, limit)
        cut = _best_cut(head)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    parts.append(rest)
    return [part for part in parts if part] or [text]


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _prefix_within(text: str, limit: int) -> str:
    """The longest prefix of `text` that is at most `limit` UTF-16 units long."""
    end = min(len(text), limit)
    while utf16_length(text[:end]) > limit:  # only characters outside the BMP count twice
        end -= max(1, (utf16_length(text[:end]) - limit) // 2)
    return text[:end]


def _best_cut(head: str) -> int:
    for separator in ("\n\n", "\n", " "):
        position = head.rfind(separator)
        if position > len(head) // 2:  # not so early that the part is tiny
            return position
    return len(head)
