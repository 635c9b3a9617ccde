"""The console script as a user starts it: `som-flow init`, users, tokens, `som-flow serve`, then HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import _admin_conn

SOM_FLOW = Path(sys.executable).with_name("som-flow")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOM_FLOW_")}
    env["SOM_FLOW_DATABASE_URL"] = url
    env["SOM_FLOW_SECRET_KEY"] = "console-script-test"
    return env


def _run(env: dict, *args: str, cwd: Path) -> str:
    done = subprocess.run([str(SOM_FLOW), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)  # noqa: S603 - our own console script, fixed arguments
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def _get(url: str, token: str | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url)  # noqa: S310 - the local test server, http://127.0.0.1
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - the local test server, http://127.0.0.1
            return resp.status, resp.headers.get_content_type(), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get_content_type(), exc.read()


def _wait_until_up(base: str, server: subprocess.Popen, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            out, err = server.communicate()
            pytest.fail(f"som-flow serve exited with {server.returncode}:\n{out}\n{err}")
        try:
            with urllib.request.urlopen(f"{base}/login", timeout=2):  # noqa: S310 - the local test server, http://127.0.0.1
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    pytest.fail(f"som-flow serve did not answer on {base} within {deadline_s} s")


def _walk_the_console_script(url: str, workdir: Path) -> None:
    assert SOM_FLOW.exists(), f"console script not installed at {SOM_FLOW}"
    env = _env(url)
    out = _run(env, "init", cwd=workdir)
    assert "database ready" in out
    out = _run(env, "users", "create", "rep@x.test", "--role", "rep", "--password", "secret-pass-1", cwd=workdir)
    assert "rep@x.test" in out
    engine = create_engine(url)  # the password as the installed product stores it: scrypt (tests hash cheaper)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM \"user\" WHERE email = 'rep@x.test'")).scalar_one()
    engine.dispose()
    assert stored.startswith("scrypt:") and "secret-pass-1" not in stored
    token = _run(env, "tokens", "create", "rep@x.test", cwd=workdir).split()[-1]

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(SOM_FLOW), "serve", "--port", str(port), "--no-scheduler"], env=env, cwd=workdir,  # noqa: S603 - our own console script, fixed arguments
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_up(base, server)

        status, _, body = _get(f"{base}/api/v1/users/me", token)
        assert status == 200, body
        assert json.loads(body)["email"] == "rep@x.test"

        status, ctype, body = _get(f"{base}/api/v1/users/me")
        assert status == 401
        assert ctype == "application/problem+json"
        assert json.loads(body)["status"] == 401

        status, _, body = _get(f"{base}/api/openapi.json")
        assert status == 200
        assert "/api/v1/opportunities" in json.loads(body)["paths"]

        status, ctype, body = _get(f"{base}/login")
        assert status == 200 and ctype == "text/html"
        assert b"Log in" in body
    finally:
        server.terminate()
        try:
            server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()


def test_console_script_on_sqlite(tmp_path):
    _walk_the_console_script(f"sqlite:///{tmp_path / 'som.sqlite'}", tmp_path)


@pytest.mark.postgres
def test_console_script_on_postgresql(pg_cluster, tmp_path):
    name = f"cli_{os.getpid()}"
    with _admin_conn(pg_cluster) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        _walk_the_console_script(f"{pg_cluster}/{name}", tmp_path)
    finally:
        with _admin_conn(pg_cluster) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
