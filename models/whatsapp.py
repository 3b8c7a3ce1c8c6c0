"""Store operations for the WhatsApp channel: opting a number out of (and back into)
proactive messages, noting an inbound message the dialogue does not see, and recording
Twilio's delivery status on an outbox row — monotonically, so callbacks arriving late or
twice never move a notice backwards."""

from datetime import datetime

from sqlmodel import or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import NoticeStatus, utcnow
from models.outbox import release_held
from models.people import usable
from models.tables import ChatIdentity, Notice

# How far along a message is. A status is recorded only over a lower one: "sent" after
# "delivered" is ignored, and so is "failed" after "delivered" (the person has it). A read
# or delivered receipt after a failure wins: it is proof that the message arrived.
PROGRESS = {
    "accepted": 0, "queued": 0,
    "sending": 1,
    "sent": 2,
    "failed": 3, "undelivered": 3,
    "delivered": 4,
    "read": 5,
}
ARRIVED = ("delivered", "read")
NOT_ARRIVED = ("failed", "undelivered")
OUTSIDE_WINDOW = "63016"  # Twilio: free text sent outside the 24-hour window
WINDOW_HOLD = "whatsapp_window"


async def opt_out(session: AsyncSession, identity: ChatIdentity, now: datetime) -> None:
    """No proactive message goes to this chat any more (the dispatcher skips it)."""
    identity.opted_out_at = identity.opted_out_at or now
    identity.last_inbound_at = now
    session.add(identity)


async def opt_in(session: AsyncSession, identity: ChatIdentity) -> bool:
    """Proactive messages may go to this chat again; False if it had not opted out."""
    was_out = identity.opted_out_at is not None
    identity.opted_out_at = None
    session.add(identity)
    return was_out


async def note_inbound(session: AsyncSession, identity: ChatIdentity, now: datetime) -> None:
    """The person wrote (something the dialogue does not read, e.g. a photo): their 24-hour
    window is open again and the notices held for them are due."""
    identity.last_inbound_at, identity.unreachable_at = now, None
    session.add(identity)
    if identity.person_id is not None:
        await release_held(session, identity.person_id, now)


async def claim_unknown_send(session: AsyncSession, notice_id: int, message_sid: str,
                             status: str, now: datetime) -> bool:
    """Twilio's news of a message sent for `notice_id` (named in its callback URL) while
    the notice still waits for the outcome of a send: the send went through, so the notice
    is sent (with this SID) and not sent again. False when there was nothing to settle."""
    if status not in PROGRESS:
        return False
    changed = await session.exec(
        update(Notice)
        .where(Notice.id == notice_id, Notice.in_flight_at.is_not(None),
               Notice.provider_message_id.is_(None), Notice.status == NoticeStatus.PENDING)
        .values(status=NoticeStatus.SENT, sent_at=now, provider_message_id=message_sid,
                channel="whatsapp", in_flight_at=None, in_flight_chat_id=None,
                claimed_until=None, last_error=None))
    return changed.rowcount > 0


async def record_delivery_status(session: AsyncSession, message_sid: str, status: str,
                                 error_code: str | None = None, *,
                                 unreachable: bool = False, now: datetime | None = None) -> bool:
    """Record Twilio's status for the notice sent as `message_sid`, if it moves it forward.
    One conditional UPDATE, so concurrent callbacks cannot overtake each other. Returns
    whether a notice changed (False for unknown SIDs, unknown statuses and stale news).
    `unreachable`: the failure says the number cannot get WhatsApp messages from us; the
    chat is marked and the notice goes to the person's other chat (or waits for them)."""
    rank = PROGRESS.get(status)
    if rank is None:
        return False
    behind = [name for name, value in PROGRESS.items() if value < rank]
    values: dict = {"delivery_status": status}
    if status in ARRIVED:
        values |= {"status": NoticeStatus.DELIVERED, "last_error": None}
    elif status in NOT_ARRIVED and error_code == OUTSIDE_WINDOW:
        # Twilio found the window closed (its clock, not ours): wait for the person to write
        values |= {"status": NoticeStatus.HELD, "held_reason": WINDOW_HOLD,
                   "last_error": f"{status} (Twilio error {error_code})"}
    elif status in NOT_ARRIVED:
        detail = f" (Twilio error {error_code})" if error_code else ""
        values |= {"status": NoticeStatus.FAILED, "last_error": f"{status}{detail}"}
    changed = await session.exec(
        update(Notice)
        .where(Notice.provider_message_id == message_sid,
               or_(Notice.delivery_status.is_(None), Notice.delivery_status.in_(behind)))
        .values(**values))
    if changed.rowcount and unreachable and status in NOT_ARRIVED:
        await _try_elsewhere(session, message_sid, now or utcnow())
    return changed.rowcount > 0


async def _try_elsewhere(session: AsyncSession, message_sid: str, now: datetime) -> None:
    """The WhatsApp chat the notice went to cannot be reached: mark it (the digest lists
    people unreachable everywhere) and send the notice again, to the person's other chat if
    they have one, else when they next write."""
    notice = (await session.exec(select(Notice).where(
        Notice.provider_message_id == message_sid))).one()
    chats = (await session.exec(select(ChatIdentity).where(
        ChatIdentity.person_id == notice.person_id))).all()
    for chat in chats:
        if chat.channel == notice.channel:
            chat.unreachable_at = now
            session.add(chat)
    elsewhere = any(chat.channel != notice.channel and usable(chat) for chat in chats)
    notice.status = NoticeStatus.PENDING if elsewhere else NoticeStatus.HELD
    notice.held_reason = None if elsewhere else "unreachable"
    notice.next_attempt_at, notice.claimed_until = now, None
    session.add(notice)
