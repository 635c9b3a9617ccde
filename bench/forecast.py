"""Benchmark: the forecast and the pipeline report over 100,000 opportunities and their Event history, on SQLite
and on a throwaway PostgreSQL cluster — beside a baseline of one raw GROUP BY over the same table. Prints medians;
not a test. Target (issue #8): < 200 ms each.

Run: .venv/bin/python bench/forecast.py [--opportunities 100000] [--rounds 7] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from som_flow import create_app  # noqa: E402
from som_flow.clock import FixedClock  # noqa: E402
from som_flow.config import TestConfig  # noqa: E402
from som_flow.extensions import db  # noqa: E402
from som_flow.models import Customer, Event, KindVersion, Opportunity, OpportunityKind, StageStay, User  # noqa: E402
from som_flow.services import catalogs, forecast, reports  # noqa: E402
from som_flow.services.catalogs import seed_defaults  # noqa: E402
from som_flow.services.kinds import install_shipped_kinds  # noqa: E402

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STAGES = ["lead", "qualification", "proposal", "negotiation", "commit"]
PROBABILITY = {"lead": 10, "qualification": 20, "proposal": 50, "negotiation": 80, "commit": 90}


def fill(n: int) -> int:
    """n opportunities of the standard kind with a realistic spread, and their stage/outcome events; returns
    the number of events."""
    rng = random.Random(42)  # noqa: S311 - reproducible bench data
    for currency, rate in (("EUR", "1.08"), ("NOK", "0.093"), ("GBP", "1.27")):
        catalogs.set_exchange_rate(currency, "USD", Decimal(rate), date(2025, 1, 1))
    stamp = NOW
    reps = []
    for i in range(10):
        reps.append(db.session.execute(insert(User).values(
            email=f"rep{i}@bench.test", name=f"Rep {i}", roles_csv="rep", timezone="UTC", active=True,
            password_hash="!", created_at=stamp, updated_at=stamp)).inserted_primary_key[0])
    customer = db.session.execute(insert(Customer).values(
        kind="organization", name="Bench Inc.", status="active", created_at=stamp, updated_at=stamp,
    )).inserted_primary_key[0]
    kind = db.session.scalar(select(OpportunityKind).where(OpportunityKind.key == "standard-sale"))
    version = db.session.scalar(select(KindVersion.id).where(KindVersion.kind_id == kind.id))
    stages = [s["key"] for s in kind.current_version.stages]
    opps, events, stays = [], [], []
    for i in range(1, n + 1):
        opened = NOW - timedelta(days=rng.randrange(1, 720))
        reached = rng.randrange(1, len(stages) + 1)
        fate = rng.random()
        status = "won" if fate < 0.2 else "lost" if fate < 0.4 else "in_progress"
        at = opened
        for k, stage in enumerate(stages[:reached]):
            events.append({"opportunity_id": i, "at": at, "type": "stage_changed",
                           "data": {"from": stages[k - 1] if k else None, "to": stage}})
            entered, at = at, at + timedelta(days=rng.randrange(1, 30))
            last_visit = k == reached - 1
            left = None if last_visit and status == "in_progress" else at
            outcome = "advanced" if not last_visit else None if status == "in_progress" else status
            # every visit is a first one here (no back moves), as the projection would flag it
            stays.append({"opportunity_id": i, "stage": stage, "entered_at": entered, "left_at": left,
                          "outcome": outcome, "days": (left - entered) / timedelta(days=1) if left else None,
                          "first_visit": True, "advanced": outcome in ("advanced", "won")})
        last = stages[reached - 1]
        if status != "in_progress":
            events.append({"opportunity_id": i, "at": at, "type": status,
                           "data": {"stage": last, "reason": "price" if status == "lost" else "relationship"}})
        opps.append({
            "id": i, "number": f"B-{i:07d}", "opened_on": opened.date(), "title": f"Deal {i}", "description": "",
            "customer_id": customer, "address_choice": "bill_to", "sales_rep_id": rng.choice(reps),
            "priority": "medium", "amount": Decimal(rng.randrange(500, 200000)), "currency": rng.choice(
                ["USD"] * 6 + ["EUR", "NOK", "GBP"]),
            "probability": {"won": 100, "lost": 0}.get(status, PROBABILITY.get(last, 50)),
            "probability_source": "stage_default", "stage": last, "stage_entered_at": at,
            "status": status, "closed": status != "in_progress",
            "resolved_date": at.date() if status != "in_progress" else None,
            "reason": {"won": "relationship", "lost": rng.choice(["price", "competitor", "no_budget"])}.get(status),
            "explanation": "", "anticipated_close_date": (NOW + timedelta(days=rng.randrange(-60, 365))).date(),
            "follow_up_date": (NOW + timedelta(days=rng.randrange(-30, 30))).date(),
            "marketing_source": rng.choice([None, "google", "partner", "customer_referral"]),
            "answers": {}, "custom": {}, "kind_id": kind.id, "kind_version_id": version, "version": 1,
            "created_at": opened, "updated_at": stamp,
        })
    for chunk in range(0, len(opps), 5000):
        db.session.execute(insert(Opportunity), opps[chunk:chunk + 5000])
    for chunk in range(0, len(events), 10000):
        db.session.execute(insert(Event), events[chunk:chunk + 10000])
    for chunk in range(0, len(stays), 10000):
        db.session.execute(insert(StageStay), stays[chunk:chunk + 10000])
    db.session.commit()
    return len(events)


def median_ms(fn, rounds: int) -> float:
    fn()  # warm caches and plans
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
        db.session.rollback()
    return statistics.median(samples) * 1000


def run(name: str, url: str, n: int, rounds: int) -> dict:
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": url}, clock=FixedClock(NOW))
    with app.app_context():
        db.create_all()
        seed_defaults()
        install_shipped_kinds()
        t = time.perf_counter()
        n_events = fill(n)
        load_s = time.perf_counter() - t
        db.session.commit()
        if db.engine.dialect.name == "postgresql":  # as autovacuum would: index-only scans need the visibility map
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        raw = select(Opportunity.currency, func.count(), func.sum(Opportunity.amount),
                     func.sum(Opportunity.amount * Opportunity.probability)).where(
            Opportunity.closed.is_(False)).group_by(Opportunity.currency)
        figures = {
            "baseline: raw GROUP BY currency": median_ms(lambda: db.session.execute(raw).all(), rounds),
            "forecast by month": median_ms(lambda: forecast.forecast(None, group_by="month"), rounds),
            "forecast by stage": median_ms(lambda: forecast.forecast(None, group_by="stage"), rounds),
            "forecast by rep": median_ms(lambda: forecast.forecast(None, group_by="rep"), rounds),
            "pipeline report (all)": median_ms(lambda: reports.pipeline_report(None), rounds),
            "pipeline report, last 90 days": median_ms(lambda: reports.pipeline_report(
                None, filters=forecast.Filters(from_=(NOW - timedelta(days=90)).date(), status="all")), rounds),
        }
        print(f"\n{name}: {n} opportunities, {n_events} events (loaded in {load_s:.1f} s), median of {rounds}")
        for label, ms in figures.items():
            verdict = "" if label.startswith("baseline") else ("  ok" if ms < 200 else "  MISSED (< 200 ms)")
            print(f"  {label:34s} {ms:8.1f} ms{verdict}")
        db.session.remove()
        db.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    from tests.pgcluster import on_both_backends

    on_both_backends(lambda name, url: run(name, url, args.opportunities, args.rounds), args.skip_postgres)

if __name__ == "__main__":
    main()
