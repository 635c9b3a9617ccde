"""Issue #17 item 5: structured logs. Every request has an id (the caller's X-Request-ID when sane), echoed in the
answer and carried by every log line written while serving it; SOM_FLOW_LOG_FORMAT=json writes one JSON object per
line, the scheduler's lines included.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from som_flow import create_app
from som_flow.clock import FixedClock
from som_flow.config import TestConfig
from som_flow.errors import ValidationFailed
from som_flow.extensions import db
from som_flow.logs import JsonFormatter, configure_logging
from som_flow.models import Reminder
from som_flow.scheduler import _tick
from tests.helpers import make_user

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # logging does not depend on the backend
work = logging.getLogger("som_flow.test_work")


@pytest.fixture
def app(app):
    """The app with two routes that log as a view does: one working, one failing."""

    @app.route("/_test/work")
    def _work():
        work.info("looking up the deal")
        work.warning("the deal has no rep")
        return "done"

    @app.route("/_test/fail")
    def _fail():
        raise RuntimeError("the engine broke")

    return app


@pytest.fixture
def restore_logging():
    """configure_logging changes the process's root logger: put it back as pytest had it."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)


def _lines(caplog) -> list[dict]:
    """What SOM_FLOW_LOG_FORMAT=json writes for the captured records."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records]


@SQLITE
def test_the_callers_request_id_is_echoed_and_on_every_log_line_of_the_request(client, caplog):
    caplog.set_level(logging.INFO)

    r = client.get("/_test/work", headers={"X-Request-ID": "lb-7f3a.42"})

    assert r.status_code == 200 and r.headers["X-Request-ID"] == "lb-7f3a.42"
    lines = _lines(caplog)
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("som_flow.test_work", "looking up the deal"), ("som_flow.test_work", "the deal has no rep"),
        ("som_flow.access", lines[-1]["message"])]
    assert {line["request_id"] for line in lines} == {"lb-7f3a.42"}
    access = lines[-1]
    assert access["message"].startswith("GET /_test/work 200 ")
    assert (access["method"], access["path"], access["status"]) == ("GET", "/_test/work", 200)
    assert access["level"] == "INFO" and access["duration_ms"] >= 0


@SQLITE
def test_without_a_sane_id_each_request_gets_a_fresh_one(client, caplog):
    caplog.set_level(logging.INFO)
    forged = "abc\" level=ERROR msg=forged"  # spaces and quotes: a forged field in a text log

    first = client.get("/_test/work", headers={"X-Request-ID": forged})
    second = client.get("/_test/work", headers={"X-Request-ID": "y" * 129})
    third = client.get("/_test/work")

    ids = [r.headers["X-Request-ID"] for r in (first, second, third)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and len(set(ids)) == 3
    assert [line["request_id"] for line in _lines(caplog)] == [ids[0]] * 3 + [ids[1]] * 3 + [ids[2]] * 3


@SQLITE
def test_a_failing_request_logs_its_traceback_under_its_id(client, caplog):
    r = client.get("/api/v1/users/me", headers={"X-Request-ID": "ok-1"})  # a 401: nothing at warning level
    failed = client.get("/_test/fail", headers={"X-Request-ID": "crash-1"})

    assert (r.status_code, failed.status_code) == (401, 500)
    assert failed.headers["X-Request-ID"] == "crash-1"
    [error] = [line for line in _lines(caplog) if line["level"] == "ERROR"]
    assert error["request_id"] == "crash-1"
    assert error["message"] == "unexpected error on GET /_test/fail"
    assert "RuntimeError: the engine broke" in error["exc_info"]


@SQLITE
def test_json_format_writes_one_object_per_line_and_text_format_shows_the_id(client, restore_logging):
    stream = io.StringIO()
    handler = configure_logging("json", "INFO", stream=stream)
    client.get("/_test/work", headers={"X-Request-ID": "abc-123"})
    client.get("/healthz")  # the probes are quiet: debug level
    configure_logging("text", "INFO", stream=stream)  # a second call replaces the handler, adds none
    client.get("/_test/work", headers={"X-Request-ID": "def-456"})

    lines = stream.getvalue().splitlines()
    as_json = [json.loads(line) for line in lines[:3]]
    assert [line["message"] for line in as_json[:2]] == ["looking up the deal", "the deal has no rep"]
    assert {line["request_id"] for line in as_json} == {"abc-123"}
    assert {"time", "level", "logger", "host", "pid"} <= set(as_json[0])
    assert as_json[0]["time"].endswith("+00:00")
    assert not any("/healthz" in line for line in lines)
    assert len(lines) == 6 and handler not in logging.getLogger().handlers
    assert "INFO [def-456] som_flow.test_work: looking up the deal" in lines[3]


@SQLITE
def test_a_newline_in_the_path_cannot_forge_a_line_of_the_text_log(client, restore_logging):
    stream = io.StringIO()
    configure_logging("text", "INFO", stream=stream)

    r = client.get("/nowhere%0A2026-03-02 INFO som_flow.access: GET /admin 200")

    assert r.status_code == 404
    [line] = stream.getvalue().splitlines()
    assert "GET /nowhere\\n2026-03-02 INFO" in line and line.endswith("ms")


def test_an_unknown_log_format_or_level_is_refused_when_the_app_starts(tmp_path):
    config = {**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"}
    with pytest.raises(ValidationFailed, match="SOM_FLOW_LOG_FORMAT must be one of text, json"):
        create_app({**config, "LOG_FORMAT": "xml"}, clock=FixedClock())
    with pytest.raises(ValidationFailed, match="SOM_FLOW_LOG_LEVEL must be a logging level"):
        create_app({**config, "LOG_FORMAT": "json", "LOG_LEVEL": "LOUD"}, clock=FixedClock())


@pytest.mark.slow
def test_the_console_script_says_so_in_one_line(tmp_path):
    som_flow = Path(sys.executable).with_name("som-flow")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SOM_FLOW_")}, "SOM_FLOW_LOG_FORMAT": "xml",
           "SOM_FLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "SOM_FLOW_SECRET_KEY": "log-format-test"}
    done = subprocess.run([str(som_flow), "init"], env=env, cwd=tmp_path, capture_output=True, text=True,  # noqa: S603 - our own console script, fixed arguments
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == "error: SOM_FLOW_LOG_FORMAT must be one of text, json, not 'xml'"
    assert "Traceback" not in done.stderr


@SQLITE
def test_the_schedulers_lines_are_json_too_without_a_request_id(app, clock, restore_logging):
    user = make_user("rep@x.test", "rep")
    now = clock.now()
    db.session.execute(insert(Reminder), [{
        "kind": "follow_up", "state": "pending", "user_id": user.id, "due_at": now - timedelta(minutes=1),
        "title": "Call back", "idempotency_key": "logs:1", "created_at": now, "updated_at": now}])
    db.session.commit()
    stream = io.StringIO()
    configure_logging("json", "INFO", stream=stream)

    _tick(app, "scheduler-a:1")  # what the scheduler process runs every SCHEDULER_INTERVAL_SECONDS

    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert (line["logger"], line["message"], line["request_id"]) == ("som_flow.scheduler", "delivered 1 reminders",
                                                                      None)
