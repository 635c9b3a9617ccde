"""Benchmark: due reminders drained by 1, 2 and 4 real `som-flow reminders fire` processes, on SQLite and a
throwaway PostgreSQL cluster, beside a raw claim loop (plain SQL: claim a batch — FOR UPDATE SKIP LOCKED on
PostgreSQL —, then one delivery transaction per row) in the same run. Checks 0 duplicates and 0 lost.
Prints rates; not a test. Targets (issue #4): >= 5,000/s one worker on SQLite, >= 10,000/s four on PostgreSQL.

Run: .venv/bin/python bench/reminders.py [--reminders 100000] [--workers 1 2 4] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
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


def raw_loop(dialect: str) -> None:
    """The baseline: claim 100 due rows, deliver each in its own short transaction, with no ORM."""
    claim_sql = (
        "UPDATE reminder SET state='claimed', lease_owner='raw' WHERE id IN (SELECT id FROM reminder "
        "WHERE state='pending' ORDER BY due_at LIMIT 100" + (" FOR UPDATE SKIP LOCKED" if dialect ==
                                                            "postgresql" else "") + ") RETURNING id")
    engine = db.engine
    while True:
        with engine.begin() as conn:
            ids = [r[0] for r in conn.execute(text(claim_sql))]
        if not ids:
            return
        for reminder_id in ids:
            with engine.begin() as conn:
                conn.execute(insert(Notification).values(user_id=1, reminder_id=reminder_id, title="raw", body="",
                                                         created_at=NOW))
                conn.execute(insert(Delivery).values(idempotency_key=f"bench:{reminder_id}", reminder_id=reminder_id,
                                                     delivered_at=NOW, delivered_by="raw", channels=["in_app"]))
                conn.execute(update(Reminder).where(Reminder.id == reminder_id).values(state="delivered"))


def run(name: str, url: str, n: int, workers: list[int]) -> None:
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
        reset(n)
        t = time.perf_counter()
        raw_loop(db.engine.dialect.name)
        seconds = time.perf_counter() - t
        print(f"  baseline raw claim loop, 1 worker: {n / seconds:8.0f}/s")
        for k in workers:
            reset(n)
            db.session.remove()
            t = time.perf_counter()
            procs = [subprocess.Popen([str(SOM_FLOW), "reminders", "fire", "--at", NOW.isoformat()], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(k)]
            for proc in procs:
                _, err = proc.communicate(timeout=3600)
                if proc.returncode != 0:
                    raise SystemExit(f"worker failed: {err.decode()[-2000:]}")
            seconds = time.perf_counter() - t
            duplicates, lost = check(n)
            print(f"  som-flow reminders fire x {k}: {n / seconds:8.0f}/s  ({seconds:.1f} s; "
                  f"{duplicates} duplicates, {lost} lost)")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{tmp}/bench.sqlite", args.reminders, args.workers)
    if args.skip_postgres:
        return
    from tests.pgcluster import Cluster

    cluster = Cluster()
    cluster.start()
    try:
        run("PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres", args.reminders,
            args.workers)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
