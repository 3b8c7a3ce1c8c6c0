"""What a failed Twilio request means for the notice: try again later, try the person's
other chat, wait for them to write, or give up."""

import asyncio

import aiohttp
from twilio.base.exceptions import TwilioRestException, TwilioServiceException

from bot.whatsapp.window import WINDOW_HOLD
from handlers.sending import SendResult

OUTSIDE_WINDOW = 63016  # free text sent outside the 24-hour window
# the number cannot receive from us on WhatsApp: mark this chat, try the person's others
UNREACHABLE = {
    21211,  # invalid 'To' number
    21610,  # the recipient unsubscribed (opted out at Twilio)
    21612,  # 'To' not reachable
    21614,  # 'To' is not a mobile number
    63003,  # the channel could not find the 'To' address (no WhatsApp on that number)
    63024,  # invalid message recipient
}
# worth retrying with back-off, whatever the HTTP status says
TRANSIENT = {
    20003,  # authentication: a configuration being fixed should not lose notices
    20429,  # too many requests
    20500, 20503,  # Twilio internal error / service unavailable
    63017, 63018,  # rate limits (account, WhatsApp sender)
}
NETWORK = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


def classify(error: Exception) -> SendResult:
    """The SendResult for an exception raised by `messages.create_async`; anything not
    from Twilio or the network is re-raised (the dispatcher logs it and retries)."""
    if isinstance(error, TwilioRestException | TwilioServiceException):
        code = _int(error.code)
        status = _int(error.status)
        detail = getattr(error, "msg", None) or getattr(error, "title", None) or ""
        label = f"twilio {code}: {detail}".strip()[:500]
        if code == OUTSIDE_WINDOW:
            return SendResult(ok=False, error=WINDOW_HOLD, hold=True, permanent=True)
        if code in UNREACHABLE:
            return SendResult(ok=False, error=label, permanent=True, unreachable=True)
        if code in TRANSIENT or status == 429 or status >= 500:
            return SendResult(ok=False, error=label)
        return SendResult(ok=False, error=label, permanent=True)
    if isinstance(error, NETWORK):
        return SendResult(ok=False, error=f"network: {type(error).__name__}: {error}"[:500])
    raise error


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
