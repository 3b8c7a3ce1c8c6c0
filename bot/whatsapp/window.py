"""WhatsApp's 24-hour window: free text reaches a person only within 24 hours of their
last message; outside it only an approved template does. A notice that cannot go is held
with `WINDOW_HOLD` until the person writes again (the store releases it then)."""

from datetime import datetime, timedelta

from models.tables import ChatIdentity

WINDOW = timedelta(hours=24)
# Twilio measures the window from when it received the person's message, a moment before
# we stored it, and our request takes a moment to reach it: keep clear of the edge.
WINDOW_MARGIN = timedelta(minutes=5)
WINDOW_HOLD = "whatsapp_window"  # the held reason (and the sender's error) outside it


def in_window(identity: ChatIdentity, now: datetime) -> bool:
    last = identity.last_inbound_at
    return last is not None and now - last < WINDOW - WINDOW_MARGIN
