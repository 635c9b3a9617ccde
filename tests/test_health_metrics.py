"""Issue #17 item 5, what operators need: /healthz, /readyz and the Prometheus metrics at /metrics.

The probes are asked as a load balancer or an orchestrator asks them (no login, no cookie); the metrics as a
scraper reads them (its token, or an admin), and checked by their values after what a user did.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from som_flow import create_app
from som_flow.clock import FixedClock
from som_flow.config import TestConfig, _engine_options
from som_flow.extensions import db
from som_flow.models import Reminder
from som_flow.scheduler import _tick
from tests.conftest import _admin_conn
from tests.helpers import Api, login, make_customer, make_user, token_headers

PROBLEM = "application/problem+json"


def _config(url: str, **extra) -> dict:
    return {**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}, "SQLALCHEMY_DATABASE_URI": url,
            **extra}


def _fresh_database(request, tmp_path, backend: str) -> str:
    """An empty database (no tables at all), for Alembic to build."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'ops.sqlite'}"
    base = request.getfixturevalue("pg_cluster")
    name = f"ops_{abs(hash(str(tmp_path))) % 10**8}"
    with _admin_conn(base) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


def _heads(app) -> list[str]:
    return sorted(ScriptDirectory(app.extensions["migrate"].directory).get_heads())


# -- /healthz and /readyz ---------------------------------------------------------------------------------------
def test_healthz_answers_while_the_database_is_unreachable_and_readyz_says_so(tmp_path):
    app = create_app(_config("sqlite:////proc/no-such-dir/som.sqlite"), clock=FixedClock())
    client = app.test_client()

    alive = client.get("/healthz")
    ready = client.get("/readyz")

    assert alive.status_code == 200 and alive.json == {"status": "ok"}
    assert ready.status_code == 503 and ready.mimetype == PROBLEM
    assert list(ready.json["errors"]) == ["database"]
    assert ready.json["detail"] == "The database cannot be reached."
    for answer in (alive, ready):
        assert "Set-Cookie" not in answer.headers
        assert answer.headers["X-Request-ID"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_readyz_is_ready_on_a_database_at_the_newest_migration(request, tmp_path, backend):
    app = create_app(_config(_fresh_database(request, tmp_path, backend)), clock=FixedClock())
    with app.app_context():
        upgrade()
        ready = app.test_client().get("/readyz")
        db.engine.dispose()

    assert ready.status_code == 200, ready.json
    assert ready.json == {"status": "ready", "migrations": _heads(app)}
    assert "Set-Cookie" not in ready.headers


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_readyz_is_503_naming_the_migrations_on_a_database_one_migration_behind(request, tmp_path, backend):
    app = create_app(_config(_fresh_database(request, tmp_path, backend)), clock=FixedClock())
    with app.app_context():
        upgrade(revision="0009_tasks")
        behind = app.test_client().get("/readyz")
        db.engine.dispose()

    assert behind.status_code == 503 and behind.mimetype == PROBLEM
    assert list(behind.json["errors"]) == ["migrations"]
    [message] = behind.json["errors"]["migrations"]
    assert "0009_tasks" in message and "som-flow init" in message
    assert all(head in message for head in _heads(app))
    assert behind.json["status"] == 503 and behind.json["title"] == "Service Unavailable"


def test_readyz_is_503_on_a_database_a_newer_release_has_upgraded(tmp_path):
    app = create_app(_config(f"sqlite:///{tmp_path / 'ahead.sqlite'}"), clock=FixedClock())
    with app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099_from_the_future'")
        ahead = app.test_client().get("/readyz")
        db.engine.dispose()

    assert ahead.status_code == 503
    [message] = ahead.json["errors"]["migrations"]
    assert "0099_from_the_future" in message and "a newer release" in message


def test_readyz_is_503_on_a_database_built_without_migrations(client):
    # the test fixtures build the schema with create_all: no alembic_version, as a hand-made database would be
    r = client.get("/readyz")
    assert r.status_code == 503
    assert "no migrations applied" in r.json["errors"]["migrations"][0]


def test_the_probes_are_never_rate_limited_where_everything_else_is(tmp_path):
    app = create_app(_config(f"sqlite:///{tmp_path / 'limited.sqlite'}", RATELIMIT_DEFAULT="2/minute"),
                     clock=FixedClock())
    client = app.test_client()

    probes = [client.get(path).status_code for path in ("/healthz", "/readyz") for _ in range(5)]
    pages = [client.get("/login").status_code for _ in range(3)]

    assert 429 not in probes
    assert pages[-1] == 429  # the default limit does hold elsewhere, so the exemption is what let the probes by


def test_the_probes_and_the_metrics_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").json["paths"]
    assert paths["/healthz"]["get"]["security"] == [] and "401" not in paths["/healthz"]["get"]["responses"]
    assert {"200", "503"} <= set(paths["/readyz"]["get"]["responses"])
    metrics = paths["/metrics"]["get"]
    assert "text/plain" in metrics["responses"]["200"]["content"]
    assert {"401", "403"} <= set(metrics["responses"])


# -- who may read /metrics ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_metrics_answer_the_scrapers_token_and_admins_only(app, client):
    make_user("admin@x.test", "admin")
    make_user("rep@x.test", "rep")
    app.config["METRICS_TOKEN"] = "scrape-secret-0123456789"

    anonymous = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    rep = client.get("/metrics", headers=token_headers("rep@x.test"))
    scraper = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-0123456789"})
    admin = client.get("/metrics", headers=token_headers("admin@x.test"))

    assert anonymous.status_code == 401 and anonymous.mimetype == PROBLEM
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="som_flow"'
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert rep.status_code == 403 and rep.mimetype == PROBLEM
    for ok in (scraper, admin):
        assert ok.status_code == 200 and ok.mimetype == "text/plain"
        assert "som_flow_http_request_duration_seconds" in ok.get_data(as_text=True)
    assert login(client, "admin@x.test").get("/metrics").status_code == 200  # an admin's page session


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_without_a_configured_token_no_bearer_opens_the_metrics(app, client):
    app.config["METRICS_TOKEN"] = None
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer None"}).status_code == 401


# -- what the metrics say ----------------------------------------------------------------------------------------
def _scrape(client) -> dict[tuple[str, tuple], float]:
    """The samples, keyed by (name, sorted labels)."""
    r = client.get("/metrics", headers=token_headers("admin@x.test"))
    assert r.status_code == 200, r.data[:300]
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.get_data(as_text=True)) for s in family.samples}


def _value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_move_a_refused_move_and_a_reminder_delivery_show_in_the_metrics(app, client, clock):
    make_user("admin@x.test", "admin")
    rep = make_user("rep@x.test", "rep")
    api = Api(client, "rep@x.test")
    deal = api.post("/opportunities", {"title": "Licenses", "customer_id": make_customer("Northwind").id,
                                       "kind": "standard-sale", "amount": "1000.00", "currency": "USD",
                                       "sales_rep": rep.id, "follow_up_date": "2026-03-04"}).json
    Api(client, "admin@x.test").finish_required_tasks(deal["id"])
    move_endpoint = app.url_map.bind("localhost").match(f"/api/v1/opportunities/{deal['id']}/stage", "POST")[0]
    before = _scrape(client)

    moved = api.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"})
    refused = api.post(f"/opportunities/{deal['id']}/stage", {"stage": "closing"})  # a standard kind never skips
    assert (moved.status_code, refused.status_code) == (200, 409), (moved.json, refused.json)
    moves = _scrape(client)

    assert _value(moves, "som_flow_stage_move_duration_seconds_count", outcome="ok") == \
        _value(before, "som_flow_stage_move_duration_seconds_count", outcome="ok") + 1
    assert _value(moves, "som_flow_stage_move_duration_seconds_count", outcome="refused") == \
        _value(before, "som_flow_stage_move_duration_seconds_count", outcome="refused") + 1
    for status, count in (("200", 1), ("409", 1)):
        labels = {"endpoint": move_endpoint, "method": "POST", "status": status}
        assert _value(moves, "som_flow_http_request_duration_seconds_count", **labels) == \
            _value(before, "som_flow_http_request_duration_seconds_count", **labels) + count
    # labelled by the route, never by the raw path with its id
    assert not any(str(deal["id"]) in dict(labels).get("endpoint", "") for _, labels in moves)

    # the follow-up is due at 08:00 UTC on the 4th; at 09:30 it has waited an hour and a half
    clock.set(datetime(2026, 3, 4, 9, 30, tzinfo=UTC))
    waiting = _scrape(client)
    assert _value(waiting, "som_flow_reminders_due") >= 1
    assert _value(waiting, "som_flow_reminder_lag_seconds") >= timedelta(hours=1, minutes=30).total_seconds()

    fired = Api(client, "admin@x.test").post("/reminders/fire").json["fired"]
    after = _scrape(client)

    assert fired >= 1
    assert _value(after, "som_flow_reminder_deliveries_total") == \
        _value(waiting, "som_flow_reminder_deliveries_total") + fired
    assert _value(after, "som_flow_reminders_due") == 0
    assert _value(after, "som_flow_reminder_lag_seconds") == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_lag_is_the_oldest_due_reminders_wait_and_a_failed_delivery_counts(app, client, clock):
    admin = make_user("admin@x.test", "admin")
    now = clock.now()
    db.session.execute(insert(Reminder), [
        {"kind": "follow_up", "state": "pending", "due_at": now - timedelta(minutes=minutes), "title": "t",
         "user_id": admin.id, "idempotency_key": f"ops:{minutes}", "created_at": now, "updated_at": now}
        for minutes in (5, 42)] + [
        {"kind": "follow_up", "state": "pending", "due_at": now + timedelta(minutes=1), "title": "later",
         "idempotency_key": "ops:later", "created_at": now, "updated_at": now},
        # a process timer for no deal: waking it fails, as a broken row would
        {"kind": "process_timer", "state": "pending", "due_at": now - timedelta(minutes=1), "title": "broken",
         "idempotency_key": "ops:broken", "created_at": now, "updated_at": now}])
    db.session.commit()

    waiting = _scrape(client)
    assert _value(waiting, "som_flow_reminders_due") == 3
    assert _value(waiting, "som_flow_reminder_lag_seconds") == 42 * 60

    fired = Api(client, "admin@x.test").post("/reminders/fire").json["fired"]
    after = _scrape(client)

    assert fired == 2
    assert _value(after, "som_flow_reminder_failures_total") == _value(waiting, "som_flow_reminder_failures_total") + 1
    assert _value(after, "som_flow_reminder_deliveries_total") == \
        _value(waiting, "som_flow_reminder_deliveries_total") + 2
    # the broken one is pending again (retried next tick, until dead): still due, one minute late
    assert _value(after, "som_flow_reminders_due") == 1
    assert _value(after, "som_flow_reminder_lag_seconds") == 60


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_scheduler_tick_is_timed(app, client):
    make_user("admin@x.test", "admin")
    before = _scrape(client)

    _tick(app, "scheduler-a:1")  # what the scheduler process runs every SCHEDULER_INTERVAL_SECONDS

    after = _scrape(client)
    assert _value(after, "som_flow_scheduler_tick_duration_seconds_count", outcome="ok") == \
        _value(before, "som_flow_scheduler_tick_duration_seconds_count", outcome="ok") + 1


# -- several worker processes (gunicorn) ----------------------------------------------------------------------------
WORKER = """
import sys
from som_flow import create_app
from som_flow.config import TestConfig

config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
config.update(SQLALCHEMY_DATABASE_URI=sys.argv[1], METRICS_TOKEN="scrape-token")
client = create_app(config).test_client()
if sys.argv[2] == "probe":
    assert client.get("/healthz").status_code == 200
else:
    answer = client.get("/metrics", headers={"Authorization": "Bearer scrape-token"})
    assert answer.status_code == 200, answer.data
    sys.stdout.write(answer.get_data(as_text=True))
"""


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_with_a_multiprocess_directory_any_worker_answers_for_all_of_them(db_url, tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(Path(__file__).parents[1])}

    def worker(role: str) -> str:
        done = subprocess.run([sys.executable, "-c", WORKER, db_url, role], env=env, capture_output=True,  # noqa: S603 - this interpreter, our script
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    worker("probe")
    worker("probe")
    scraped = worker("scrape")

    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(scraped) for s in family.samples}
    healthz = {"endpoint": "operations.healthz", "method": "GET", "status": "200"}
    assert _value(samples, "som_flow_http_request_duration_seconds_count", **healthz) == 2
    assert _value(samples, "som_flow_reminders_due") == 0  # read from the database at scrape time


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_scheduler_on_a_host_without_a_web_process_serves_its_own_metrics(db_url, tmp_path):
    som_flow = Path(sys.executable).with_name("som-flow")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SOM_FLOW_")}, "SOM_FLOW_DATABASE_URL": db_url,
           "SOM_FLOW_SECRET_KEY": "scheduler-metrics-test", "SOM_FLOW_LOG_FORMAT": "json"}
    scheduler = subprocess.Popen([str(som_flow), "scheduler", "--name", "host-b", "--metrics-port", str(port)],  # noqa: S603 - our own console script, fixed arguments
                                 env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, body = time.monotonic() + 60, ""
        while time.monotonic() < deadline and "som_flow_scheduler_tick_duration_seconds_count" not in body:
            assert scheduler.poll() is None, scheduler.stderr.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:  # noqa: S310 - the local scheduler, http://127.0.0.1
                    body = answer.read().decode()
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)  # still starting: a real process, a real port
            if 'som_flow_scheduler_tick_duration_seconds_count{outcome="ok"} 0.0' in body:
                body = ""  # up, but its first tick has not finished yet
    finally:
        scheduler.terminate()
        _, errors = scheduler.communicate(timeout=30)

    assert 'som_flow_scheduler_tick_duration_seconds_count{outcome="ok"}' in body
    assert "som_flow_reminder_deliveries_total" in body
    started = [json.loads(line) for line in errors.splitlines() if line.startswith("{")]
    assert any(line["message"] == f"scheduler metrics on http://127.0.0.1:{port}/metrics" for line in started)


def test_pool_settings_come_from_the_environment(monkeypatch):
    for name, value in (("DB_POOL_SIZE", "4"), ("DB_MAX_OVERFLOW", "2"), ("DB_POOL_RECYCLE_SECONDS", "1800"),
                        ("DB_PRE_PING", "1")):
        monkeypatch.setenv(f"SOM_FLOW_{name}", value)
    assert _engine_options() == {"pool_size": 4, "max_overflow": 2, "pool_recycle": 1800, "pool_pre_ping": True}
    for name in ("DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DB_POOL_RECYCLE_SECONDS", "DB_PRE_PING"):
        monkeypatch.delenv(f"SOM_FLOW_{name}")
    assert _engine_options() == {}  # SQLAlchemy's own defaults
