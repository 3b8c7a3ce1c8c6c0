"""Logging for people who run the product: plain lines (LOG_FORMAT=text, the default) or
one JSON object per line (LOG_FORMAT=json) for a log shipper, with the time, level,
logger, message, and where there is one the update id, the chat (a short hash, never the
number or id itself) and the notice id.

No personal data at INFO or above: nothing logs the text people type, chats are named by
`hashed()`, and as a safety net every line has phone numbers and Telegram bot tokens
replaced (by a hash, and by «<token>»). The libraries that would log every request with
its address (httpx: the Bot API URL carries the bot's token; twilio: the numbers) are
kept at WARNING."""

import contextvars
import hashlib
import hmac
import json
import logging
import re
import sys
from datetime import UTC, datetime

_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "intempo_log_context", default=None)
_key = [b"intempo"]
PHONE = re.compile(r"(?<![\w/])(?:whatsapp:)?\+\d{8,15}\b")
BOT_TOKEN = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}")
QUIET_LIBRARIES = ("httpx", "httpcore", "twilio.http_client", "alembic")
STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


def hashed(value) -> str:
    """A short stable stand-in for a chat id or a phone number (keyed by SIGNING_SECRET
    when set, so it cannot be reversed by trying every number)."""
    digest = hmac.new(_key[0], str(value).encode(), hashlib.sha256).hexdigest()
    return f"#{digest[:10]}"


def bind(**fields) -> contextvars.Token:
    """Add fields (update_id, chat, notice_id) to every line logged from here on in this
    task; `chat` is hashed. Returns a token for `unbind`."""
    if "chat" in fields and fields["chat"] is not None:
        fields["chat"] = hashed(fields["chat"])
    return _context.set({**(_context.get() or {}), **fields})


def unbind(token: contextvars.Token) -> None:
    _context.reset(token)


def scrub(text: str) -> str:
    text = BOT_TOKEN.sub("<token>", text)
    return PHONE.sub(lambda match: hashed(match.group(0).removeprefix("whatsapp:")), text)


class AccessLines(logging.Filter):
    """uvicorn's access lines without what would identify a person or open a file: the
    client's address becomes a hash, the query string (a signed link's signature) goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) \
                and len(record.args) == 5:
            client, method, path, version, status = record.args
            record.args = (hashed(str(client).rsplit(":", 1)[0]), method,
                           str(path).split("?", 1)[0], version, status)
        return True


class Scrubbed(logging.Formatter):
    """Plain lines, scrubbed."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class JsonLines(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                 "level": record.levelname, "logger": record.name,
                 "message": scrub(record.getMessage())}
        entry.update(_context.get() or {})
        for key, value in vars(record).items():  # fields given with extra={...}
            if key not in STANDARD and key not in entry:
                entry[key] = value if isinstance(value, int | float | bool) else scrub(
                    str(value))
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure(settings, stream=None) -> logging.Handler:
    """Set up the root logger from LOG_LEVEL and LOG_FORMAT; returns its handler."""
    secret = settings.signing_secret
    _key[0] = secret.get_secret_value().encode() if secret is not None else b"intempo"
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(AccessLines())
    if settings.log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(Scrubbed("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # a uvicorn configured earlier in this process (its log config, its log level)
        # gave these their own handlers and level: every line goes through ours instead
        uvicorn_logger = logging.getLogger(name)
        for old in list(uvicorn_logger.handlers):
            uvicorn_logger.removeHandler(old)
        uvicorn_logger.setLevel(logging.NOTSET)
        uvicorn_logger.propagate, uvicorn_logger.disabled = True, False
    return handler
