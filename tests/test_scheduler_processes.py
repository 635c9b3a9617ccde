"""Story 7 / DESIGN §4 / issue #4: exactly once with four real scheduler processes, one of them killed mid-batch.

Four OS processes tick `fire_due_reminders` against the same database (SQLite file and PostgreSQL) over
5,000 due reminders: one SIGKILLs itself inside the delivery transaction of a batch it has claimed, the
other three carry on and take over its leases once they expire. A fifth "scheduler" that claimed rows and
died before delivering is simulated by claiming under an owner that never comes back. Every reminder
must be delivered exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from som_flow.extensions import db
from som_flow.models import Delivery, Notification, Reminder
from som_flow.services import reminders
from tests.helpers import Api, make_customer, make_user

pytestmark = pytest.mark.slow
REMINDERS = 5000
BATCH = 50  # small claims, so the processes really interleave
WORKER = textwrap.dedent("""
    import os, signal, sys, time
    from sqlalchemy import event, func, select
    from som_flow import create_app
    from som_flow.extensions import db
    from som_flow.models import Reminder
    from som_flow.services import reminders

    name, batch, doomed, go = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "doomed", sys.argv[4]
    reminders.BATCH = batch
    app = create_app()
    with app.app_context():
        real_claim, claims = reminders._claim, [0]

        def claim(*args):
            ids = real_claim(*args)
            claims[0] += 1
            if doomed and ids and claims[0] == 2:
                # holding its second batch: the next COMMIT (that batch's delivery) never happens
                event.listen(db.session(), "before_commit", lambda s: os.kill(os.getpid(), signal.SIGKILL))
                print("doomed", flush=True)
            return ids

        reminders._claim = claim
        print("ready", flush=True)
        while not os.path.exists(go):
            time.sleep(0.005)
        fired, deadline = 0, time.monotonic() + 100
        while time.monotonic() < deadline:
            fired += reminders.fire_due_reminders(owner=name)
            left = db.session.scalar(select(func.count()).select_from(Reminder)
                                     .where(Reminder.state.in_(("pending", "claimed"))))
            db.session.rollback()  # end the read (on SQLite every transaction holds the write lock)
            if not left:
                break
            time.sleep(0.1)
        print(f"fired {fired}", flush=True)
""")
SURVIVORS = ("alpha", "beta", "gamma")


def _spawn(name: str, go: Path, env: dict) -> subprocess.Popen:
    role = "doomed" if name == "killed" else "survivor"
    return subprocess.Popen([sys.executable, "-c", WORKER, name, str(BATCH), role, str(go)], env=env,  # noqa: S603 - our script or this interpreter, fixed arguments
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_four_schedulers_one_killed_mid_batch_deliver_5000_reminders_exactly_once(app, client, clock, db_url,
                                                                                 tmp_path, monkeypatch):
    rep = make_user("rep@x.test", "rep", timezone="Europe/Oslo", password=None)
    customer = make_customer("Northwind Traders")
    api = Api(client, "rep@x.test")
    deals = []
    for title in ("Licenses", "Support"):
        r = api.post("/opportunities", {"title": title, "customer_id": customer.id, "kind": "service-contract",
                                        "amount": "100.00", "currency": "USD", "sales_rep": rep.id})
        assert r.status_code == 201, r.json
        deals.append(r.json["id"])

    # due days ago, while everything was down
    real_now = datetime.now(UTC)
    db.session.execute(insert(Reminder), [
        {"kind": "follow_up", "opportunity_id": deals[i % 2], "user_id": rep.id, "state": "pending",
         "due_at": real_now - timedelta(days=3, minutes=i), "idempotency_key": f"follow_up:load:{i}",
         "title": f"Follow up #{i}", "created_at": real_now, "updated_at": real_now} for i in range(REMINDERS)])
    db.session.commit()
    # a scheduler that claimed four rows and died before delivering them; its lease ran out long ago
    clock.set(real_now - timedelta(hours=1))
    monkeypatch.setattr(reminders, "BATCH", 4)
    crashed = [row.id for row in reminders._claim(real_now, "crashed-host:1", None)]
    assert len(crashed) == 4
    db.session.remove()

    go_killed, go_others = tmp_path / "go-killed", tmp_path / "go-others"
    env = {**os.environ, "SOM_FLOW_DATABASE_URL": db_url, "SOM_FLOW_REMINDER_LEASE_SECONDS": "2",
           "SOM_FLOW_SECRET_KEY": "x" * 32}
    env.pop("SOM_FLOW_SMTP_HOST", None)
    procs = {"killed": _spawn("killed", go_killed, env), **{name: _spawn(name, go_others, env) for name in SURVIVORS}}
    try:
        for name, proc in procs.items():
            line = proc.stdout.readline()
            assert line.strip() == "ready", f"{name}: {line!r} {proc.stderr.read() if proc.poll() else ''}"
        # the doomed one goes first: it delivers one batch and claims a second, which it dies delivering
        go_killed.touch()
        assert procs["killed"].stdout.readline().strip() == "doomed"
        go_others.touch()
        outputs = {name: proc.communicate(timeout=110) for name, proc in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    assert procs["killed"].returncode == -signal.SIGKILL, outputs["killed"]
    for name in SURVIVORS:
        assert procs[name].returncode == 0, outputs[name][1]
        assert "Traceback" not in outputs[name][1], outputs[name][1]
    fired = {name: int(outputs[name][0].split()[-1]) for name in SURVIVORS}

    db.session.expire_all()
    states = dict(db.session.execute(select(Reminder.state, func.count()).group_by(Reminder.state)).all())
    assert states == {"delivered": REMINDERS}
    deliveries = db.session.execute(select(Delivery.idempotency_key, Delivery.reminder_id, Delivery.delivered_by)).all()
    assert len(deliveries) == REMINDERS
    assert len({d.idempotency_key for d in deliveries}) == REMINDERS
    assert len({d.reminder_id for d in deliveries}) == REMINDERS
    notified = db.session.scalars(select(Notification.reminder_id)).all()
    assert sorted(notified) == sorted(d.reminder_id for d in deliveries)
    assert db.session.scalar(select(func.count()).select_from(Reminder).where(
        Reminder.lease_owner.is_not(None))) == 0

    by = {name: sum(1 for d in deliveries if d.delivered_by == name) for name in ("killed", *SURVIVORS)}
    assert by["killed"] == BATCH  # its first batch committed; the second died with its transaction
    assert all(by[name] == fired[name] for name in SURVIVORS)
    assert sum(by.values()) == REMINDERS
    assert sum(1 for name in SURVIVORS if by[name] > 0) >= 2, by  # the survivors really ran side by side
    taken_over = db.session.scalars(select(Reminder).where(Reminder.id.in_(crashed))).all()
    assert all(r.attempts >= 2 and r.state == "delivered" for r in taken_over)
    # the crashed host's four and the killed process's second batch were claimed twice (or more, if a lease
    # ran out on a slow machine — the lease check then stopped the slow one writing)
    assert db.session.scalar(select(func.count()).select_from(Reminder).where(Reminder.attempts >= 2)) >= 4 + BATCH
    # the rep's bell counts each reminder once
    assert api.get("/notifications?unread=true&per_page=1").json["total"] == REMINDERS


def _due_follow_up(client, due: datetime) -> int:
    rep_id = make_user("cli-rep@x.test", "rep", password=None).id
    customer = make_customer("Contoso")
    r = Api(client, "cli-rep@x.test").post("/opportunities", {
        "title": "Renewal", "customer_id": customer.id, "kind": "service-contract", "amount": "10.00",
        "currency": "USD", "sales_rep": rep_id})
    assert r.status_code == 201, r.json
    db.session.add(Reminder(kind="follow_up", opportunity_id=r.json["id"], user_id=rep_id, due_at=due,
                            state="pending", idempotency_key=f"follow_up:{r.json['id']}:x:cli", title="Call back"))
    db.session.commit()
    db.session.remove()
    return rep_id


def test_the_console_script_fires_what_is_due_at_the_given_time(app, client, db_url):
    _due_follow_up(client, datetime(2030, 1, 1, 7, tzinfo=UTC))
    script = Path(sys.executable).with_name("som-flow")
    env = {**os.environ, "SOM_FLOW_DATABASE_URL": db_url}

    def fire(*args):
        return subprocess.run([str(script), "reminders", "fire", *args], env=env, capture_output=True, text=True,  # noqa: S603 - our script or this interpreter, fixed arguments
                              timeout=30)

    early = fire("--at", "2030-01-01T07:59:00+01:00")
    assert (early.returncode, early.stdout.strip()) == (0, "fired 0"), early.stderr
    due = fire("--at", "2030-01-01T08:00:00+01:00")
    assert (due.returncode, due.stdout.strip()) == (0, "fired 1"), due.stderr
    naive = fire("--at", "2030-01-01T08:00:00")
    assert naive.returncode != 0 and "offset" in naive.stderr
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 1


def test_the_background_scheduler_delivers_on_start(app, client, clock):
    from som_flow.scheduler import start_background_scheduler

    _due_follow_up(client, clock.now() - timedelta(days=2))  # came due while it was down
    scheduler = start_background_scheduler(app, owner="bg")
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            delivered = db.session.scalar(select(func.count()).select_from(Delivery))
            db.session.rollback()
            if delivered:
                break
            time.sleep(0.05)  # waiting for a real thread, not for time to pass
    finally:
        scheduler.shutdown(wait=True)
    assert db.session.scalar(select(Delivery.delivered_by)) == "bg"
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1
