"""What Twilio's status callbacks mean for a notice, told to the store (models.outbox)
in its own channel-free terms: news recorded only over a lower status ("sent" after
"delivered" is ignored, and so is "failed" after "delivered": the person has it; a read
or delivered receipt after a failure wins, as proof that the message arrived); a message
refused because the 24-hour window had closed (Twilio's clock, not ours) waits for the
person to write; one the number cannot receive goes to the person's other chat."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.whatsapp.errors import OUTSIDE_WINDOW, UNREACHABLE
from bot.whatsapp.sender import WhatsAppSender
from bot.whatsapp.window import WINDOW_HOLD
from models import outbox

# How far along a message is.
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


def report_for(status: str, error_code: int | None = None) -> outbox.DeliveryReport | None:
    """The store's report for Twilio's `status` (and `ErrorCode`); None for a status this
    adapter does not know."""
    rank = PROGRESS.get(status)
    if rank is None:
        return None
    over = tuple(name for name, value in PROGRESS.items() if value < rank)
    if status in ARRIVED:
        return outbox.DeliveryReport(status, over, arrived=True)
    if status in NOT_ARRIVED:
        detail = f" (Twilio error {error_code})" if error_code is not None else ""
        hold = WINDOW_HOLD if error_code == OUTSIDE_WINDOW else None
        return outbox.DeliveryReport(status, over, failed=f"{status}{detail}", hold=hold)
    return outbox.DeliveryReport(status, over)


async def record_status(session: AsyncSession, message_sid: str, status: str,
                        error_code: int | None, *, notice_id: int | None,
                        now: datetime) -> bool:
    """Record one callback: first, when the callback URL names a notice whose send's
    outcome is unknown, that the send went through; then the status itself. Whether the
    notice's delivery status changed."""
    report = report_for(status, error_code)
    if report is None:
        return False
    if notice_id is not None:
        await outbox.settle_unknown_send(session, notice_id, channel=WhatsAppSender.channel,
                                         provider_message_id=message_sid, now=now)
    changed = await outbox.record_delivery(session, message_sid, report)
    if changed and error_code in UNREACHABLE and status in NOT_ARRIVED:
        await outbox.reroute_unreachable(session, message_sid, now)
    return changed
