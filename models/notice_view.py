"""What showing a notice needs from the store, beside the notice itself: whether what its
choices act on still stands, where the earlier notice it withdraws was sent, and a token
for each of its choices (a button carries the token, never the value). The notice's own
life (queue, claim, outcome) is models/outbox.py."""

import secrets

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import RequestStatus
from models.tables import ChoiceToken, Notice, Offer, ServiceRequest


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


async def still_stands(session: AsyncSession, notice: Notice) -> bool:
    """Whether what a notice's choices act on still stands: an offer still open (not for a
    request cancelled, taken or whose worker was erased), a reminder's request still open.
    A notice without choices always stands."""
    for choice in notice.choices:
        kind, _, rest = choice["value"].partition(":")
        target = rest.rpartition(":")[2]
        if not target.isdigit():
            continue
        if kind == "offer":
            offer = await session.get(Offer, int(target))
            request = await session.get(ServiceRequest, offer.request_id) if offer else None
            if offer is None or offer.status != "open" or request is None \
                    or request.status != RequestStatus.PENDING:
                return False
        if kind == "reminder":
            request = await session.get(ServiceRequest, int(target))
            if request is None or request.status not in RequestStatus.open():
                return False
    return True
