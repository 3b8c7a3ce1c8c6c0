"""Typed answers to offered choices: by number, by the label's words, or by its first
letters. Used by every channel that has no buttons (console, WhatsApp)."""

import re
import unicodedata
from collections.abc import Sequence

SIGNED_NUMBER = re.compile(r"[-+\u2212\u2013\u2014]\s*\d+(?:[.,]\d+)?")


def is_number(text: str) -> bool:
    """A typed number, signed or not ("6", "-5", "+3", "2,5"): as an answer to choices it
    is a choice's number or nothing, never words."""
    return bool(SIGNED_NUMBER.fullmatch(text.strip()) or fold(text).replace(" ", "").isdigit())


def fold(text: str) -> str:
    """Lower case, no accents, no punctuation, single spaces: 'Lunedì, 3!' → 'lunedi 3'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


def clean_text(text: str) -> str:
    """Drop control characters (but keep line breaks) and surrounding space."""
    kept = (ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return "".join(kept).strip()


def match_choice(text: str, labels: Sequence[str]) -> list[int]:
    """Indexes of the labels the text selects; one index means an unambiguous match."""
    answer = fold(text)
    if not answer or not labels or SIGNED_NUMBER.fullmatch(text.strip()):
        return []  # "-2", "+3": a number with a sign is never a choice's number
    if answer.isdigit():
        number = int(answer)
        return [number - 1] if 1 <= number <= len(labels) else []
    folded = [fold(label) for label in labels]
    for rule in (_same, _prefix, _all_words, _initials):
        found = [i for i, label in enumerate(folded) if rule(answer, label)]
        if found:
            return found
    return []


def _same(answer: str, label: str) -> bool:
    return answer == label


def _prefix(answer: str, label: str) -> bool:
    return len(answer) >= 2 and label.startswith(answer)


def _all_words(answer: str, label: str) -> bool:
    words = label.split()
    return all(any(w.startswith(part) for w in words) for part in answer.split()
               if len(part) >= 2) and any(len(part) >= 2 for part in answer.split())


def _initials(answer: str, label: str) -> bool:
    letters = "".join(word[0] for word in label.split() if word)
    return len(answer) >= 2 and " " not in answer and letters.startswith(answer)
