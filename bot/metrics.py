"""Prometheus metrics (the `prometheus-client` library).

Two kinds:
- what each process counts as it works (turns, their duration, web requests, notices
  handed to the platforms, refusals, clock job runs): counters and histograms here, fed by
  one-line calls from the dialogue, the dispatcher and the clock. With
  PROMETHEUS_MULTIPROC_DIR set in the environment (a directory emptied when the service
  starts), every process of the machine writes them there and any `web` process serves
  the sum: several `web` processes and the `worker` are one set of figures.
- what the store says (outbox backlog and its oldest due notice, notices by status,
  clock jobs' last success, the fund's remaining cents, each channel's last delivery):
  read from the database at each scrape (models/watch.py), so every process answers the
  same and nothing is lost with a process.

`GET /metrics` answers only with `Authorization: Bearer <METRICS_TOKEN>`; without the
setting the route does not exist."""

import atexit
import functools
import hmac
import logging
import os
import time
from collections.abc import Iterable

_FOLDER = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _FOLDER and not (os.path.isdir(_FOLDER) and os.access(_FOLDER, os.W_OK)):
    # a command run by another user, or the folder not made yet: count in this process
    # only, rather than fail at the first metric (prometheus-client reads the variable
    # when it is imported, just below)
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR")
    logging.getLogger(__name__).warning(
        "PROMETHEUS_MULTIPROC_DIR=%s is not a writable folder: metrics of this process "
        "only", _FOLDER)

from prometheus_client import (  # noqa: E402 (after the check above)
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import PlainTextResponse, Response  # noqa: E402
from starlette.routing import Match, Route  # noqa: E402

from bot import logs  # noqa: E402

log = logging.getLogger(__name__)
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

TURNS = Counter("intempo_turns", "Messages handled by the dialogue, by channel and outcome",
                ["channel", "outcome"])
TURN_SECONDS = Histogram("intempo_turn_duration_seconds",
                         "Time the dialogue took for one message", ["channel"], buckets=FAST)
HTTP_SECONDS = Histogram("intempo_http_request_duration_seconds",
                         "Web requests (webhooks, health, pages) by route and status",
                         ["route", "status"], buckets=FAST)
DISPATCHED = Counter("intempo_notices_dispatched",
                     "Notices the dispatcher handed to a channel, by outcome: sent, held "
                     "(not on this chat now), later (the platform asked to wait), failed",
                     ["channel", "kind", "outcome"])
REFUSED = Counter("intempo_sends_refused",
                  "Sends the platforms refused, by code: 429 (each flood-control answer), "
                  "forbidden, bad_request, a Twilio error code, or network",
                  ["channel", "code"])
JOB_RUNS = Counter("intempo_clock_job_runs", "Clock job runs by outcome (ok, failed)",
                   ["job", "outcome"])
CHANNEL_IN = Gauge("intempo_channel_last_inbound_timestamp_seconds",
                   "When a channel's webhook last answered 2xx (this machine's processes)",
                   ["channel"], multiprocess_mode="max")
CLOCK_LEADER = Gauge("intempo_clock_leader",
                     "1 while a process of this machine runs the clock",
                     multiprocess_mode="livesum")

_state = {"leads_clock": False, "inbound": {}}


# --- what the rest of the code calls -----------------------------------------------------

def timed_turn(handle):
    """Decorate `Dialogue.handle_in`: count and time each turn by channel and outcome, and
    name the chat (hashed) in the lines logged during it."""

    @functools.wraps(handle)
    async def run(self, session, incoming, *args, **kwargs):
        started, outcome = time.perf_counter(), "error"
        bound = logs.bind(chat=incoming.external_id)
        try:
            replies = await handle(self, session, incoming, *args, **kwargs)
            outcome = "ok"
            return replies
        finally:
            logs.unbind(bound)
            TURNS.labels(incoming.channel, outcome).inc()
            TURN_SECONDS.labels(incoming.channel).observe(time.perf_counter() - started)

    return run


def send_result(channel: str, kind: str | None, result) -> None:
    """Count what a channel made of one send (a `SendResult`); `kind` None for a reply."""
    if kind is not None:
        DISPATCHED.labels(channel, kind, _outcome(result)).inc()
    code = refusal_code(result)
    if code is not None:
        REFUSED.labels(channel, code).inc()


def refused(channel: str, code: str) -> None:
    """A refusal seen where it happens (a Telegram 429 is waited out and retried: the send
    may still succeed, the refusal is counted all the same)."""
    REFUSED.labels(channel, code).inc()


def leads_clock(leading: bool) -> None:
    _state["leads_clock"] = leading
    CLOCK_LEADER.set(1 if leading else 0)


def job_ran(job_id: str, ok: bool) -> None:
    JOB_RUNS.labels(job_id, "ok" if ok else "failed").inc()


def _outcome(result) -> str:
    if result.ok:
        return "sent"
    if result.hold or result.unreachable:
        return "held"
    if result.retry_after:
        return "later"
    return "failed"


def refusal_code(result) -> str | None:
    """The platform's refusal in a failed send, as a short code (None: not a refusal)."""
    if result.ok:
        return None
    error = result.error or ""
    if error.startswith("twilio "):
        return error.split()[1].rstrip(":") or "twilio"
    if error.startswith("Forbidden"):
        return "forbidden"
    if error.startswith("BadRequest"):
        return "bad_request"
    if error.startswith(("network", "NetworkError", "TimedOut")):
        return "network"
    return None


def leads() -> bool:
    return _state["leads_clock"]


def last_inbound() -> dict[str, float]:
    return dict(_state["inbound"])


# --- the web side ------------------------------------------------------------------------

class TimedRequests:
    """ASGI middleware: every request's duration by route (the route's path template, so
    signed-file links do not make one series each) and status; a channel's webhook that
    answers 2xx marks that channel's last inbound call."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def noting(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            route = route_of(scope)
            HTTP_SECONDS.labels(route, str(status[0])).observe(time.perf_counter() - started)
            if route.endswith("/webhook") and 200 <= status[0] < 300:
                channel = route.strip("/").split("/")[0]
                _state["inbound"][channel] = time.time()
                CHANNEL_IN.labels(channel).set(time.time())


def route_of(scope) -> str:
    app = scope.get("app")
    for route in getattr(app, "routes", []):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "path", "other")
    return "unmatched"


def authorised(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(),
                                                              token.encode())


def process_metrics() -> bytes:
    """This process's figures, or with PROMETHEUS_MULTIPROC_DIR every process's summed."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def store_metrics(state, up: bool, now: float, digest_overdue: bool | None) -> bytes:
    """The store's figures as gauges (computed at each scrape)."""
    registry = CollectorRegistry()
    registry.register(_Fixed(list(_store_families(state, up, now, digest_overdue))))
    return generate_latest(registry)


class _Fixed:
    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families


def _store_families(state, up: bool, now: float, digest_overdue) -> Iterable:
    yield GaugeMetricFamily("intempo_store_up", "1 when the database answered this scrape",
                            value=1 if up else 0)
    if not up:
        return
    yield GaugeMetricFamily("intempo_outbox_due_notices", "Notices due and not yet sent",
                            value=state.due)
    yield GaugeMetricFamily("intempo_outbox_oldest_due_age_seconds",
                            "How long the oldest due notice has waited",
                            value=state.oldest_due_seconds)
    notices = GaugeMetricFamily("intempo_notices", "Notices in the outbox by status, "
                                "channel and kind", labels=["status", "channel", "kind"])
    for (status, channel, kind), number in sorted(state.notices.items()):
        notices.add_metric([status, channel, kind], number)
    yield notices
    jobs = GaugeMetricFamily("intempo_clock_job_last_success_timestamp_seconds",
                             "When each clock job last succeeded (any process)", labels=["job"])
    for job, at in sorted(state.jobs.items()):
        jobs.add_metric([job], at.timestamp())
    yield jobs
    fund = GaugeMetricFamily("intempo_fund_remaining_cents",
                             "The fund's money neither reserved nor spent", labels=["fund"])
    for code, cents in sorted(state.fund_remaining.items()):
        fund.add_metric([code], cents)
    yield fund
    sent = GaugeMetricFamily("intempo_channel_last_sent_timestamp_seconds",
                             "When a notice last went out on each channel", labels=["channel"])
    for channel, at in sorted(state.last_sent.items()):
        sent.add_metric([channel], at.timestamp())
    yield sent
    if state.last_backup is not None:
        yield GaugeMetricFamily("intempo_backup_last_success_timestamp_seconds",
                                "When the nightly backup last wrote a copy",
                                value=state.last_backup.timestamp())
    if digest_overdue is not None:
        yield GaugeMetricFamily("intempo_digest_overdue",
                                "1 when today's digest is not out 30 minutes after "
                                "DIGEST_TIME", value=1 if digest_overdue else 0)


def metrics_route(runtime) -> list[Route]:
    """`GET /metrics`, only when METRICS_TOKEN is set."""
    secret = runtime.settings.metrics_token
    if secret is None or not secret.get_secret_value():
        return []
    token = secret.get_secret_value()

    async def metrics(request: Request) -> Response:
        if not authorised(request, token):
            return PlainTextResponse("unauthorised", status_code=401,
                                     headers={"WWW-Authenticate": "Bearer"})
        from bot.health import store_snapshot

        state, overdue = await store_snapshot(runtime)
        body = process_metrics() + store_metrics(state, state is not None, time.time(),
                                                 overdue)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", metrics, methods=["GET"], name="metrics")]


if MULTIPROCESS:  # a process that ends takes its 'live' gauges with it
    atexit.register(lambda: multiprocess.mark_process_dead(os.getpid()))
