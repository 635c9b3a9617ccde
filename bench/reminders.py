"""Benchmark (issue #17 item 2): N due reminders drained by 1, 2 … worker processes running the delivery loop
(`fire_due_reminders`), on SQLite and a throwaway PostgreSQL cluster, beside the raw batched claim-and-deliver
loop in plain SQL in the same run (claim a batch with one UPDATE … RETURNING — FOR UPDATE SKIP LOCKED inside on
PostgreSQL —, then insert its notifications and delivery-log rows and mark it delivered in one transaction).

The people reminders belong to real deals (the notification's body names the deal and its Customer:Job), so
the worker does the lookups a real one does. `--kill` adds a run with two workers where one SIGKILLs itself in
the commit of its second batch, holding the lease; the survivor and a restarted worker finish. That run also
holds the process timers (`--timers` deals whose "stuck in Proposal for 14 days" SLA timer is due): each wakes
its workflow, which must hand the manager exactly one "Review stalled Proposal" task.

Workers start, build the app and wait at a barrier, so the figures are the drain alone, not Python's start-up
(nor its exit: each worker says when it is done).
After every run: 0 duplicated, 0 lost, one delivery-log row per due reminder, one notification per due people
reminder (none for a timer) with the right body. Prints rates and the load average beside each; not a test.
Targets: one worker >= 0.8x the raw batched loop on each backend; two PostgreSQL workers faster than one
(stretch >= 10,000/s).

Run: .venv/bin/python bench/reminders.py [--reminders 100000] [--workers 1,2] [--kill] [--timers 20]
     [--deals 50] [--skip-postgres] [--skip-sqlite]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from flask import current_app
from sqlalchemy import JSON, func, insert, literal, select, text, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from som_flow import create_app  # noqa: E402
from som_flow.clock import FixedClock  # noqa: E402
from som_flow.config import TestConfig  # noqa: E402
from som_flow.extensions import UTCDateTime, db  # noqa: E402
from som_flow.models import Delivery, Notification, Opportunity, Reminder, Task  # noqa: E402
from som_flow.services import reminders  # noqa: E402

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STALLED = "Review stalled Proposal"  # the manager task the standard sale's Proposal SLA timer hands out
WORKER = textwrap.dedent("""
    import os, signal, sys, time
    from datetime import datetime
    from sqlalchemy import event, func, select
    from som_flow import create_app
    from som_flow.extensions import db
    from som_flow.models import Reminder
    from som_flow.services import reminders

    name, at, go, doomed, patient = sys.argv[1], datetime.fromisoformat(sys.argv[2]), sys.argv[3], \\
        sys.argv[4] == "doomed", sys.argv[5] == "patient"
    app = create_app()
    with app.app_context():
        if doomed:
            real_claim, claims = reminders._claim, [0]

            def claim(*args):
                rows = real_claim(*args)
                claims[0] += 1
                if rows and claims[0] == 2:  # holding its second batch: that batch's COMMIT never happens
                    event.listen(db.session(), "before_commit", lambda s: os.kill(os.getpid(), signal.SIGKILL))
                return rows

            reminders._claim = claim
        print("ready", flush=True)
        while not os.path.exists(go):
            time.sleep(0.002)
        started, cpu, fired = time.perf_counter(), time.process_time(), 0
        while True:
            fired += reminders.fire_due_reminders(at=at, owner=name)
            if not patient:
                break
            # a restarted scheduler keeps ticking until the dead one's leases ran out and it took them over
            left = db.session.scalar(select(func.count()).select_from(Reminder).where(
                Reminder.state.in_(("pending", "claimed")), Reminder.due_at <= at))
            db.session.rollback()
            if not left:
                break
            time.sleep(0.2)
        # the drain ends here, on the machine-wide monotonic clock the bench reads too (not at the process's exit:
        # tearing down this interpreter's modules takes ~0.4 s that no drain should be charged)
        print(f"fired {fired} {time.perf_counter() - started:.3f} {time.process_time() - cpu:.3f} {time.monotonic()!r}",
              flush=True)
""")


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def _app(url: str):
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    return create_app({**config, "SQLALCHEMY_DATABASE_URI": url}, clock=FixedClock(NOW))


def setup(deals: int, timers: int) -> dict[int, str]:
    """The office: a rep, a customer with a job, `deals` deals without a due timer and `timers` more opened 30
    days ago in Proposal, so their 14-day SLA timer is due. Returns each deal's expected notification body,
    the deals with a timer last (the people reminders go on the others: a woken workflow re-plans its deal's
    reminders and would cancel the bench's, which no field of the deal asks for)."""
    from som_flow.services import customers, users
    from som_flow.services.catalogs import seed_defaults
    from som_flow.services.kinds import install_shipped_kinds
    from som_flow.services.opportunities import create_opportunity

    db.create_all()
    seed_defaults()
    install_shipped_kinds()
    rep = users.create_user("rep@bench.test", "Rep", ["rep"], password=None, timezone="UTC")
    users.create_user("manager@bench.test", "Manager", ["manager"], password=None, timezone="UTC")
    parent = customers.create_customer(None, {"kind": "organization", "name": "Northwind"})
    job = customers.create_customer(None, {"kind": "organization", "name": "Kitchen", "parent_id": parent.id})
    clock = current_app.extensions["som_clock"]
    for i in range(deals + timers):
        # the engine reads the wall clock for a timer's start: travel there as the app's clock does
        opened = NOW - timedelta(days=30 if i >= deals else 1)
        clock.set(opened)
        with time_machine.travel(opened, tick=False):
            create_opportunity(rep, {"title": f"Deal {i}", "customer_id": (job if i % 2 else parent).id,
                                     "kind": "standard-sale", "amount": "100.00", "currency": "USD",
                                     "sales_rep": rep.id}, start_stage="proposal")
    clock.set(NOW)
    return {o.id: f"{o.number} · {o.customer.full_name}" for o in db.session.scalars(select(Opportunity))}


def reset(n: int, bodies: dict[int, str], timers: int, with_timers: bool) -> int:
    """n pending people reminders due an hour ago on the deals (round robin), the deals' own reminders
    cancelled (or, with_timers, their due process timers pending), empty delivery and notification logs.
    Returns how many reminders are due."""
    if db.engine.dialect.name == "postgresql":
        # TRUNCATE, not DELETE: the reminders' foreign keys would otherwise be checked against every dead row
        # of the two logs, per deleted reminder (measured: minutes for 100,000)
        db.session.execute(text("TRUNCATE notification, delivery"))
    else:
        db.session.execute(Notification.__table__.delete())
        db.session.execute(Delivery.__table__.delete())
    db.session.execute(Reminder.__table__.delete().where(Reminder.idempotency_key.startswith("bench:")))
    db.session.execute(update(Reminder).values(state="cancelled", lease_owner=None, lease_until=None))
    if with_timers:
        db.session.execute(update(Reminder).where(Reminder.kind == "process_timer", Reminder.due_at <= NOW)
                           .values(state="pending", attempts=0))
    user = db.session.scalar(select(Opportunity.sales_rep_id))
    opps = sorted(bodies)[:len(bodies) - timers]
    due = NOW - timedelta(hours=1)
    rows = [{"kind": "follow_up", "user_id": user, "opportunity_id": opps[i % len(opps)], "due_at": due,
             "state": "pending", "attempts": 0, "idempotency_key": f"bench:{i}", "title": f"Follow up #{i}",
             "created_at": NOW, "updated_at": NOW} for i in range(n)]
    for chunk in range(0, n, 10000):
        db.session.execute(insert(Reminder), rows[chunk:chunk + 10000])
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(Reminder).where(Reminder.state == "pending"))


def check(due: int, bodies: dict[int, str]) -> dict[str, int]:
    """Exactness over the due rows: lost (not delivered), duplicated (a second delivery-log row or
    notification for a reminder), wrong (a notification for a timer, or with another deal's body)."""
    db.session.expire_all()
    delivered = db.session.scalar(select(func.count()).select_from(Reminder).where(Reminder.state == "delivered"))
    logged = db.session.scalar(select(func.count()).select_from(Delivery))
    logged_once = db.session.scalar(select(func.count(func.distinct(Delivery.reminder_id))))
    notes = db.session.scalar(select(func.count()).select_from(Notification))
    notes_once = db.session.scalar(select(func.count(func.distinct(Notification.reminder_id))))
    people = db.session.scalar(select(func.count()).select_from(Reminder).where(
        Reminder.state == "delivered", Reminder.kind != "process_timer"))
    wrong = sum(count for opp, body, count in db.session.execute(
        select(Notification.opportunity_id, Notification.body, func.count())
        .group_by(Notification.opportunity_id, Notification.body)) if bodies.get(opp) != body)
    return {"lost": due - delivered, "duplicated": (logged - logged_once) + (notes - notes_once),
            "log missing": delivered - logged_once, "notifications missing": people - notes_once,
            "wrong notifications": wrong + (notes_once - people if notes_once > people else 0)}


def raw_loop(dialect: str, batch: int, set_based: bool = False) -> None:
    """The baseline: claim `batch` due rows in one UPDATE … RETURNING, then deliver the claim in one transaction
    with no ORM and no lookups: notifications and delivery-log rows inserted with executemany and one update
    (as in earlier runs), or, set_based, both copied from the reminder rows by INSERT … SELECT over the ids."""
    lock = " FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    claim_sql = (
        "UPDATE reminder SET state='claimed', lease_owner='raw' WHERE id IN (SELECT id FROM reminder "  # noqa: S608 - constant text
        f"WHERE state='pending' ORDER BY due_at LIMIT {int(batch)}" + lock + ") RETURNING id, user_id, opportunity_id")
    engine = db.engine
    while True:
        with engine.begin() as conn:
            rows = list(conn.execute(text(claim_sql)))
        if not rows:
            return
        ids = [r[0] for r in rows]
        with engine.begin() as conn:
            if set_based:
                among = Reminder.id.in_(ids)
                conn.execute(insert(Notification).from_select(
                    ["user_id", "reminder_id", "opportunity_id", "title", "body", "created_at"],
                    select(Reminder.user_id, Reminder.id, Reminder.opportunity_id, Reminder.title, literal(""),
                           literal(NOW, UTCDateTime())).where(among)))
                conn.execute(insert(Delivery).from_select(
                    ["idempotency_key", "reminder_id", "delivered_at", "delivered_by", "channels"],
                    select(Reminder.idempotency_key, Reminder.id, literal(NOW, UTCDateTime()), literal("raw"),
                           literal(["in_app"], JSON())).where(among)))
            else:
                conn.execute(insert(Notification), [
                    {"user_id": r[1], "reminder_id": r[0], "opportunity_id": r[2], "title": "raw", "body": "",
                     "created_at": NOW} for r in rows])
                conn.execute(insert(Delivery), [
                    {"idempotency_key": f"raw:{r[0]}", "reminder_id": r[0], "delivered_at": NOW,
                     "delivered_by": "raw", "channels": ["in_app"]} for r in rows])
            conn.execute(update(Reminder).where(Reminder.id.in_(ids)).values(state="delivered"))


def _spawn(name: str, go: Path, env: dict, doomed: bool = False, patient: bool = False) -> subprocess.Popen:
    proc = subprocess.Popen(  # noqa: S603 - this interpreter and our script
        [sys.executable, "-c", WORKER, name, NOW.isoformat(), str(go), "doomed" if doomed else "-",
         "patient" if patient else "-"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if line != "ready":
        raise SystemExit(f"worker {name} did not start: {line} {proc.stderr.read()[-2000:]}")
    return proc


def _finish(proc: subprocess.Popen) -> tuple[int, float, float]:
    """(reminders the worker delivered, its CPU seconds while draining, time.monotonic() when it was done)."""
    out, err = proc.communicate(timeout=3600)
    if proc.returncode != 0 or "Traceback" in err:
        raise SystemExit(f"worker failed ({proc.returncode}): {err[-2000:]}")
    words = out.split()
    return int(words[1]), float(words[3]), float(words[4])


def workers(k: int, env: dict, tmp: Path) -> tuple[float, float, float]:
    """Seconds for k workers, released together at a barrier after their start-up, to drain what is due (until
    the last one is done), the CPU seconds they used doing it (their own, not the database server's), and the
    seconds until the last one had also exited (what earlier runs reported: the drain plus ~0.4 s of
    interpreter teardown)."""
    go = tmp / f"go-{time.monotonic_ns()}"
    procs = [_spawn(f"w{i}", go, env) for i in range(k)]
    started = time.monotonic()
    go.touch()
    done = [_finish(proc) for proc in procs]
    exited = time.monotonic() - started
    return max(end for _, _, end in done) - started, sum(cpu for _, cpu, _ in done), exited


def killed_run(env: dict, tmp: Path) -> tuple[float, dict]:
    """Two workers; one dies (SIGKILL) in the commit of its second batch, holding its lease. When it is gone a
    restarted worker joins; it and the survivor finish, taking over the dead one's batch once the lease ran out."""
    go = tmp / f"go-{time.monotonic_ns()}"
    doomed, survivor = _spawn("doomed", go, env, doomed=True), _spawn("survivor", go, env, patient=True)
    started = time.perf_counter()
    go.touch()
    doomed.wait(timeout=3600)
    restarted = _spawn("restarted", go, env, patient=True)
    fired = {"survivor": _finish(survivor)[0], "restarted": _finish(restarted)[0]}
    seconds = time.perf_counter() - started
    by = dict(db.session.execute(select(Delivery.delivered_by, func.count()).group_by(Delivery.delivered_by)).all())
    states = dict(db.session.execute(select(Reminder.state, func.count()).where(Reminder.due_at <= NOW)
                                     .group_by(Reminder.state)).all())
    return seconds, {"killed by": doomed.returncode, "delivered by": by, "fired": fired, "due rows": states}


def run(name: str, url: str, n: int, worker_counts: list[int], kill: bool, deals: int, timers: int) -> None:
    app = _app(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOM_FLOW_")}
    env.update(SOM_FLOW_DATABASE_URL=url, SOM_FLOW_SECRET_KEY="bench" * 8)
    with app.app_context(), tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        timers = timers if kill else 0
        bodies = setup(deals, timers)
        print(f"\n{name}: {n} due people reminders on {len(bodies)} deals, batch {reminders.BATCH} "
              f"(set-up {time.perf_counter() - started:.0f} s)")
        baselines = {}
        for set_based, label in ((False, "executemany"), (True, "INSERT … SELECT")):
            due = reset(n, bodies, timers, False)
            db.session.remove()
            t, cpu = time.perf_counter(), time.process_time()
            raw_loop(db.engine.dialect.name, reminders.BATCH, set_based)
            baselines[label] = due / (time.perf_counter() - t), due / (time.process_time() - cpu)
            print(f"  raw batched claim-and-deliver loop ({label}), 1 process: {baselines[label][0]:8.0f}/s, "
                  f"{baselines[label][1]:6.0f} per CPU second ({load()})")
        raw, raw_cpu = max(baselines.values())  # the faster raw loop is the bar
        single = None
        for k in worker_counts:
            due = reset(n, bodies, timers, False)
            db.session.remove()
            seconds, cpu, exited = workers(k, env, Path(tmp))
            rate = due / seconds
            single = rate if k == 1 else single
            ratio = f"{rate / raw:.2f}x raw" + (f", {rate / single:.2f}x one worker" if single and k > 1 else "")
            print(f"  delivery loop x {k}: {rate:8.0f}/s, {due / cpu:6.0f} per CPU second ({seconds:.1f} s; {ratio}; "
                  f"CPU {due / cpu / raw_cpu:.2f}x raw; {load()})\n    counted to the last exit as before stop 24: "
                  f"{due / exited:.0f}/s ({exited:.1f} s; {due / exited / raw:.2f}x raw)\n    {check(due, bodies)}")
        if kill:
            due = reset(n, bodies, timers, True)
            db.session.remove()
            env_kill = {**env, "SOM_FLOW_REMINDER_LEASE_SECONDS": "5"}
            seconds, outcome = killed_run(env_kill, Path(tmp))
            woken = db.session.scalar(select(func.count()).select_from(Task).where(Task.title == STALLED))
            print(f"  2 workers, one SIGKILLed mid-batch, one restarted (lease 5 s), {due} due of which {timers} "
                  f"process timers: {seconds:.1f} s ({load()}); {outcome}")
            print(f"    {check(due, bodies)}; '{STALLED}' tasks handed out: {woken} of {timers}")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts, e.g. 1,2")
    parser.add_argument("--kill", action="store_true", help="add the run with one worker SIGKILLed mid-batch")
    parser.add_argument("--timers", type=int, default=20, help="due process timers in the --kill run")
    parser.add_argument("--deals", type=int, default=50)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    from tests.pgcluster import Cluster

    counts = [int(k) for k in args.workers.split(",") if k.strip()]

    def one(name: str, url: str) -> None:
        run(name, url, args.reminders, counts, args.kill, args.deals, args.timers)

    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            one("SQLite", f"sqlite:///{tmp}/bench.sqlite")
    if not args.skip_postgres:
        cluster = Cluster()
        try:
            one("PostgreSQL", cluster.start())
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
