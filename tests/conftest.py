"""Fixtures: app, client, runner, clock, and the database backends (SQLite file and PostgreSQL)."""

from __future__ import annotations

import itertools
import os
import socket
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from som_flow import create_app
from som_flow.clock import FixedClock
from som_flow.config import TestConfig
from som_flow.extensions import db as _db
from tests.pgcluster import Cluster

REQUIRE_POSTGRES = os.environ.get("SOM_FLOW_REQUIRE_POSTGRES") == "1"
_counter = itertools.count()
TRANSLATIONS = Path(__file__).resolve().parent.parent / "som_flow" / "translations"


def pytest_sessionstart(session):
    """Tests read the catalogs as they are now: a messages.po newer than its .mo is compiled first, as `make
    catalogs` does (a bare `pytest` after editing a translation needs no make). Written whole, then renamed,
    so parallel workers never read half a file."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        fresh = mo.with_name(f".messages.{os.getpid()}.mo")
        with fresh.open("wb") as out:
            write_mo(out, catalog)  # fuzzy entries left out, as pybabel compile does
        fresh.replace(mo)


@pytest.fixture(scope="session")
def pg_cluster():
    """The session's PostgreSQL: SOM_FLOW_TEST_POSTGRES_URL if given, else a throwaway cluster."""
    given = os.environ.get("SOM_FLOW_TEST_POSTGRES_URL")
    if given:
        yield given.replace("postgresql://", "postgresql+psycopg://", 1).rsplit("/", 1)[0]
        return
    try:
        cluster = Cluster()
        cluster.start()
    except Exception as exc:  # noqa: BLE001
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required (SOM_FLOW_REQUIRE_POSTGRES=1) but could not start: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}"
    cluster.stop()


def _admin_conn(base: str):
    return psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://") + "/postgres", autocommit=True)


@pytest.fixture(scope="session")
def pg_template(pg_cluster):
    """A database with the schema, cloned per test (CREATE DATABASE ... TEMPLATE is fast)."""
    with _admin_conn(pg_cluster) as conn:
        conn.execute("DROP DATABASE IF EXISTS som_template")
        conn.execute("CREATE DATABASE som_template")
    _fill_template(f"{pg_cluster}/som_template")
    return pg_cluster


def _config(url: str, tmp_path) -> dict:
    base = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    base["SQLALCHEMY_DATABASE_URI"] = url
    return base


def _fill_template(url: str) -> None:
    """The schema, the default catalogs and the shipped kinds, in the empty database at `url`."""
    from som_flow.services.catalogs import seed_defaults
    from som_flow.services.kinds import install_shipped_kinds

    app = create_app(_config(url, None), clock=FixedClock())
    with app.app_context():
        _db.create_all()
        seed_defaults()
        install_shipped_kinds()
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An SQLite file with the schema, defaults and shipped kinds, made once a worker and copied per test (as
    PostgreSQL's template is): making it took a second of each test's time."""
    path = tmp_path_factory.mktemp("sqlite_template") / "template.sqlite"
    _fill_template(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh database with the schema, defaults and shipped kinds — on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "som.sqlite"
        # SQLite's backup copies a consistent database whatever its journal holds
        with closing(sqlite3.connect(request.getfixturevalue("sqlite_template"))) as source, \
                closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
        yield f"sqlite:///{target}"
        return
    base = request.getfixturevalue("pg_template")
    name = f"t{os.getpid()}_{next(_counter)}"
    with _admin_conn(base) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE som_template")
    yield f"{base}/{name}"
    with _admin_conn(base) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def app(db_url, clock, tmp_path):
    app = create_app(_config(db_url, tmp_path), clock=clock)
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# Backstop for CI: with PostgreSQL and Chromium required, a skip of any kind (one a future test adds too)
# turns the run red instead of passing quietly.
_skipped: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if _skipped and REQUIRE_POSTGRES and os.environ.get("SOM_FLOW_REQUIRE_BROWSER") == "1":
        session.config.get_terminal_writer().line(
            f"{len(_skipped)} test(s) skipped while PostgreSQL and Chromium are required, e.g. {_skipped[0]}",
            red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free local port: (its inbox, the port)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Inbox(Message):
        def __init__(self):
            super().__init__()
            self.messages = []

        def handle_message(self, message):
            self.messages.append(message)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
