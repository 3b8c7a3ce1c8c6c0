"""Delivery status callbacks (POST /whatsapp/status): Twilio tells, for each message the
sender created with a StatusCallback, that it is queued, sent, delivered, read, failed or
undelivered. The outbox row with that Message SID records it (monotonically, see
models.whatsapp). Callbacks may come late, twice or out of order: every one is answered
200 unless it is not signed."""

import logging
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from twilio.request_validator import RequestValidator

from bot.whatsapp.errors import UNREACHABLE
from bot.whatsapp.signature import Refused, signed_form
from models.db import transaction
from models.whatsapp import record_delivery_status

log = logging.getLogger(__name__)


def endpoint(runtime, validator: RequestValidator) -> Callable:
    """POST /whatsapp/status for this runtime."""

    async def status_callback(request: Request) -> Response:
        try:
            form = await signed_form(request, validator, runtime.settings.public_base_url)
        except Refused:
            return PlainTextResponse("forbidden", status_code=403)
        sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
        status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
        error_code = (form.get("ErrorCode") or "").strip() or None
        if not sid or not status:
            return PlainTextResponse("MessageSid and MessageStatus are required",
                                     status_code=400)
        async with transaction(runtime.sessions) as session:
            changed = await record_delivery_status(
                session, sid, status, error_code,
                unreachable=error_code is not None and error_code.isdigit()
                and int(error_code) in UNREACHABLE, now=runtime.clock())
        log.debug("status %s for %s: %s", status, sid, "recorded" if changed else "ignored")
        return Response(status_code=200)

    return status_callback
