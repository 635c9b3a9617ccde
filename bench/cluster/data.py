"""The cluster's data, run on a host of the cluster (`ip netns exec somc-load ...`) with SOM_FLOW_DATABASE_URL set:

  prepare  users (reps with API tokens and page passwords), customers and deals made through the services, as
           reps would make them, and appointments whose reminders fall due while the load runs; writes the
           people the load acts as to a JSON file.
  check    after the run: torn states and the reminder audit (bench/cluster/checks.py), as JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import func, select, update  # noqa: E402

from som_flow import create_app  # noqa: E402
from som_flow.extensions import db  # noqa: E402
from som_flow.models import Opportunity, User  # noqa: E402
from som_flow.services import appointments, customers, opportunities, users  # noqa: E402

PASSWORD = "cluster-bench-password"
REMINDER_MINUTES = 2  # each rep's "remind me before an appointment", so a booking's reminder falls in the run
KINDS = ("standard-sale", "standard-sale", "service-contract")


def prepare(reps: int, deals: int, booked: int, window_seconds: float, out: Path, seed: int = 7) -> None:
    rng = random.Random(seed)  # noqa: S311 - repeatable amounts, not a secret
    manager = users.create_user("manager@cluster.test", "Manager", ["manager"], password=PASSWORD)
    people = [users.create_user(f"rep{i}@cluster.test", f"Rep {i}", ["rep"], password=PASSWORD)
              for i in range(1, reps + 1)]
    db.session.execute(update(User).values(appointment_reminder_minutes=REMINDER_MINUTES))
    db.session.commit()
    made = []
    for i in range(deals):
        rep = people[i % reps]
        customer = customers.create_customer(manager, {"kind": "organization", "name": f"Customer {i}"})
        made.append(opportunities.create_opportunity(rep, {
            "title": f"Deal {i}", "customer_id": customer.id, "kind": KINDS[i % len(KINDS)],
            "amount": rng.randrange(1_000, 90_000), "sales_rep": rep.id}).id)
    # appointments starting so that their reminders (REMINDER_MINUTES before) fall due across the run window
    start = datetime.now(UTC) + timedelta(minutes=REMINDER_MINUTES)
    for n, opp_id in enumerate(rng.sample(made, min(booked, len(made)))):
        opp = db.session.get(Opportunity, opp_id)
        at = start + timedelta(seconds=window_seconds * (n + 0.5) / booked)
        appointments.create_appointment(opp.sales_rep, {"opportunity_id": opp_id, "title": f"Visit {n}",
                                                        "start": at, "end": at + timedelta(hours=1)})
    people_out = [{"email": p.email, "id": p.id, "password": PASSWORD, "token": users.create_token(p.email, "bench")}
                  for p in people]
    out.write_text(json.dumps({"people": people_out, "reminder_minutes": REMINDER_MINUTES}))
    print(f"prepared {reps} reps, {deals} deals, {booked} booked visits", flush=True)


def check(cutoff: datetime) -> None:
    from bench.cluster.checks import reminder_audit, torn_states

    deals = db.session.scalar(select(func.count()).select_from(Opportunity))
    print(json.dumps({"deals": deals, "torn": torn_states(), "reminders": reminder_audit(cutoff)}, default=str))


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--deals", type=int, default=300)
    p.add_argument("--booked", type=int, default=120)
    p.add_argument("--window", type=float, default=120.0, help="seconds over which booked reminders fall due")
    p.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("check")
    c.add_argument("--cutoff", required=True, help="ISO time: reminders due by then must be delivered")
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        if args.command == "prepare":
            prepare(args.reps, args.deals, args.booked, args.window, args.out)
        else:
            check(datetime.fromisoformat(args.cutoff))


if __name__ == "__main__":
    main()
