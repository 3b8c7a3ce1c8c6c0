"""What showing a notice needs from the store, beside the notice itself: where the earlier
notice it withdraws was sent, and a token for each of its choices (a button carries the
token, never the value). The notice's own life (queue, claim, outcome) is models/outbox.py."""

import secrets

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import ChoiceToken, Notice


async def sent_as(session: AsyncSession, dedupe_key: str | None) -> tuple[str, str] | None:
    """(channel, provider's message id) of the notice `dedupe_key`, if it was sent."""
    if not dedupe_key:
        return None
    earlier = (await session.exec(select(Notice).where(
        Notice.dedupe_key == dedupe_key))).first()
    if earlier is None or not earlier.channel or not earlier.provider_message_id:
        return None
    return earlier.channel, earlier.provider_message_id


def choice_token(session: AsyncSession, person_id: int, value: str) -> str:
    """A new token standing for `value` in this person's chats (added to the session)."""
    token = secrets.token_urlsafe(6)
    session.add(ChoiceToken(token=token, person_id=person_id, value=value))
    return token
