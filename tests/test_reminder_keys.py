"""A reminder's key writes its moment in UTC (services/reminder_schedule._instant): a task due time given in the
rep's zone and the same time read back from the database made two keys, and the reminder went out twice (found by a
user review: a rep in Chicago got "Task due" twice after editing the deal). Migration 0018 mends the keys written
before, so an upgrade does not deliver the old ones again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import insert, select

from som_flow import create_app
from som_flow.clock import FixedClock
from som_flow.config import TestConfig
from som_flow.extensions import db
from som_flow.models import Reminder
from som_flow.services.reminders import fire_due_reminders
from tests.helpers import Api, make_customer, make_user
from tests.test_migrations import _fresh_url


def test_an_overdue_task_reminds_once_though_the_deal_is_edited_after(client, clock):
    rep = make_user("rep@x.test", "rep", timezone="America/Chicago")
    customer = make_customer("Northwind Traders")
    api = Api(client, "rep@x.test")
    deal = api.post("/opportunities", {"title": "Dup test", "customer_id": customer.id, "kind": "service-contract",
                                       "amount": "100.00", "sales_rep": rep.id}).json
    task = api.post("/tasks", {"title": "Dup test A", "opportunity_id": deal["id"],
                               "due_at": "2026-03-01T09:00:00-06:00"})  # yesterday, as the rep's zone writes it
    assert task.status_code == 201, task.json
    fire_due_reminders()
    assert api.patch(f"/opportunities/{deal['id']}", {"anticipated_close_date": "2027-02-01"}).status_code == 200
    clock.advance(minutes=5)
    fire_due_reminders()
    titles = [n["title"] for n in api.get("/notifications?per_page=200").json["items"]]
    assert titles.count("Task due: Dup test A") == 1, titles
    keys = db.session.scalars(select(Reminder.idempotency_key).where(Reminder.kind == "task_due")).all()
    assert keys == [f"task_due:{deal['id']}:{task.json['id']}:2026-03-01T15:00:00+00:00:{rep.id}"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_writes_old_keys_in_utc_and_keeps_a_delivered_reminder_delivered(request, tmp_path, backend):
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config["SQLALCHEMY_DATABASE_URI"] = _fresh_url(request, tmp_path, backend)
    app = create_app(config, clock=FixedClock())
    due = datetime(2026, 3, 1, 15, tzinfo=UTC)
    rows = [  # (name, kind, state, key)
        ("delivered local", "task_due", "delivered", "task_due:1:t-1:2026-03-01T09:00:00-06:00:7"),
        ("its pending twin", "task_due", "pending", "task_due:1:t-1:2026-03-01T15:00:00+00:00:7"),
        ("pending local", "task_due", "pending", "task_due:1:t-2:2026-03-01T09:00:00-06:00:7"),
        ("its delivered twin", "task_due", "delivered", "task_due:1:t-2:2026-03-01T15:00:00+00:00:7"),
        ("alone", "appointment", "pending", "appointment:4:2026-03-16T10:00:00+01:00:7"),
        ("in utc", "appointment", "delivered", "appointment:5:2026-03-16T09:00:00+00:00:7"),
        ("no moment", "follow_up", "pending", "follow_up:1:2026-03-01:7:America/Chicago"),
    ]
    with app.app_context():
        upgrade(revision="0017_reference_version")
        table = Reminder.__table__
        with db.engine.begin() as conn:
            for name, kind, state, key in rows:
                conn.execute(insert(table).values(kind=kind, state=state, idempotency_key=key, title=name,
                                                  due_at=due, attempts=0, created_at=due, updated_at=due))
        upgrade()
        with db.engine.connect() as conn:
            after = {title: (state, key) for title, state, key in conn.execute(
                select(table.c.title, table.c.state, table.c.idempotency_key))}
        twin_id = after["its pending twin"]
        db.engine.dispose()
    assert after["delivered local"] == ("delivered", "task_due:1:t-1:2026-03-01T15:00:00+00:00:7")
    assert twin_id[0] == "cancelled" and twin_id[1].startswith("task_due:1:t-1:2026-03-01T15:00:00+00:00:7#")
    assert after["pending local"] == ("cancelled", "task_due:1:t-2:2026-03-01T09:00:00-06:00:7")
    assert after["its delivered twin"] == ("delivered", "task_due:1:t-2:2026-03-01T15:00:00+00:00:7")
    assert after["alone"] == ("pending", "appointment:4:2026-03-16T09:00:00+00:00:7")
    assert after["in utc"] == ("delivered", "appointment:5:2026-03-16T09:00:00+00:00:7")
    assert after["no moment"] == ("pending", "follow_up:1:2026-03-01:7:America/Chicago")
