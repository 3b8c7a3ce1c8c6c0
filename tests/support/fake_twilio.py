"""A small Twilio Messages and Content API of our own, served by uvicorn on loopback, for
the tests of the WhatsApp sender: the real `twilio` client (with its aiohttp-based async
HTTP client) talks to it over HTTP exactly as it would to api.twilio.com.

It checks what Twilio checks first (Basic auth with the account SID and token, the
account in the path, `To`, a sender, a body or a template, no parameter unknown to
Twilio's OpenAPI description), records every request for the test to inspect, answers
201 with a fresh Message SID, and can be told to fail the next requests with a given
HTTP status and Twilio error code.

With `content=True` it also keeps Content templates (POST and GET /v1/Content), checks
each template's shape the way Twilio's description of the Content API has it (the keys of
`twilio/quick-reply` actions and `twilio/list-picker` items, the required fields), and
checks a message sent with a ContentSid: the template exists, every variable it uses is
given and none is empty (Twilio's 21656)."""

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import socket
import time
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
    root = Path(__file__).resolve().parents[2]
    candidates += [root.parent / "shared" / "twilio-oai" / name, root / "tests" / "data" / name]
    return next((path for path in candidates if path.exists()), candidates[0])


SPEC = _find_spec()
MESSAGES = "/2010-04-01/Accounts/{account}/Messages.json"
CONTENT = "/v1/Content"
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


# the fields of the interactive types we create, as Twilio's Content description has them
CONTENT_SHAPES = {
    "twilio/quick-reply": ({"body", "actions"}, "actions", {"type", "title", "id"}, {"title"}),
    "twilio/list-picker": ({"body", "button", "items"}, "items", {"id", "item", "description"},
                           {"id", "item"}),
}


def content_problem(body: dict) -> str | None:
    """Why Twilio would refuse this Content resource (only the types we use), or None."""
    if not isinstance(body.get("language"), str) or not isinstance(body.get("types"), dict):
        return "language and types are required"
    types = {name: value for name, value in body["types"].items() if value is not None}
    if not types or not set(types) <= set(CONTENT_SHAPES):
        return f"unexpected types {sorted(types)}"
    for name, value in types.items():
        required, list_key, allowed, item_required = CONTENT_SHAPES[name]
        if not required <= {k for k, v in value.items() if v is not None}:
            return f"{name} needs {sorted(required)}"
        for entry in value[list_key]:
            keys = {k for k, v in entry.items() if v is not None}
            if not item_required <= keys or not keys <= allowed:
                return f"{name}: bad {list_key} entry {sorted(keys)}"
    return None


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
    arrived: float = field(default_factory=time.monotonic)  # when it arrived (bench/)

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
    content: bool = False  # serve the Content API too
    templates: dict[str, dict] = field(default_factory=dict)  # sid → the created resource
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))
    _template_numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def fail_next(self, http_status: int, code: int, message: str = "scripted failure",
                  times: int = 1) -> None:
        """The next `times` requests get this Twilio error (after being recorded)."""
        payload = {"code": code, "message": message, "status": http_status,
                   "more_info": f"https://www.twilio.com/docs/errors/{code}"}
        self.scripted += [(http_status, payload)] * times

    @property
    def sent(self) -> list[Recorded]:
        """The requests that created a message (201)."""
        return [r for r in self.requests if r.created and r.path.endswith("/Messages.json")]

    @property
    def created_templates(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == CONTENT and r.method == "POST"]

    def app(self) -> Starlette:
        routes = [Route(MESSAGES, self._create, methods=["POST"]),
                  Route(MESSAGES, self._list, methods=["GET"])]
        if self.content:
            routes += [Route(CONTENT, self._create_content, methods=["POST"]),
                       Route(CONTENT, self._list_content, methods=["GET"])]
        return Starlette(routes=routes)

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

    async def _create_content(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        record = Recorded("POST", request.url.path, {"json": [json.dumps(body)]},
                          dict(request.headers))
        self.requests.append(record)
        if request.headers.get("authorization") != self._basic():
            return _error(401, 20003, "Authenticate")
        problem = content_problem(body)
        if problem:
            return _error(400, 21600, problem)
        record.created = True
        sid = f"HX{next(self._template_numbers):032x}"
        resource = {"sid": sid, "account_sid": self.account_sid,
                    "friendly_name": body.get("friendly_name"), "language": body["language"],
                    "variables": body.get("variables") or {}, "types": body["types"],
                    "url": f"{self.base_url}/v1/Content/{sid}",
                    "date_created": "2026-11-25T08:00:00Z",
                    "date_updated": "2026-11-25T08:00:00Z", "links": {}}
        self.templates[sid] = resource
        return JSONResponse(resource, status_code=201)

    async def _list_content(self, request: Request) -> JSONResponse:
        self.requests.append(Recorded("GET", request.url.path, {}, dict(request.headers)))
        if request.headers.get("authorization") != self._basic():
            return _error(401, 20003, "Authenticate")
        url = f"{self.base_url}{CONTENT}"
        return JSONResponse({"contents": list(self.templates.values()), "meta": {
            "page": 0, "page_size": len(self.templates) or 50, "first_page_url": url,
            "previous_page_url": None, "url": url, "next_page_url": None,
            "key": "contents"}})

    def _content_variables_problem(self, record: Recorded) -> tuple[int, str] | None:
        template = self.templates.get(record.one("ContentSid") or "")
        if template is None:
            return None  # an approved template made elsewhere (the tests' TEMPLATE_SID)
        used = set(re.findall(r"\{\{(\d+)\}\}", json.dumps(template["types"])))
        given = json.loads(record.one("ContentVariables") or "{}")
        if not used <= set(given) or any(not given[n] for n in used):
            return 21656, "The ContentVariables Parameter is invalid."
        return None

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
        if record.one("ContentSid"):
            return self._content_variables_problem(record)
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
