"""On SQLite a read never holds the write lock; a service transaction takes it from its first statement."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select

from som_flow import create_app
from som_flow.clock import FixedClock
from som_flow.config import TestConfig
from som_flow.extensions import db
from som_flow.models import User
from som_flow.services.unit_of_work import transaction
from tests.helpers import make_user


@pytest.fixture
def sqlite_app(tmp_path):
    path = tmp_path / "som.sqlite"
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    app = create_app(config, clock=FixedClock())
    with app.app_context():
        db.create_all()
        yield app, path
        db.session.remove()
        db.engine.dispose()


def _another_writer_can_start(path) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


def test_a_read_leaves_the_write_lock_free_for_others(sqlite_app):
    _, path = sqlite_app
    make_user("rep@x.test", "rep")
    db.session.remove()
    assert db.session.scalar(select(User.email)) == "rep@x.test"
    assert db.session().in_transaction()
    assert _another_writer_can_start(path)


def test_a_service_transaction_holds_the_write_lock_even_after_a_read(sqlite_app):
    _, path = sqlite_app
    make_user("rep@x.test", "rep")
    db.session.remove()
    db.session.scalar(select(User.email))  # the request read first, in a deferred transaction
    with transaction() as session:
        assert not _another_writer_can_start(path)
        session.scalar(select(User).where(User.email == "rep@x.test")).name = "Renamed"
    assert _another_writer_can_start(path)
    assert db.session.scalar(select(User.name)) == "Renamed"


def test_mail_goes_out_with_no_transaction_waiting_on_the_smtp_server(sqlite_app):
    """While the SMTP server takes the message, another writer can still take the SQLite write lock."""
    import socket

    from aiosmtpd.controller import Controller

    from som_flow.models import Notification
    from som_flow.services import users
    from som_flow.services.notify import send_pending_email
    from som_flow.services.unit_of_work import now

    app, path = sqlite_app
    seen = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            seen.append((envelope.rcpt_tos, _another_writer_can_start(path)))
            return "250 OK"

    user = make_user("oslo@x.test", "rep")
    users.update_user(user.id, email_notifications=True)
    with transaction() as session:
        session.add(Notification(user_id=user.id, title="Follow up: Licenses", body="Call Northwind", created_at=now()))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
        assert send_pending_email() == 1
        assert send_pending_email() == 0  # sent once, recorded
    finally:
        controller.stop()
    assert seen == [(["oslo@x.test"], True)]
    row = db.session.scalar(select(Notification))
    assert row.email_sent_at is not None and row.email_claimed_until is None and row.email_attempts == 1
