"""Benchmark: due reminders drained by 1, 2 and 4 real `som-flow reminders fire` processes, on SQLite and a
throwaway PostgreSQL cluster, beside two raw claim loops in plain SQL in the same run (claim a batch — FOR UPDATE
SKIP LOCKED on PostgreSQL —, then deliver one transaction per row, or the whole batch in one transaction as
som_flow does). Checks 0 duplicates and 0 lost. Each worker is a fresh process, so the wall time includes its
start-up (imports, app); the start-up of a worker with nothing due is measured in the same run and the
drain rate printed without it too. Prints rates; not a test.
Targets (issue #4): >= 5,000/s one worker on SQLite, >= 10,000/s four on PostgreSQL.

Run: .venv/bin/python bench/reminders.py [--reminders 100000] [--workers 1 2 4] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from som_flow import create_app  # noqa: E402
from som_flow.clock import FixedClock  # noqa: E402
from som_flow.config import TestConfig  # noqa: E402
from som_flow.extensions import db  # noqa: E402
from som_flow.models import Delivery, Notification, Reminder, User  # noqa: E402

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SOM_FLOW = Path(sys.executable).with_name("som-flow")


def _app(url: str):
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    return create_app({**config, "SQLALCHEMY_DATABASE_URI": url}, clock=FixedClock(NOW))


def reset(n: int) -> None:
    """n pending reminders due an hour ago, and empty delivery and notification logs."""
    db.session.execute(Notification.__table__.delete())
    db.session.execute(Delivery.__table__.delete())
    db.session.execute(Reminder.__table__.delete())
    user = db.session.scalar(select(User.id))
    due = NOW - timedelta(hours=1)
    rows = [{"kind": "follow_up", "user_id": user, "due_at": due, "state": "pending", "attempts": 0,
             "idempotency_key": f"bench:{i}", "title": f"Follow up #{i}", "created_at": NOW, "updated_at": NOW}
            for i in range(n)]
    for chunk in range(0, n, 10000):
        db.session.execute(insert(Reminder), rows[chunk:chunk + 10000])
    db.session.commit()


def check(n: int) -> tuple[int, int]:
    """(duplicates, lost): the delivery log's idempotency keys are unique by constraint; count both ways."""
    delivered = db.session.scalar(select(func.count()).select_from(Delivery))
    distinct = db.session.scalar(select(func.count(func.distinct(Delivery.idempotency_key))))
    notes = db.session.scalar(select(func.count()).select_from(Notification))
    return (delivered - distinct) + max(0, notes - n), n - distinct


def raw_loop(dialect: str, batched: bool) -> None:
    """The baselines: claim 200 due rows, then deliver each in its own short transaction (batched=False) or
    the whole claim in one transaction (batched=True), with no ORM."""
    lock = " FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    claim_sql = (
        "UPDATE reminder SET state='claimed', lease_owner='raw' WHERE id IN (SELECT id FROM reminder "  # noqa: S608 - constant text
        "WHERE state='pending' ORDER BY due_at LIMIT 200" + lock + ") RETURNING id")
    engine = db.engine

    def deliver(conn, ids: list[int]) -> None:
        conn.execute(insert(Notification), [{"user_id": 1, "reminder_id": i, "title": "raw", "body": "",
                                             "created_at": NOW} for i in ids])
        conn.execute(insert(Delivery), [{"idempotency_key": f"bench:{i}", "reminder_id": i, "delivered_at": NOW,
                                         "delivered_by": "raw", "channels": ["in_app"]} for i in ids])
        conn.execute(update(Reminder).where(Reminder.id.in_(ids)).values(state="delivered"))

    while True:
        with engine.begin() as conn:
            ids = [r[0] for r in conn.execute(text(claim_sql))]
        if not ids:
            return
        if batched:
            with engine.begin() as conn:
                deliver(conn, ids)
            continue
        for reminder_id in ids:
            with engine.begin() as conn:
                deliver(conn, [reminder_id])


def workers(k: int, env: dict) -> float:
    """Seconds for k `som-flow reminders fire` processes, started together, to finish."""
    t = time.perf_counter()
    procs = [subprocess.Popen([str(SOM_FLOW), "reminders", "fire", "--at", NOW.isoformat()], env=env,  # noqa: S603 - our script
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(k)]
    for proc in procs:
        _, err = proc.communicate(timeout=3600)
        if proc.returncode != 0:
            raise SystemExit(f"worker failed: {err.decode()[-2000:]}")
    return time.perf_counter() - t


def run(name: str, url: str, n: int, worker_counts: list[int]) -> None:
    app = _app(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOM_FLOW_")}
    env["SOM_FLOW_DATABASE_URL"] = url
    env["SOM_FLOW_SECRET_KEY"] = "bench"
    print(f"\n{name}: {n} due reminders")
    with app.app_context():
        db.create_all()
        db.session.execute(insert(User).values(email="rep@bench.test", name="Rep", roles_csv="rep", timezone="UTC",
                                               active=True, password_hash="!", created_at=NOW, updated_at=NOW))
        db.session.commit()
        for batched, label in ((False, "one transaction per row"), (True, "one transaction per claim")):
            reset(n)
            t = time.perf_counter()
            raw_loop(db.engine.dialect.name, batched)
            print(f"  baseline raw claim loop, {label}, 1 worker: {n / (time.perf_counter() - t):8.0f}/s")
        reset(0)
        db.session.remove()
        startup = min(workers(1, env) for _ in range(2))
        print(f"  start-up of a worker with nothing due: {startup:.2f} s")
        for k in worker_counts:
            reset(n)
            db.session.remove()
            seconds = workers(k, env)
            duplicates, lost = check(n)
            drain = f"{n / (seconds - startup):8.0f}/s" if seconds > startup * 1.2 else "   (too few to tell)"
            print(f"  som-flow reminders fire x {k}: {n / seconds:8.0f}/s wall, {drain} "
                  f"without start-up  ({seconds:.1f} s; {duplicates} duplicates, {lost} lost)")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    from tests.pgcluster import on_both_backends

    on_both_backends(lambda name, url: run(name, url, args.reminders, args.workers), args.skip_postgres)

if __name__ == "__main__":
    main()
