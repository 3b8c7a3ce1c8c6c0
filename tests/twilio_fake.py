"""A small Twilio Messages API of our own, served by uvicorn on loopback, for the tests of
the WhatsApp sender: the real `twilio` client (with its aiohttp-based async HTTP client)
talks to it over HTTP exactly as it would to api.twilio.com.

It checks what Twilio checks first (Basic auth with the account SID and token, the
account in the path, `To`, a sender, a body or a template, no parameter unknown to
Twilio's OpenAPI description), records every request for the test to inspect, answers
201 with a fresh Message SID, and can be told to fail the next requests with a given
HTTP status and Twilio error code."""

import asyncio
import base64
import contextlib
import itertools
import json
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def _find_spec() -> Path:
    """Twilio's OpenAPI description of the Messages API: INTEMPO_TWILIO_OAI, else beside the
    repository (../shared/twilio-oai/), else a copy in tests/data/."""
    name = "twilio_messages_v2010.json"
    candidates = [Path(os.environ["INTEMPO_TWILIO_OAI"])] \
        if os.environ.get("INTEMPO_TWILIO_OAI") else []
    root = Path(__file__).resolve().parents[1]
    candidates += [root.parent / "shared" / "twilio-oai" / name, root / "tests" / "data" / name]
    return next((path for path in candidates if path.exists()), candidates[0])


SPEC = _find_spec()
MESSAGES = "/2010-04-01/Accounts/{account}/Messages.json"
# the parameters of POST …/Messages.json in Twilio's OpenAPI description (used when the
# description is not next to the repository)
KNOWN_PARAMETERS = {
    "To", "StatusCallback", "ApplicationSid", "MaxPrice", "ProvideFeedback", "Attempt",
    "ValidityPeriod", "ForceDelivery", "ContentRetention", "AddressRetention",
    "SmartEncoded", "PersistentAction", "TrafficType", "ShortenUrls", "ScheduleType",
    "SendAt", "SendAsMms", "ContentVariables", "RiskCheck", "From", "FallbackFrom",
    "MessagingServiceSid", "Body", "MediaUrl", "ContentSid",
}


def known_parameters() -> set[str]:
    if not SPEC.exists():
        return KNOWN_PARAMETERS
    spec = json.loads(SPEC.read_text())
    post = spec["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]["post"]
    schema = post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    return set(schema["properties"])


@dataclass
class Recorded:
    """One request the client made."""

    method: str
    path: str
    form: dict[str, list[str]]
    headers: dict[str, str]
    created: bool = False  # answered 201
    sid: str = ""  # the Message SID it was given, when created
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def one(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    requests: list[Recorded] = field(default_factory=list)
    scripted: list[tuple[int, dict]] = field(default_factory=list)
    parameters: set[str] = field(default_factory=known_parameters)
    base_url: str = ""  # set while served
    delay: float = 0.0  # seconds each message creation takes (a send stays in flight)
    answering: int = 0  # messages created whose answer has not gone back yet
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def fail_next(self, http_status: int, code: int, message: str = "scripted failure",
                  times: int = 1) -> None:
        """The next `times` requests get this Twilio error (after being recorded)."""
        payload = {"code": code, "message": message, "status": http_status,
                   "more_info": f"https://www.twilio.com/docs/errors/{code}"}
        self.scripted += [(http_status, payload)] * times

    @property
    def sent(self) -> list[Recorded]:
        """The requests that created a message (201)."""
        return [r for r in self.requests if r.created]

    def app(self) -> Starlette:
        return Starlette(routes=[Route(MESSAGES, self._create, methods=["POST"]),
                                 Route(MESSAGES, self._list, methods=["GET"])])

    async def _list(self, request: Request) -> JSONResponse:
        """GET …/Messages.json: the messages created, newest first, filtered by To and
        From as Twilio filters them (one page)."""
        self.requests.append(Recorded(request.method, request.url.path,
                                      {k: [v] for k, v in request.query_params.items()},
                                      dict(request.headers)))
        if request.headers.get("authorization") != self._basic():
            return _error(401, 20003, "Authenticate")
        wanted = {name: request.query_params.get(name) for name in ("To", "From")}
        messages = [self._message(record.sid, record) for record in reversed(self.sent)
                    if all(value is None or record.one(name) == value
                           for name, value in wanted.items())]
        path = request.url.path
        return JSONResponse({"messages": messages, "page": 0, "page_size": 50,
                             "first_page_uri": path, "next_page_uri": None,
                             "previous_page_uri": None, "uri": path, "start": 0,
                             "end": max(len(messages) - 1, 0)})

    async def _create(self, request: Request) -> JSONResponse:
        form = await request.form()
        record = Recorded(request.method, request.url.path,
                          {key: form.getlist(key) for key in form},
                          dict(request.headers))
        self.requests.append(record)
        if request.headers.get("authorization") != self._basic():
            return _error(401, 20003, "Authenticate")
        if request.path_params["account"] != self.account_sid:
            return _error(404, 20404, "The requested resource was not found")
        if self.scripted:
            status, payload = self.scripted.pop(0)
            return JSONResponse(payload, status_code=status)
        problem = self._invalid(record)
        if problem:
            return _error(400, *problem)
        record.created = True  # created even if the client is gone before the answer
        record.sid = sid = f"SM{next(self._numbers):032x}"
        if self.delay:
            self.answering += 1
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.answering -= 1
        return JSONResponse(self._message(sid, record), status_code=201)

    def _basic(self) -> str:
        pair = f"{self.account_sid}:{self.auth_token}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def _invalid(self, record: Recorded) -> tuple[int, str] | None:
        unknown = set(record.form) - self.parameters
        if unknown:
            return 21601, f"unknown parameters {sorted(unknown)}"
        if not record.one("To"):
            return 21604, "A 'To' phone number is required."
        if not (record.one("From") or record.one("MessagingServiceSid")):
            return 21603, "A 'From' phone number is required."
        if not (record.one("Body") or record.one("ContentSid") or record.one("MediaUrl")):
            return 21602, "Message body is required."
        if record.one("ContentVariables"):
            try:
                json.loads(record.one("ContentVariables"))
            except ValueError:
                return 21656, "The ContentVariables Parameter is invalid."
        return None

    def _message(self, sid: str, record: Recorded) -> dict:
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        return {"sid": sid, "account_sid": self.account_sid, "api_version": "2010-04-01",
                "to": record.one("To"), "from": record.one("From"),
                "body": record.one("Body") or "", "status": "queued", "num_media": "0",
                "num_segments": "1", "direction": "outbound-api", "error_code": None,
                "error_message": None, "price": None, "uri": path,
                "date_created": format_datetime(record.at, usegmt=True),
                "subresource_uris": {"media": path.replace(".json", "/Media.json")}}


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "status": status,
                         "more_info": f"https://www.twilio.com/docs/errors/{code}"},
                        status_code=status)


@contextlib.asynccontextmanager
async def serving(app, startup_seconds: float = 10.0) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(startup_seconds):
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped it
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=startup_seconds)
        sock.close()
