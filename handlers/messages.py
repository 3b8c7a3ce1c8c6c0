"""The message catalogue: every user-facing sentence, Italian first, English second,
kept in gettext .po files (handlers/locales/<lang>/LC_MESSAGES/messages.po) read with
Babel. Message ids are stable keys such as `home.worker`; texts use {named} fields."""

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = ("it", "en")
DEFAULT_LANGUAGE = "it"


@lru_cache(maxsize=len(LANGUAGES))
def catalogue(language: str) -> dict[str, str]:
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    return {m.id: m.string for m in catalog if m.id and m.string}


def text(language: str, key: str, **params) -> str:
    """The sentence for `key` in `language` (Italian when English lacks it)."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    template = catalogue(language).get(key) or catalogue(DEFAULT_LANGUAGE)[key]
    return template.format(**params)
