"""Issue #4: each delivered reminder is POSTed to an optional webhook, signed with HMAC-SHA256.

A real HTTP server (http.server in a thread) receives the calls; the clock moves, nothing sleeps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from som_flow.extensions import db
from som_flow.models import Delivery, Reminder
from som_flow.services.reminders import fire_due_reminders
from tests.helpers import Api, make_customer, make_user

OSLO = ZoneInfo("Europe/Oslo")
SECRET = "shared-webhook-secret"  # noqa: S105 - a test value


@pytest.fixture
def receiver():
    """A local endpoint that records (headers, raw body) of every POST and answers 204."""
    calls: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield calls, f"http://127.0.0.1:{server.server_address[1]}/hooks/som"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def oslo_deal(app, client):
    rep = make_user("oslo@x.test", "rep", timezone="Europe/Oslo", password=None)
    customer = make_customer("Northwind Traders")
    r = Api(client, "oslo@x.test").post("/opportunities", {
        "title": "Licenses", "customer_id": customer.id, "kind": "service-contract", "amount": "1000.00",
        "currency": "USD", "sales_rep": rep.id, "follow_up_date": "2026-03-04"})
    assert r.status_code == 201, r.json
    return rep, r.json


def fire_at_eight(clock) -> int:
    when = datetime(2026, 3, 4, 8, tzinfo=OSLO)
    clock.set(when)
    return fire_due_reminders(at=when)


def unread(client) -> list[dict]:
    r = Api(client, "oslo@x.test").get("/notifications?unread=true")
    assert r.status_code == 200, r.json
    return r.json["items"]


def test_a_delivered_reminder_is_posted_signed_with_its_idempotency_key(app, client, clock, oslo_deal, receiver):
    calls, url = receiver
    rep, opp = oslo_deal
    app.config.update(WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET)

    assert fire_at_eight(clock) == 1
    assert len(calls) == 1
    headers, body = calls[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-somflow-signature"], expected)
    assert headers["content-type"] == "application/json"

    reminder = db.session.scalar(select(Reminder).where(Reminder.opportunity_id == opp["id"],
                                                        Reminder.kind == "follow_up"))
    payload = json.loads(body)
    assert headers["x-somflow-delivery"] == reminder.idempotency_key == payload["idempotency_key"]
    assert payload["reminder_id"] == reminder.id
    assert payload["kind"] == "follow_up"
    assert payload["title"] == "Follow up: Licenses"
    assert datetime.fromisoformat(payload["due_at"]) == datetime(2026, 3, 4, 8, tzinfo=OSLO)
    assert payload["user"] == {"id": rep.id, "email": "oslo@x.test"}
    assert payload["opportunity"] == {"id": opp["id"], "number": opp["number"]}

    delivery = db.session.scalar(select(Delivery).where(Delivery.reminder_id == reminder.id))
    assert delivery.channels == ["in_app", "webhook"]
    assert len(unread(client)) == 1

    assert fire_due_reminders(at=clock.now()) == 0  # exactly once: no second POST either
    assert len(calls) == 1


def test_without_a_secret_the_delivery_is_sent_unsigned_and_says_so_by_its_headers(app, client, clock, oslo_deal,
                                                                                   receiver):
    """No secret configured: no signature header at all (a receiver must not mistake it for a signed one)."""
    calls, url = receiver
    app.config.update(WEBHOOK_URL=url, WEBHOOK_SECRET=None)
    assert fire_at_eight(clock) == 1
    headers, body = calls[0]
    assert "x-somflow-signature" not in headers
    assert headers["x-somflow-delivery"] == json.loads(body)["idempotency_key"]


def test_a_webhook_that_is_down_does_not_lose_the_in_app_notification(app, client, clock, oslo_deal):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens here
    app.config.update(WEBHOOK_URL=f"http://127.0.0.1:{port}/hooks/som", WEBHOOK_SECRET=SECRET)

    assert fire_at_eight(clock) == 1
    notes = unread(client)
    assert [n["title"] for n in notes] == ["Follow up: Licenses"]
    delivery = db.session.scalar(select(Delivery))
    assert delivery.channels == ["in_app"]  # the webhook did not go out, and says so
    assert db.session.scalar(select(Reminder.state).where(Reminder.kind == "follow_up")) == "delivered"


def test_without_a_webhook_url_nothing_is_posted(app, client, clock, oslo_deal, receiver):
    calls, _url = receiver
    app.config.update(WEBHOOK_URL=None, WEBHOOK_SECRET=SECRET)
    assert fire_at_eight(clock) == 1
    assert calls == []


def test_a_webhook_url_that_is_not_http_is_never_opened(app, client, clock, oslo_deal, tmp_path):
    """urllib opens file: URLs too; a webhook pointed at a local file must not read (or crash on) it."""
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("not for the webhook")
    app.config.update(WEBHOOK_URL=secret_file.as_uri(), WEBHOOK_SECRET=SECRET)

    assert fire_at_eight(clock) == 1
    assert [n["title"] for n in unread(client)] == ["Follow up: Licenses"]
    assert db.session.scalar(select(Delivery)).channels == ["in_app"]
