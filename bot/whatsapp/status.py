"""Delivery status callbacks (POST /whatsapp/status): Twilio tells, for each message the
sender created with a StatusCallback, that it is queued, sent, delivered, read, failed or
undelivered. The outbox row with that Message SID records it (monotonically, see
delivery.py). Callbacks may come late, twice or out of order: every one is answered
200 unless it is not signed."""

import logging
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from twilio.request_validator import RequestValidator

from bot.whatsapp.delivery import record_status
from bot.whatsapp.form import BadSid, message_sid
from bot.whatsapp.sender import NOTICE_PARAMETER
from bot.whatsapp.signature import Refused, signed_form
from handlers.untrusted import as_number
from models.db import transaction

log = logging.getLogger(__name__)


def endpoint(runtime, validator: RequestValidator) -> Callable:
    """POST /whatsapp/status for this runtime."""

    async def status_callback(request: Request) -> Response:
        try:
            form = await signed_form(request, validator, runtime.settings.public_base_url)
        except Refused:
            return PlainTextResponse("forbidden", status_code=403)
        status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
        code = as_number((form.get("ErrorCode") or "").strip(), max_digits=9)
        try:
            sid = message_sid(form)
        except BadSid as problem:
            return PlainTextResponse(str(problem), status_code=400)
        if not status:
            return PlainTextResponse("MessageStatus is required", status_code=400)
        # the notice the message is, named in the callback URL the sender gave Twilio
        notice_id = as_number(request.query_params.get(NOTICE_PARAMETER, ""), max_digits=12)
        async with transaction(runtime.sessions) as session:
            changed = await record_status(session, sid, status, code, notice_id=notice_id,
                                          now=runtime.clock())
        log.debug("status %s for %s: %s", status, sid, "recorded" if changed else "ignored")
        return Response(status_code=200)

    return status_callback
