"""Story 7 / DESIGN §4: exactly once with several real scheduler processes, one of them killed mid-way.

Three OS processes tick `fire_due_reminders` against the same database (SQLite file and PostgreSQL):
one SIGKILLs itself in the middle of a delivery transaction, the other two carry on and take over its
leases once they expire. A fourth "scheduler" that claimed rows and died before delivering is simulated
by claiming under an owner that never comes back. Every reminder must be delivered exactly once.
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
from sqlalchemy import func, select

from som_flow.extensions import db
from som_flow.models import Delivery, Notification, Reminder
from som_flow.services import reminders
from tests.helpers import Api, make_customer, make_user

pytestmark = pytest.mark.slow
REMINDERS = 60
KILLED_AFTER = 2  # deliveries the doomed process commits before it dies; under reminders.BATCH (4)
WORKER = textwrap.dedent("""
    import os, signal, sys, time
    from sqlalchemy import event, func, select
    from som_flow import create_app
    from som_flow.extensions import db
    from som_flow.models import Reminder
    from som_flow.services import reminders

    name, die_after, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    reminders.BATCH = 4  # small claims, so the processes really interleave
    app = create_app()
    with app.app_context():
        real, count = reminders._deliver, [0]

        def deliver(reminder_id, owner):
            count[0] += 1
            if count[0] == 1 and die_after:
                print("delivering", flush=True)
            # killed mid-way: in the delivery transaction, before COMMIT. It dies within its first claim (BATCH
            # rows, all handed to deliver whatever else happens), so a process starved of the SQLite write
            # lock by the other two still dies rather than finding the work done by the time its turn comes.
            if die_after and count[0] > die_after:
                event.listen(db.session(), "before_commit", lambda s: os.kill(os.getpid(), signal.SIGKILL))
            time.sleep(0.01)  # a mail relay's worth of latency, outside the transaction
            return real(reminder_id, owner)

        reminders._deliver = deliver
        print("ready", flush=True)
        while not os.path.exists(go):
            time.sleep(0.005)
        fired, deadline = 0, time.monotonic() + 40
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


def _spawn(name: str, die_after: int, go: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, name, str(die_after), str(go)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_schedulers_and_a_killed_one_deliver_every_reminder_exactly_once(app, client, clock, db_url, tmp_path,
                                                                                     monkeypatch):
    rep = make_user("rep@x.test", "rep", timezone="Europe/Oslo", password=None)
    customer = make_customer("Northwind Traders")
    api = Api(client, "rep@x.test")
    deals = []
    for title in ("Licenses", "Support"):
        r = api.post("/opportunities", {"title": title, "customer_id": customer.id, "kind": "standard-sale",
                                        "amount": "100.00", "currency": "USD", "sales_rep": rep.id})
        assert r.status_code == 201, r.json
        deals.append(r.json["id"])

    # due days ago, while everything was down
    real_now = datetime.now(UTC)
    for i in range(REMINDERS):
        db.session.add(Reminder(kind="follow_up", opportunity_id=deals[i % 2], user_id=rep.id,
                                due_at=real_now - timedelta(days=3, minutes=i), state="pending",
                                idempotency_key=f"follow_up:{deals[i % 2]}:2026-03-{i:02d}:load",
                                title=f"Follow up #{i}"))
    db.session.commit()
    # a scheduler that claimed four rows and died before delivering them; its lease ran out long ago
    clock.set(real_now - timedelta(hours=1))
    monkeypatch.setattr(reminders, "BATCH", 4)
    crashed = reminders._claim(real_now, "crashed-host:1", None)
    assert len(crashed) == 4
    db.session.remove()

    go_killed, go_others = tmp_path / "go-killed", tmp_path / "go-others"
    env = {**os.environ, "SOM_FLOW_DATABASE_URL": db_url, "SOM_FLOW_REMINDER_LEASE_SECONDS": "2",
           "SOM_FLOW_SECRET_KEY": "x" * 32}
    env.pop("SOM_FLOW_SMTP_HOST", None)
    procs = {"killed": _spawn("killed", KILLED_AFTER, go_killed, env), "alpha": _spawn("alpha", 0, go_others, env),
             "beta": _spawn("beta", 0, go_others, env)}
    try:
        for name, proc in procs.items():
            line = proc.stdout.readline()
            assert line.strip() == "ready", f"{name}: {line!r} {proc.stderr.read() if proc.poll() else ''}"
        started = time.monotonic()
        go_killed.touch()  # the doomed one gets going first, so it surely dies holding work
        assert procs["killed"].stdout.readline().strip() == "delivering"
        go_others.touch()
        outputs = {name: proc.communicate(timeout=50) for name, proc in procs.items()}
        assert time.monotonic() - started < 50
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    assert procs["killed"].returncode == -signal.SIGKILL, outputs["killed"]
    for name in ("alpha", "beta"):
        assert procs[name].returncode == 0, outputs[name][1]
        assert "Traceback" not in outputs[name][1], outputs[name][1]
    fired = {name: int(outputs[name][0].split()[-1]) for name in ("alpha", "beta")}

    db.session.expire_all()
    states = dict(db.session.execute(select(Reminder.state, func.count()).group_by(Reminder.state)).all())
    assert states == {"delivered": REMINDERS}
    deliveries = db.session.scalars(select(Delivery)).all()
    assert len(deliveries) == REMINDERS
    assert len({d.idempotency_key for d in deliveries}) == REMINDERS
    assert len({d.reminder_id for d in deliveries}) == REMINDERS
    notified = db.session.scalars(select(Notification.reminder_id)).all()
    assert sorted(notified) == sorted(d.reminder_id for d in deliveries)
    assert db.session.scalar(select(func.count()).select_from(Reminder).where(
        Reminder.lease_owner.is_not(None))) == 0

    by = {name: sum(1 for d in deliveries if d.delivered_by == name) for name in ("killed", "alpha", "beta")}
    assert by["killed"] == KILLED_AFTER  # those committed; the next died with its transaction
    assert by["alpha"] == fired["alpha"] and by["beta"] == fired["beta"]
    assert by["killed"] + by["alpha"] + by["beta"] == REMINDERS
    assert by["alpha"] > 0 and by["beta"] > 0, by  # the two survivors really ran side by side
    taken_over = db.session.scalars(select(Reminder).where(Reminder.id.in_(crashed))).all()
    assert all(r.attempts >= 2 and r.state == "delivered" for r in taken_over)
    # the rep's bell counts each reminder once
    assert api.get("/notifications?unread=true").json["total"] == REMINDERS


def _due_follow_up(client, due: datetime) -> int:
    rep_id = make_user("cli-rep@x.test", "rep", password=None).id
    customer = make_customer("Contoso")
    r = Api(client, "cli-rep@x.test").post("/opportunities", {
        "title": "Renewal", "customer_id": customer.id, "kind": "standard-sale", "amount": "10.00",
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
        return subprocess.run([str(script), "reminders", "fire", *args], env=env, capture_output=True, text=True,
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
