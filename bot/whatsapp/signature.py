"""Twilio's request signature (X-Twilio-Signature), checked against the public URL Twilio
called — PUBLIC_BASE_URL + path + query, so it holds behind a proxy or a tunnel that
changes the host, the scheme or the port — over every form parameter received."""

import logging

from starlette.datastructures import FormData
from starlette.requests import Request
from twilio.request_validator import RequestValidator

from handlers.untrusted import as_number

log = logging.getLogger(__name__)
HEADER = "X-Twilio-Signature"


def public_url(request: Request, base_url: str | None) -> str:
    """The URL Twilio was given for this endpoint. Without PUBLIC_BASE_URL, the URL the
    server saw (right only when nothing sits between Twilio and this process)."""
    path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    suffix = path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
    if base_url:
        return base_url.rstrip("/") + suffix
    return f"{request.url.scheme}://{request.url.netloc}{suffix}"


def is_signed(request: Request, form: FormData, validator: RequestValidator,
              base_url: str | None) -> bool:
    """True when the signature header matches this URL and these parameters."""
    signature = request.headers.get(HEADER)
    if not signature:
        return False
    if any(not isinstance(value, str) for _, value in form.multi_items()):
        return False  # Twilio posts url-encoded text, never files
    valid = validator.validate(public_url(request, base_url), form, signature)
    if not valid:
        log.warning("refused a request to %s with a wrong Twilio signature", request.url.path)
    return valid


MAX_BODY = 64 * 1024  # Twilio's webhooks are a few hundred bytes
MAX_FIELDS = 200


class Refused(Exception):
    """The request is not one Twilio signed (or is too big to be one): answer 403."""


async def signed_form(request: Request, validator: RequestValidator,
                      base_url: str | None) -> FormData:
    """The form of a request Twilio signed, or Refused."""
    declared = request.headers.get("content-length")
    size = as_number(declared) if declared is not None else 0
    if size is None or size > MAX_BODY:
        raise Refused("body too large")
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    if not is_signed(request, form, validator, base_url):
        raise Refused("bad signature")
    return form
