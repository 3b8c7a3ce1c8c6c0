"""The one rule for the language to answer a chat in: the person's, else the one chosen
while enrolling, else the app's (English when it says so), else Italian."""

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.messages import DEFAULT_LANGUAGE, LANGUAGES
from models.inbound import chat_language


def from_hint(hint: str | None) -> str:
    """The language a chat app reports (e.g. Telegram's 'en-GB'), as one we speak."""
    return "en" if hint and hint.startswith("en") else DEFAULT_LANGUAGE


def answer_in(chosen: str | None, hint: str | None) -> str:
    """The rule itself: the language chosen (the person's, or picked while enrolling) if
    we speak it, else the app's."""
    return chosen if chosen in LANGUAGES else from_hint(hint)


async def language_for(session: AsyncSession, channel: str, external_id: str | None,
                       hint: str | None = None) -> str:
    chosen = await chat_language(session, channel, external_id) if external_id else None
    return answer_in(chosen, hint)
