"""What the people running the product see: /metrics (Prometheus, behind a bearer token,
summed over processes) and /health/ready."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import text

from bot.runtime import start_runtime
from bot.settings import Settings
from bot.web import create_app
from handlers.sending import SendResult
from models import migrate
from models.db import transaction
from models.outbox import queue_notice
from scheduler import clock as clock_module
from scheduler import jobs
from scheduler.backup_job import backup_jobs
from scheduler.dispatcher import Dispatcher
from tests.support.chat import enrolled
from tests.support.people import person_id_of
from tests.support.postgres import admin

TOKEN = "metrics-token-for-tests"
DOCS = Path(__file__).resolve().parent.parent / "docs"


def client(runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime)),
                             base_url="http://intempo.test")


def with_token(runtime) -> None:
    runtime.settings.metrics_token = SecretStr(TOKEN)


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(body: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


@pytest.mark.asyncio
async def test_metrics_need_the_token_and_are_off_without_it(runtime):
    async with client(runtime) as web:
        assert (await web.get("/metrics")).status_code == 404  # no METRICS_TOKEN
    with_token(runtime)
    async with client(runtime) as web:
        assert (await web.get("/metrics")).status_code == 401
        wrong = await web.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await web.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200
    assert right.headers["content-type"].startswith("text/plain")
    assert scraped(right.text)[("intempo_store_up", ())] == 1


class Refusing:
    """A console sender that gets Twilio's 'no WhatsApp on this number' for one chat."""

    channel = "console"

    async def send(self, identity, reply, notice=None) -> SendResult:
        return SendResult(ok=False, error="twilio 63003: channel could not find To",
                          permanent=True, unreachable=True)


@pytest.mark.asyncio
async def test_turns_notices_refusals_jobs_and_the_store_are_measured(runtime, clock):
    with_token(runtime)
    turns_before = sample("intempo_turns_total", channel="console", outcome="ok")
    timed_before = sample("intempo_turn_duration_seconds_count", channel="console")
    worker = await enrolled(runtime, "+393330000101", org="ali", name="Marta")
    await worker.say("menu")
    assert sample("intempo_turns_total", channel="console", outcome="ok") >= turns_before + 5
    assert sample("intempo_turn_duration_seconds_count", channel="console") >= timed_before + 5

    # a notice due five minutes ago and not sent: the backlog and its age
    async with transaction(runtime.sessions) as session:
        await queue_notice(session, person_id=await person_id_of(runtime, worker),
                           kind="coordinator.digest", params={"text": "Riepilogo"},
                           dedupe_key="ping", now=clock() - timedelta(minutes=5))
    async with client(runtime) as web:
        body = scraped((await web.get("/metrics", headers={
            "Authorization": f"Bearer {TOKEN}"})).text)
    assert body[("intempo_outbox_due_notices", ())] == 1
    assert body[("intempo_outbox_oldest_due_age_seconds", ())] == 300
    assert body[("intempo_notices", (("channel", ""), ("kind", "coordinator.digest"),
                                     ("status", "pending")))] == 1
    assert body[("intempo_fund_remaining_cents",
                 (("fund", "fondo-conciliazione"),))] == 4_000_000

    # the platform refuses it: counted by code, and the notice by outcome
    refused_before = sample("intempo_sends_refused_total", channel="console", code="63003")
    await Dispatcher(runtime.sessions, {"console": Refusing()}, clock=clock).run_once()
    assert sample("intempo_sends_refused_total", channel="console",
                  code="63003") == refused_before + 1
    assert sample("intempo_notices_dispatched_total", channel="console",
                  kind="coordinator.digest", outcome="held") >= 1

    # clock jobs: runs counted, the last success kept in the store for every process
    ctx = runtime.job_context()
    failed_before = sample("intempo_clock_job_runs_total", job="broken", outcome="failed")
    await clock_module._logged("reminders", jobs.send_reminders)(ctx)

    async def broken(ctx):
        raise RuntimeError("boom")

    await clock_module._logged("broken", broken)(ctx)
    assert sample("intempo_clock_job_runs_total", job="broken",
                  outcome="failed") == failed_before + 1
    async with client(runtime) as web:
        body = scraped((await web.get("/metrics", headers={
            "Authorization": f"Bearer {TOKEN}"})).text)
        await web.get("/health")
    assert body[("intempo_clock_job_last_success_timestamp_seconds",
                 (("job", "reminders"),))] == clock().timestamp()
    assert ("intempo_clock_job_last_success_timestamp_seconds", (("job", "broken"),)) \
        not in body
    assert body[("intempo_outbox_due_notices", ())] == 0  # held now, not due
    assert body[("intempo_digest_overdue", ())] == 0  # 09:00: not yet
    assert sample("intempo_http_request_duration_seconds_count", route="/health",
                  status="200") >= 1


@pytest.mark.asyncio
async def test_the_digest_is_overdue_half_an_hour_after_its_time(runtime, clock):
    from bot.health import store_snapshot
    from scheduler.digest import queue_digests

    clock.set_local(2026, 11, 25, 18, 29)
    assert (await store_snapshot(runtime))[1] is False
    clock.set_local(2026, 11, 25, 18, 31)
    assert (await store_snapshot(runtime))[1] is True
    await queue_digests(runtime.job_context())
    assert (await store_snapshot(runtime))[1] is False


def test_several_processes_are_one_set_of_figures(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR, what two processes counted is summed by a third."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def run(code: str) -> str:
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=60, check=True)
        return done.stdout

    for count in (3, 4):
        run(f"from bot import metrics; metrics.TURNS.labels('telegram', 'ok').inc({count}); "
            "metrics.leads_clock(True)")
    body = scraped(run("from bot import metrics; "
                       "print(metrics.process_metrics().decode())"))
    assert body[("intempo_turns_total", (("channel", "telegram"), ("outcome", "ok")))] == 7
    # the processes that said they led the clock have ended: nobody leads now
    assert body.get(("intempo_clock_leader", ()), 0) == 0


@pytest.mark.asyncio
async def test_ready_on_both_databases(any_runtime):
    async with client(any_runtime) as web:
        response = await web.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["migration"]["ok"] is True
    assert body["outbox"] == {"due": 0, "oldest_due_seconds": 0}
    assert body["clock"]["this_process_leads"] is False
    assert "console" in body["channels"]


@pytest.mark.asyncio
async def test_ready_says_503_when_behind_or_when_the_database_is_gone(runtime, postgres_url):
    async with runtime.engine.begin() as connection:  # as if 0004 had not been applied
        await connection.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    async with client(runtime) as web:
        behind = await web.get("/health/ready")
    assert behind.status_code == 503 and behind.json()["status"] == "unmigrated"

    gone = await start_runtime(Settings(database_url=postgres_url, _env_file=None))
    try:
        name = postgres_url.rsplit("/", 1)[1]
        await admin(f'DROP DATABASE "{name}" WITH (FORCE)')
        async with client(gone) as web:
            down = await web.get("/health/ready")
            alive = await web.get("/health")
        assert down.status_code == 503 and down.json()["status"] == "down"
        assert alive.status_code == 503
    finally:
        await gone.close()


@pytest.mark.asyncio
async def test_ready_during_a_rolling_upgrade(runtime):
    """A newer release migrated the store: this older process still answers ready."""
    async with runtime.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    async with client(runtime) as web:
        response = await web.get("/health/ready")
    assert response.status_code == 200
    head = migrate.head_revision(runtime.settings.database_url)
    assert response.json()["migration"] == {"current": "0999", "head": head, "ok": False,
                                            "ahead": True}


@pytest.mark.asyncio
async def test_the_dashboard_and_the_alerts_name_metrics_that_exist(runtime, tmp_path):
    """docs/grafana-dashboard.json and docs/alerts.yml only use what /metrics serves."""
    import json
    import re

    import yaml

    with_token(runtime)
    worker = await enrolled(runtime, "+393330000102", org="ali", name="Ada")
    await worker.say("menu")
    await clock_module._logged("escalations", jobs.escalations)(runtime.job_context())
    nightly = backup_jobs(runtime.settings.model_copy(update={"backup_dir": str(tmp_path)}))
    await nightly["backup"](runtime.job_context())  # 09:00, after BACKUP_TIME: a copy
    async with client(runtime) as web:
        await web.get("/health")
        body = (await web.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text
    served = {sample.name for family in text_string_to_metric_families(body)
              for sample in family.samples} | {
        family.name for family in text_string_to_metric_families(body)}
    rules = yaml.safe_load((DOCS / "alerts.yml").read_text())
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    expressions += [target["expr"] for panel in dashboard["panels"]
                    for target in panel["targets"]]
    used = {name for expr in expressions for name in re.findall(r"intempo_[a-z_]+", expr)}
    # families with no series yet in this short run (nothing refused, nothing sent)
    not_yet = {"intempo_sends_refused_total", "intempo_notices_dispatched_total"}
    assert used - not_yet <= served, used - not_yet - served
    assert {"intempo_outbox_oldest_due_age_seconds", "intempo_digest_overdue",
            "intempo_clock_job_last_success_timestamp_seconds"} <= used


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_telegram_refusals_are_counted_where_they_happen(runtime):
    """A 429 waited out still counts (the send then succeeds); a blocked bot counts once."""
    from bot import metrics
    from bot.telegram.channel import install
    from bot.telegram.flood import FloodGate
    from bot.telegram.sender import TelegramSender
    from handlers.types import Reply
    from models.tables import ChatIdentity
    from tests.support.fake_telegram import TOKEN as BOT_TOKEN
    from tests.support.fake_telegram import FakeBotApi

    api = FakeBotApi()
    runtime.settings = Settings(database_url=runtime.settings.database_url, _env_file=None,
                                telegram_bot_token=BOT_TOKEN)
    channel = install(runtime, request=api)
    moments = [1000.0]

    async def sleep(seconds):
        moments[0] += seconds

    sender = TelegramSender(channel.bot, ready=channel.ready,
                            flood=FloodGate(lambda: moments[0]), sleep=sleep)
    chat = ChatIdentity(channel="telegram", external_id="4242")
    floods = sample("intempo_sends_refused_total", channel="telegram", code="429")
    api.flood("sendMessage", 2)
    assert (await sender.send(chat, Reply("Ciao"))).ok
    assert sample("intempo_sends_refused_total", channel="telegram", code="429") == floods + 1
    blocked = sample("intempo_sends_refused_total", channel="telegram", code="forbidden")
    api.blocked()
    result = await sender.send(chat, Reply("Ciao"))
    metrics.send_result("telegram", "worker.reminder", result)  # as the dispatcher does
    assert sample("intempo_sends_refused_total", channel="telegram",
                  code="forbidden") == blocked + 1


@pytest.mark.asyncio
async def test_a_whatsapp_webhook_is_timed_and_marks_the_channel(runtime):
    from tests.support.whatsapp import (
        WEBHOOK,
        client_for,
        inbound_form,
        post_signed,
        wire_whatsapp,
    )

    before = sample("intempo_http_request_duration_seconds_count", route=WEBHOOK,
                    status="200")
    forged = sample("intempo_http_request_duration_seconds_count", route=WEBHOOK,
                    status="403")
    async with client_for(wire_whatsapp(runtime)) as web:
        assert (await post_signed(web, WEBHOOK, inbound_form("+393331112233", "ciao"))
                ).status_code == 200
        assert (await web.post(WEBHOOK, data={"Body": "x"})).status_code == 403
        ready = (await web.get("/health/ready")).json()
    assert sample("intempo_http_request_duration_seconds_count", route=WEBHOOK,
                  status="200") == before + 1
    assert sample("intempo_http_request_duration_seconds_count", route=WEBHOOK,
                  status="403") == forged + 1
    assert ready["channels"]["whatsapp"]["last_webhook_seconds_ago"] == 0


def test_an_unwritable_multiprocess_folder_falls_back_to_this_process(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "missing")}
    done = subprocess.run(
        [sys.executable, "-c", "from bot import metrics; metrics.TURNS.labels('console', "
         "'ok').inc(2); print(metrics.process_metrics().decode())"],
        env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "not a writable folder" in done.stderr
    assert scraped(done.stdout)[("intempo_turns_total", (("channel", "console"),
                                                         ("outcome", "ok")))] == 2
