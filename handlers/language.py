"""The one rule for the language to answer a chat in: the person's, else the one chosen
while enrolling, else the app's (English when it says so), else Italian."""

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.messages import DEFAULT_LANGUAGE, LANGUAGES
from models.inbound import chat_language


def from_hint(hint: str | None) -> str:
    """The language a chat app reports (e.g. Telegram's 'en-GB'), as one we speak."""
    return "en" if hint and hint.startswith("en") else DEFAULT_LANGUAGE


async def language_for(session: AsyncSession, channel: str, external_id: str | None,
                       hint: str | None = None) -> str:
    chosen = await chat_language(session, channel, external_id) if external_id else None
    return chosen if chosen in LANGUAGES else from_hint(hint)
