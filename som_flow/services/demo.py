"""Demo data that makes every page look alive; idempotent (a second run changes nothing)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from som_flow.errors import SomFlowError
from som_flow.extensions import db
from som_flow.models import Customer, Opportunity, User
from som_flow.services import appointments, catalogs, customers, forecast, opportunities, users
from som_flow.services.unit_of_work import now

DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed for the demo logins
DEMO_USERS = [
    ("admin@example.com", "Ada Admin", ["admin"], "Europe/Oslo"),
    ("manager@example.com", "Mona Manager", ["manager"], "America/Chicago"),
    ("csr@example.com", "Carl Office", ["csr"], "America/Chicago"),
    ("rep@example.com", "Rita Rep", ["rep"], "America/Chicago"),
    ("rep2@example.com", "Ravi Rep", ["rep"], "Europe/Oslo"),
    ("rep3@example.com", "Rosa Rep", ["rep"], "America/New_York"),
    ("scheduler@example.com", "Sam Scheduler", ["scheduler"], "America/Chicago"),
    ("owner@example.com", "Olga Owner", ["manager", "rep"], "Europe/Oslo"),
]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka", "Tyrell",
             "Cyberdyne", "Soylent", "Gringotts", "Oscorp", "Monarch", "Nakatomi", "Pied Piper", "Dunder Mifflin",
             "Bluth", "Prestige"]
PEOPLE = ["Alvarez", "Berg", "Chen", "Dahl", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Khan",
          "Larsen", "Moreno", "Nilsen", "Olsen", "Patel", "Quinn", "Rossi", "Svendsen", "Tanaka"]
TITLES = ["New furnace", "AC replacement", "Service contract", "CRM licenses", "Heat pump install",
          "Duct cleaning", "Annual maintenance", "Boiler upgrade", "Consulting package", "Thermostat rollout"]


def _advance(actor: User, opp_id: int, stage: str) -> None:
    """Do the stage's required work the way a rep would, then move on."""
    opp = opportunities.get_opportunity(opp_id)
    for _ in range(10):  # required tasks come one after another
        required = [t for t in opportunities.open_tasks(opp) if t.required]
        if not required:
            break
        opportunities.complete_task(actor, required[0].id, {field: "yes" for field in required[0].form})
    opportunities.move_to_stage(actor, opp_id, stage)


def load_demo() -> list[tuple[str, list[str]]]:
    """Create the demo users, customers and opportunities once; returns the logins."""
    rng = random.Random(7)  # noqa: S311 - reproducible demo data, not security
    for email, name, roles, tz in DEMO_USERS:
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            users.create_user(email, name, roles, password=DEMO_PASSWORD, timezone=tz)
    logins = [(email, roles) for email, _n, roles, _t in DEMO_USERS]
    if db.session.scalar(select(func.count()).select_from(Opportunity)):
        return logins
    csr = users.find_user_by_email("csr@example.com")
    manager = users.find_user_by_email("manager@example.com")
    reps = [users.find_user_by_email(e) for e in ("rep@example.com", "rep2@example.com", "rep3@example.com")]
    scheduler = users.find_user_by_email("scheduler@example.com")
    made: list[Customer] = []
    for i in range(40):
        if i < 20:
            data = {"kind": "organization", "name": f"{COMPANIES[i]} Inc.",
                    "status": rng.choice(["prospect", "active"])}
        else:
            data = {"kind": "individual", "name": f"{PEOPLE[i - 20]} household", "status": "prospect"}
        data.update(email=f"contact{i}@example.net", phone=f"+1 555 01{i:02d}",
                    bill_to={"street": f"{100 + i} Main St", "city": "Springfield", "zip": f"6{i:04d}"})
        customer = customers.create_customer(None, data)
        if i % 4 == 0:
            customers.add_contact(manager, customer.id, {"name": f"{PEOPLE[i % 20]} Contact", "role": "Buyer",
                                                         "email": f"buyer{i}@example.net"})
        if i % 5 == 0:
            customers.create_customer(None, {"kind": data["kind"], "name": "Main office remodel",
                                             "parent_id": customer.id, "status": "active"})
        made.append(customer)
    kinds = ["standard-sale"] * 6 + ["service-contract"] * 3 + ["stageless"]
    stages = ["lead", "qualification", "proposal", "negotiation"]
    currencies = ["USD"] * 6 + ["EUR", "NOK"]
    today = now().date()
    # totals are only ever shown converted, so the demo's foreign deals need rates
    for currency, rate in (("EUR", "1.08"), ("NOK", "0.093"), ("GBP", "1.27")):
        catalogs.set_exchange_rate(currency, "USD", Decimal(rate), today - timedelta(days=365))
    for i in range(120):
        kind = rng.choice(kinds)
        rep = rng.choice(reps + [None])
        data = {
            "title": f"{rng.choice(TITLES)} #{i + 1}", "customer_id": rng.choice(made).id, "kind": kind,
            "amount": Decimal(rng.randrange(500, 90000)).quantize(Decimal("1")), "currency": rng.choice(currencies),
            "priority": rng.choice(["low", "medium", "high"]),
            "follow_up_date": today + timedelta(days=rng.randrange(-3, 20)),
            "anticipated_close_date": today + timedelta(days=rng.randrange(-20, 120)),
            "marketing_channel": rng.choice(["web", "phone", "referral", "trade_show"]),
        }
        if rep:
            data["sales_rep"] = rep.id
        try:
            opp = opportunities.create_opportunity(csr, data)
            if kind != "stageless":
                for stage in stages[1:rng.randrange(1, 5)]:
                    _advance(manager, opp.id, stage)
            fate = rng.random()
            if fate < 0.15:
                opportunities.win(manager, opp.id, reason="relationship")
            elif fate < 0.27:
                opportunities.lose(manager, opp.id, reason=rng.choice(["price", "competitor", "no_budget"]),
                                   explanation="Demo data")
            elif fate < 0.32:
                opportunities.hold(manager, opp.id)
            elif i % 6 == 0 and rep:
                start = now().replace(minute=0, second=0, microsecond=0) + timedelta(days=rng.randrange(0, 10),
                                                                                    hours=rng.randrange(1, 8))
                appointments.create_appointment(scheduler, {
                    "opportunity_id": opp.id, "title": f"Site visit: {opp.title}", "start": start,
                    "end": start + timedelta(hours=1), "attendees": [rep.id], "location": "Customer site"})
        except SomFlowError:
            continue  # demo data follows the same rules as users; a refused step is simply skipped
    catalogs.seed_defaults()
    forecast.take_snapshot(force=True)
    return logins
