"""Benchmark: the reads people wait on at 100,000 opportunities and 300,000 tasks, on a throwaway PostgreSQL
cluster — `GET /api/v1/tasks?assignee=me` in-process (Flask test client) and over HTTP (a real `som-flow serve`
process on loopback), the pipeline board and the opportunity list over HTTP — each beside the SQL the ORM
emits for that request, captured once and run directly on one connection (its statement count and time), and
the task list's floor: a bare Flask app sending the same SQL and returning the same JSON.
The schema comes from `som-flow init` (the migrations); the rows from set-based SQL (INSERT … SELECT
generate_series), not the service, which would take hours. Prints p50/p95/p99; not a test.
Targets (issue #17 item 3): tasks p95 < 5 ms in-process and < 30 ms over HTTP; board and list p95 < 50 ms.

Run: .venv/bin/python bench/reads.py [--scale 1.0] [--rounds 200] [--seconds 20]
     (--scale 0.1: 10,000 opportunities and 30,000 tasks, for a quick run)
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import requests
from flask import Flask
from sqlalchemy import event, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from som_flow import create_app  # noqa: E402
from som_flow.clock import FixedClock  # noqa: E402
from som_flow.config import TestConfig  # noqa: E402
from som_flow.extensions import db  # noqa: E402
from som_flow.models import Opportunity, OpportunityKind  # noqa: E402
from som_flow.services import catalogs, users  # noqa: E402

SOM_FLOW = Path(sys.executable).with_name("som-flow")
PASSWORD = "bench-password-123"
REPS = 50
READ_INDEXES = ("ix_opportunity_archived", "ix_opportunity_board")  # migration 0012_reads
OPEN_SHARE = 0.14  # deals still being worked (in progress or on hold); the rest were won or lost over the years


def _env(url: str) -> dict:
    return {**os.environ, "SOM_FLOW_DATABASE_URL": url, "SOM_FLOW_SECRET_KEY": "bench-secret-key",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def _app(url: str, at: datetime):
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    return create_app({**config, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key"},
                      clock=FixedClock(at))


def fill(n_opps: int, now: datetime) -> dict:
    """Reps, customers, n_opps opportunities over the staged kinds and three tasks each, in set-based SQL.
    Returns who the bench acts as."""
    rep = users.create_user("rep1@bench.test", "Rep 1", ["rep"], password=PASSWORD)
    manager = users.create_user("manager@bench.test", "Manager", ["manager"], password=PASSWORD)
    db.session.flush()
    token = users.create_token(rep.email, "bench")
    run = db.session.execute
    params = {"now": now}
    run(text("""INSERT INTO "user" (email, name, password_hash, roles_csv, timezone, active,
                    appointment_reminder_minutes, email_notifications, created_at, updated_at)
                SELECT 'rep' || g || '@bench.test', 'Rep ' || g, '!', 'rep', 'UTC', true, 30, false, :now, :now
                FROM generate_series(2, :reps) g"""), {**params, "reps": REPS})
    rep_ids = list(db.session.scalars(text("SELECT id FROM \"user\" WHERE roles_csv = 'rep' ORDER BY id")))
    n_customers = max(100, n_opps // 5)
    run(text("""INSERT INTO customer (kind, name, status, bill_to, work_address, credit_hold, popup_notes,
                    popup_on_open, created_at, updated_at)
                SELECT 'organization', 'Customer ' || g, 'active', '{}', '{}', false, '', false, :now, :now
                FROM generate_series(1, :n) g"""), {**params, "n": n_customers})
    first_customer = db.session.scalar(text("SELECT min(id) FROM customer"))
    kinds = [k for k in db.session.scalars(select(OpportunityKind).order_by(OpportunityKind.id))
             if k.type != "stageless" and k.current_version and k.current_version.stages]
    kinds.sort(key=lambda k: k.type != "standard")  # most deals are standard sales
    shares = [0.7] + [0.3 / (len(kinds) - 1)] * (len(kinds) - 1) if len(kinds) > 1 else [1.0]
    run(text("SELECT setseed(0.42)"))
    start = 1
    for kind, share in zip(kinds, shares, strict=True):
        count = round(n_opps * share) if kind is not kinds[-1] else n_opps - start + 1
        stages = [s["key"] for s in kind.current_version.stages]
        # r picks the fate, g spreads reps, customers, stages and dates evenly
        run(text("""
            INSERT INTO opportunity (id, number, date, title, description, customer_id, address_choice,
                sales_rep_id, priority, amount, currency, probability, probability_source, stage, stage_entered_at,
                status, closed, resolved_date, explanation, answers, custom, kind_id, kind_version_id,
                anticipated_close_date, version, created_at, updated_at)
            SELECT g, 'R-' || lpad(g::text, 7, '0'), (:now - (g % 900) * interval '1 day')::date,
                'Deal ' || g, '', :cust + (g * 7919) % :ncust, 'bill_to',
                (CAST(:reps AS integer[]))[1 + g % cardinality(CAST(:reps AS integer[]))],
                (ARRAY['low','medium','high'])[1 + g % 3],
                500 + (g * 37) % 200000, (ARRAY['USD','USD','USD','USD','EUR','GBP'])[1 + g % 6],
                CASE WHEN f.status = 'won' THEN 100 WHEN f.status = 'lost' THEN 0 ELSE 10 + (g % 8) * 10 END,
                'stage_default', (CAST(:stages AS text[]))[1 + (g / 7) % cardinality(CAST(:stages AS text[]))],
                :now - (g % 60) * interval '1 day', f.status, f.status IN ('won', 'lost'),
                CASE WHEN f.status IN ('won', 'lost') THEN (:now - (g % 800) * interval '1 day')::date END,
                '', '{}', '{}', :kind, :version, (:now + ((g % 400) - 60) * interval '1 day')::date, 1,
                :now - (g % 900) * interval '1 day', :now
            FROM generate_series(CAST(:start AS integer), CAST(:stop AS integer)) g,
                 LATERAL (SELECT random() + 0 * g AS r) pick,  -- per row (a reference to g)
                 LATERAL (SELECT CASE WHEN pick.r < CAST(:open AS float) * 0.85 THEN 'in_progress'
                                      WHEN pick.r < :open THEN 'on_hold'
                                      WHEN pick.r < :open + (1 - :open) * 0.4 THEN 'won'
                                      ELSE 'lost' END AS status) f"""),
            {**params, "cust": first_customer, "ncust": n_customers, "reps": rep_ids, "stages": stages,
             "kind": kind.id, "version": kind.current_version_id, "start": start, "stop": start + count - 1,
             "open": OPEN_SHARE})
        start += count
    run(text("SELECT setval(pg_get_serial_sequence('opportunity', 'id'), (SELECT max(id) FROM opportunity))"))
    # three tasks a deal: two for its rep, one for the office pool; open while the deal is, done once it closed
    run(text("""
        INSERT INTO task (id, opportunity_id, spec_name, title, instructions, role, stage, gate, required,
            assignee_id, due_at, status, completed_by_id, completed_at, form, data, source, created_at, updated_at)
        SELECT md5(o.id || '-' || k)::uuid::text, o.id, 'task_' || k,
            (ARRAY['Call the customer', 'Send the proposal', 'Check the credit'])[k], '',
            CASE WHEN k = 3 THEN 'csr' ELSE 'rep' END, o.stage, false, true,
            CASE WHEN k = 3 THEN NULL ELSE o.sales_rep_id END,
            o.created_at + (k * 3 + o.id % 20) * interval '1 day',
            CASE WHEN o.closed THEN 'done' ELSE 'open' END,
            CASE WHEN o.closed THEN o.sales_rep_id END, CASE WHEN o.closed THEN o.updated_at END,
            '[]', '{}', 'process', o.created_at + k * interval '1 hour', :now
        FROM opportunity o CROSS JOIN generate_series(1, 3) k"""), params)
    # the board sums its columns in one currency: deals in EUR and GBP need rates, as a company selling in them has
    for currency, rate in (("EUR", "1.08"), ("GBP", "1.27")):
        catalogs.set_exchange_rate(currency, "USD", Decimal(rate), now.date() - timedelta(days=1000))
    db.session.commit()
    return {"rep": rep.email, "manager": manager.email, "token": token, "rep_id": rep.id}


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49] * 1000, q[94] * 1000, q[98] * 1000


def machine_jitter(rounds: int = 100) -> str:
    """The machine's own speed and jitter: a fixed piece of pure-Python work timed `rounds` times. On a shared
    virtual machine its p95 moved from 46 to 73 ms within an hour (bench/RESULTS.md, stop 26): read the requests'
    figures beside it."""
    def work():
        total = 0
        for i in range(600_000):
            total += i * i % 7
        return total

    p50, p95, _ = percentiles(timed(work, rounds, 60))
    return f"machine: a fixed Python loop p50 {p50:.1f} ms, p95 {p95:.1f} ms (p95/p50 {p95 / p50:.2f})"


def timed(fn, rounds: int, seconds: float) -> list[float]:
    for _ in range(5):  # warm caches, plans and connections
        fn()
    samples, deadline = [], time.monotonic() + seconds
    while len(samples) < rounds and (len(samples) < 5 or time.monotonic() < deadline):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return samples


def capture(app, fn) -> list[tuple[str, object]]:
    """The statements one warm call sends to the database, with their parameters (the call made once before: what
    a process keeps between requests, the reference data and the signed-in user's first read, is kept)."""
    seen = []
    fn()

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            fn()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    return seen


def raw_runner(app, statements):
    """Run the captured statements directly on one DBAPI connection, fetching every row, as one read. Each run ends
    in a COMMIT, as a served read does (unit_of_work.end_read_request): psycopg forgets its prepared statements at a
    ROLLBACK, and the app's reads are prepared and planned once a connection (services/plans.py)."""
    with app.app_context():
        raw = db.engine.raw_connection()

    def run():
        cursor = raw.cursor()
        for statement, parameters in statements:
            cursor.execute(statement, parameters)
            if cursor.description is not None:
                cursor.fetchall()
        cursor.close()
        raw.commit()
    return run, raw


def raw_runner_one(raw, one):
    def run():
        cursor = raw.cursor()
        cursor.execute(*one)
        if cursor.description is not None:
            cursor.fetchall()
        cursor.close()
        raw.commit()
    return run


def floor_runner(app, statements, body: bytes):
    """The least an in-process request for this read can cost on this machine: a bare Flask app (no extension, no
    ORM, no auth) whose one route runs the same statements on one DBAPI connection (raw_runner's run) and returns
    the same JSON body, called through Flask's test client as the in-process measure calls som_flow."""
    run, raw = raw_runner(app, statements)
    bare = Flask("floor")

    @bare.get("/floor")
    def floor():
        run()
        return bare.response_class(body, mimetype="application/json")

    client = bare.test_client()

    def call():
        check(client.get("/floor"), "/floor")
    return call, raw


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    # the server's log (a line per request) to a file: a pipe nobody reads fills after ~600 requests and the
    # server's next log line then blocks it, which stalled a run once the requests got faster
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [str(SOM_FLOW), "serve", "--host", "127.0.0.1", "--port", str(port), "--threads", "4", "--no-scheduler"],
        env=_env(url), stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/login", timeout=1)
            return proc, base
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    log.seek(0)
    raise RuntimeError(f"som-flow serve did not start: {log.read().decode()[-2000:]}")


def browser(base: str, email: str) -> requests.Session:
    """A session logged in through the login form, as a browser is."""
    session = requests.Session()
    page = session.get(f"{base}/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = session.post(f"{base}/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf},
                     allow_redirects=False)
    if r.status_code != 302:
        raise RuntimeError(f"login refused: {r.text[:500]}")
    return session


def login_client(app, email: str):
    client = app.test_client()
    with app.app_context():
        page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf})
    if r.status_code != 302:
        raise RuntimeError(f"login refused: {r.get_data(as_text=True)[:500]}")
    return client


def check(response, url: str) -> None:
    status = getattr(response, "status_code", None)
    if status != 200:
        raise RuntimeError(f"{url} answered {status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 opportunities, 300,000 tasks")
    parser.add_argument("--rounds", type=int, default=200, help="requests per measure (at most)")
    parser.add_argument("--seconds", type=float, default=20, help="time box per measure (after 5 requests)")
    parser.add_argument("--compare", action="store_true",
                        help="first measure without the indexes migration 0012_reads adds, then with them")
    parser.add_argument("--keep", action="store_true", help="print the database URL and wait before tearing down")
    args = parser.parse_args()
    from tests.pgcluster import Cluster

    cluster = Cluster()
    server = None
    try:
        admin_url = cluster.start()
        subprocess.run([str(Path(cluster.bindir, "createdb")), "-h", "127.0.0.1", "-p", str(cluster.port),  # noqa: S603 - our own createdb binary, fixed arguments
                        "-U", "postgres", "reads"], check=True)
        url = admin_url.rsplit("/", 1)[0] + "/reads"
        t = time.perf_counter()
        subprocess.run([str(SOM_FLOW), "init"], env=_env(url), check=True,  # noqa: S603 - our own CLI
                       stdout=subprocess.DEVNULL)
        schema_s = time.perf_counter() - t
        now = datetime.now(UTC).replace(microsecond=0)
        app = _app(url, now)
        n_opps = round(100_000 * args.scale)
        t = time.perf_counter()
        with app.app_context():
            who = fill(n_opps, now)
            counts = {name: db.session.scalar(text(sql)) for name, sql in (
                ("opportunities", "SELECT count(*) FROM opportunity"),
                ("open", "SELECT count(*) FROM opportunity WHERE NOT closed"),
                ("tasks", "SELECT count(*) FROM task"),
                ("open tasks", "SELECT count(*) FROM task WHERE status = 'open'"),
                ("the rep's open tasks", "SELECT count(*) FROM task WHERE status = 'open' AND assignee_id = "
                                         "(SELECT id FROM \"user\" WHERE email = 'rep1@bench.test')"))}
            db.session.remove()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would: index-only scans need the visibility map
        fill_s = time.perf_counter() - t
        print(f"PostgreSQL: schema by `som-flow init` in {schema_s:.1f} s; data in {fill_s:.1f} s: "
              + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
        if args.keep:
            print(f"database: {url}")

        tasks_path = "/api/v1/tasks?assignee=me"
        headers = {"Authorization": f"Bearer {who['token']}"}
        client = app.test_client()
        rep_client = login_client(app, who["rep"])
        manager_client = login_client(app, who["manager"])

        def in_process(c, path, **kw):
            def call():
                with app.app_context():
                    r = c.get(path, **kw)
                check(r, path)
            return call

        calls = {
            "tasks ?assignee=me (API, rep)": in_process(client, tasks_path, headers=headers),
            "pipeline board (page, manager)": in_process(manager_client, "/pipeline"),
            "opportunity list (page, manager)": in_process(manager_client, "/opportunities"),
            "opportunity list (page, rep: own open)": in_process(rep_client, "/opportunities"),
        }
        server, base = serve(url)
        rep_http, manager_http = browser(base, who["rep"]), browser(base, who["manager"])
        api_http = requests.Session()
        api_http.headers.update(headers)

        def over_http(session, path):
            def call():
                check(session.get(f"{base}{path}"), path)
            return call

        def measure(title: str) -> None:
            captured = {label: capture(app, fn) for label, fn in calls.items()}
            measures = [
                ("in-process: tasks ?assignee=me", calls["tasks ?assignee=me (API, rep)"], 5),
                ("HTTP: tasks ?assignee=me", over_http(api_http, tasks_path), 30),
                ("HTTP: pipeline board", over_http(manager_http, "/pipeline"), 50),
                ("HTTP: opportunity list (manager)", over_http(manager_http, "/opportunities"), 50),
                ("HTTP: opportunity list (rep)", over_http(rep_http, "/opportunities"), 50),
            ]
            print(f"\n## {title}\n{machine_jitter()}\n{'request':40s} {'n':>5s} {'p50':>8s} {'p95':>8s} {'p99':>8s}"
                  "  target (p95)")
            for label, fn, target in measures:
                samples = timed(fn, args.rounds, args.seconds)
                p50, p95, p99 = percentiles(samples)
                verdict = "met" if p95 < target else "MISSED"
                print(f"{label:40s} {len(samples):5d} {p50:7.2f}ms {p95:7.2f}ms {p99:7.2f}ms  < {target} ms: {verdict}")
            with app.app_context():  # the in-process requests' pooled connection: planned afresh, or its plan kept
                plans = db.session.execute(text(
                    "SELECT count(*), sum(generic_plans), sum(custom_plans) FROM pg_prepared_statements "
                    "WHERE statement LIKE 'SELECT task.id%'")).one()
                db.session.commit()  # not a rollback: psycopg would forget what it prepared
            print(f"the task page on the in-process connection: {plans[0]} prepared, run on its generic plan "
                  f"{plans[1] or 0} times, planned afresh {plans[2] or 0} times")
            print(f"\n{'raw SQL the ORM emitted, run directly':40s} {'stmts':>5s} {'p50':>8s} {'p95':>8s} {'p99':>8s}"
                  "  slowest statement (median)")
            for label, statements in captured.items():
                run, raw = raw_runner(app, statements)
                try:
                    p50, p95, p99 = percentiles(timed(run, args.rounds, args.seconds))
                    slowest = max(((statistics.median(timed(raw_runner_one(raw, one), 7, 1)), one[0])
                                   for one in statements), key=lambda pair: pair[0])
                finally:
                    raw.close()
                print(f"{label:40s} {len(statements):5d} {p50:7.2f}ms {p95:7.2f}ms {p99:7.2f}ms"
                      f"  {slowest[0] * 1000:.2f} ms: {' '.join(slowest[1].split())[:70]}…")
                if os.environ.get("BENCH_SHOW_SQL"):
                    for shape, times in Counter(" ".join(st.split())[:160] for st, _ in statements).items():
                        print(f"      {times:4d} x {shape}")
            # what no change to som_flow can go below on this machine: Flask's own request and the same SQL and JSON
            with app.app_context():
                body = client.get(tasks_path, headers=headers).get_data()
            call, raw = floor_runner(app, captured["tasks ?assignee=me (API, rep)"], body)
            try:
                p50, p95, p99 = percentiles(timed(call, args.rounds, args.seconds))
            finally:
                raw.close()
            print(f"\n{'floor: bare Flask, the same SQL and JSON':40s} {'':5s} {'p50':>8s} {'p95':>8s} {'p99':>8s}\n"
                  f"{'in-process: tasks ?assignee=me':40s} {'':5s} {p50:7.2f}ms {p95:7.2f}ms {p99:7.2f}ms"
                  f"  ({len(body):,} bytes of JSON)")

        if args.compare:
            with app.app_context(), db.engine.connect() as conn:
                for name in READ_INDEXES:
                    conn.execute(text(f"DROP INDEX {name}"))
                conn.commit()
            measure("without the 0012_reads indexes (--compare)")
            with app.app_context(), db.engine.connect() as conn:
                for index in Opportunity.__table__.indexes:
                    if index.name in READ_INDEXES:
                        index.create(conn)
                conn.commit()
                conn.execute(text("ANALYZE opportunity"))
                conn.commit()
        measure("with the schema as migrated")
        if args.keep:
            input("press Enter to tear down ")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        cluster.stop()


if __name__ == "__main__":
    main()
