"""Demo data that makes every page look lived in: a year of deals opened, moved, won and lost on their own
dates, site visits in each rep's working hours, and the scheduler's weekly forecast snapshots. Idempotent (a second
run changes nothing).

The history is real history: the services run with the app's clock set to each past moment (see _past_clock), so
stage stays, events, resolved dates and snapshots are what the reports read, not numbers written around them.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from som_flow.clock import FixedClock
from som_flow.errors import SomFlowError
from som_flow.extensions import db
from som_flow.models import Customer, Opportunity, User
from som_flow.services import appointments, catalogs, customers, forecast, opportunities, users
from som_flow.services.unit_of_work import now

log = logging.getLogger(__name__)
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
# whom the demo's reps report to (the board's "My team"): two teams, Mona's and Olga's
DEMO_TEAMS = {"rep@example.com": "manager@example.com", "rep2@example.com": "manager@example.com",
              "rep3@example.com": "owner@example.com"}
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka", "Tyrell",
             "Cyberdyne", "Soylent", "Gringotts", "Oscorp", "Monarch", "Nakatomi", "Pied Piper", "Dunder Mifflin",
             "Bluth", "Prestige"]
PEOPLE = ["Alvarez", "Berg", "Chen", "Dahl", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Khan",
          "Larsen", "Moreno", "Nilsen", "Olsen", "Patel", "Quinn", "Rossi", "Svendsen", "Tanaka"]
TITLES = ["New furnace", "AC replacement", "Service contract", "CRM licenses", "Heat pump install",
          "Duct cleaning", "Annual maintenance", "Boiler upgrade", "Consulting package", "Thermostat rollout"]
HISTORY_DAYS = 365
DEALS = 130
KINDS = ["standard-sale"] * 6 + ["service-contract"] * 3 + ["stageless"]
STAGES = ["lead", "qualification", "proposal", "negotiation"]
CURRENCIES = ["USD"] * 6 + ["EUR", "NOK"]
WON_REASONS = ["price", "relationship", "quality", "service"]
LOST_REASONS = ["price", "competitor", "no_budget", "timing", "no_decision"]


def _advance(actor: User, opp_id: int, stage: str) -> None:
    """Do the stage's required work the way a rep would, then move on."""
    opp = opportunities.get_opportunity(opp_id)
    for _ in range(10):  # required tasks come one after another
        required = [t for t in opportunities.open_tasks(opp) if t.required]
        if not required:
            break
        opportunities.complete_task(actor, required[0].id, {field: "yes" for field in required[0].form})
    opportunities.move_to_stage(actor, opp_id, stage)


def _at_work(day: date, zone: str, rng: random.Random, first: int = 8, last: int = 16) -> datetime:
    """A time on a working day (Monday to Friday, `first`:00 to `last`:45) in `zone`, as UTC."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    local = datetime.combine(day, time(rng.randrange(first, last + 1), rng.choice((0, 15, 30, 45))), ZoneInfo(zone))
    return local.astimezone(UTC)


@contextmanager
def _past_clock(start: datetime):
    """Run services at chosen past times: the app's clock is a FixedClock the history moves by hand, so events,
    stage stays and snapshots carry the dates they happened on; the real clock comes back afterwards."""
    real = current_app.extensions["som_clock"]
    past = FixedClock(start)
    current_app.extensions["som_clock"] = past
    try:
        yield past
    finally:
        current_app.extensions["som_clock"] = real


@dataclass(order=True)
class _Step:
    at: datetime
    order: int
    deal: int = field(compare=False)
    action: Callable[[int | None], int | None] = field(compare=False)


def _book_visit(scheduler: User, rep: User, opp_id: int, day: date, rng: random.Random) -> None:
    """A one-hour site visit in the rep's working hours, in the rep's own time zone."""
    start = _at_work(day, rep.timezone, rng, first=8, last=15)
    appointments.create_appointment(scheduler, {
        "opportunity_id": opp_id, "title": "Site visit", "start": start, "end": start + timedelta(hours=1),
        "attendees": [rep.id], "location": "Customer site", "timezone": rep.timezone})


def _plan_deal(n: int, today: date, rng: random.Random, people: dict, customers_: list[Customer]) -> list[_Step]:
    """One deal's life as timed steps: opened on a working day of the past year, moved on through its stages
    days or weeks apart, then won or lost with a reason, or still open today."""
    kind = rng.choice(KINDS)
    opened = today - timedelta(days=HISTORY_DAYS - (n * (HISTORY_DAYS - 3)) // DEALS)
    age = (today - opened).days
    rep = rng.choice(people["reps"]) if age > 20 or rng.random() < 0.7 else None
    csr, manager, scheduler = people["csr"], people["manager"], people["scheduler"]
    at = _at_work(opened, csr.timezone, rng)
    if at.date() >= today:
        return []
    data = {
        "title": f"{rng.choice(TITLES)} #{n + 1}", "customer_id": rng.choice(customers_).id, "kind": kind,
        "amount": Decimal(rng.randrange(500, 90000)).quantize(Decimal("1")), "currency": rng.choice(CURRENCIES),
        "priority": rng.choice(["low", "medium", "high"]),
        "anticipated_close_date": opened + timedelta(days=rng.randrange(30, 150)),
        "follow_up_date": max(opened, today + timedelta(days=rng.randrange(-3, 20))),
        "marketing_channel": rng.choice(["web", "phone", "referral", "trade_show"]),
        **({"sales_rep": rep.id} if rep else {}),
    }
    steps = [_Step(at, n * 100, n, lambda _id: opportunities.create_opportunity(csr, dict(data)).id)]
    if rep is None:
        return steps  # an unassigned lead waits in its first stage
    actor = rep
    closing = rng.random() < min(0.9, age / 120)  # old deals are mostly decided, this month's mostly open
    won = closing and rng.random() < 0.45
    reach = 0 if kind == "stageless" else 3 if won else rng.randrange(0, 4)  # a stageless deal has no stages
    for index, stage in enumerate(STAGES[1:reach + 1], start=1):
        at = _at_work(at.date() + timedelta(days=rng.randrange(2, 21)), rep.timezone, rng)
        if at.date() >= today:
            return steps
        steps.append(_Step(at, n * 100 + index, n, lambda opp_id, s=stage: _advance(actor, opp_id, s)))
        if stage == "qualification":  # the rep visits the site a few days after qualifying starts
            visit = at.date() + timedelta(days=rng.randrange(1, 6))
            steps.append(_Step(at, n * 100 + 50, n, lambda opp_id, d=visit: _book_visit(scheduler, rep, opp_id, d,
                                                                                        rng)))
    end = _at_work(at.date() + timedelta(days=rng.randrange(3, 25)), rep.timezone, rng)
    if closing and end.date() < today:
        if won:
            reason = rng.choice(WON_REASONS)
            steps.append(_Step(end, n * 100 + 90, n, lambda opp_id: opportunities.win(manager, opp_id, reason=reason)))
        else:
            reason = rng.choice(LOST_REASONS)
            steps.append(_Step(end, n * 100 + 90, n, lambda opp_id: opportunities.lose(
                actor, opp_id, reason=reason, explanation="The customer told us on the phone.")))
    elif rng.random() < 0.06:
        steps.append(_Step(end if end.date() < today else at, n * 100 + 90, n,
                           lambda opp_id: opportunities.hold(manager, opp_id)))
    return steps


def _weekly_snapshots(today: date) -> list[_Step]:
    """The scheduler's Monday forecast snapshot, for each week of the year."""
    monday = today - timedelta(days=today.weekday(), weeks=HISTORY_DAYS // 7)
    steps = []
    while monday < today:
        steps.append(_Step(datetime.combine(monday, time(5, 0), UTC), -1, -1,
                           lambda _id: forecast.take_snapshot(force=True)))
        monday += timedelta(days=7)
    return steps


def _upcoming_visits(people: dict, today: date, rng: random.Random) -> None:
    """This fortnight's site visits for open, assigned deals, each in its rep's working hours."""
    deals = [o for o in db.session.scalars(select(Opportunity).where(
        Opportunity.closed.is_(False), Opportunity.sales_rep_id.is_not(None)).order_by(Opportunity.id))]
    reps = {r.id: r for r in people["reps"]}
    for opp in deals[::4]:
        rep = reps.get(opp.sales_rep_id)
        if rep is None:
            continue
        try:
            _book_visit(people["scheduler"], rep, opp.id, today + timedelta(days=rng.randrange(1, 14)), rng)
        except SomFlowError:
            continue


def _demo_customers(rng: random.Random, manager: User) -> list[Customer]:
    """Twenty companies and twenty households, some with a contact or a site of their own."""
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
    return made


def load_demo() -> list[tuple[str, list[str]]]:
    """Create the demo users, customers and opportunities once; returns the logins."""
    rng = random.Random(7)  # noqa: S311 - reproducible demo data, not security
    made_now = []
    for email, name, roles, tz in DEMO_USERS:
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            made_now.append(users.create_user(email, name, roles, password=DEMO_PASSWORD, timezone=tz))
    for person in made_now:  # teams once everyone exists (a manager may come after their reps in the list)
        if person.email in DEMO_TEAMS:
            users.update_user(person.id, manager_id=users.find_user_by_email(DEMO_TEAMS[person.email]).id)
    logins = [(email, roles) for email, _n, roles, _t in DEMO_USERS]
    if db.session.scalar(select(func.count()).select_from(Opportunity)):
        return logins
    csr = users.find_user_by_email("csr@example.com")
    manager = users.find_user_by_email("manager@example.com")
    reps = [users.find_user_by_email(e) for e in ("rep@example.com", "rep2@example.com", "rep3@example.com")]
    scheduler = users.find_user_by_email("scheduler@example.com")
    today = now().date()
    with _past_clock(datetime.combine(today - timedelta(days=HISTORY_DAYS + 20), time(9), UTC)):
        made = _demo_customers(rng, manager)
    # totals are only ever shown converted, so the demo's foreign deals need rates (from before the history)
    for currency, rate in (("EUR", "1.08"), ("NOK", "0.093"), ("GBP", "1.27")):
        catalogs.set_exchange_rate(currency, "USD", Decimal(rate), today - timedelta(days=HISTORY_DAYS + 30))
    people = {"csr": csr, "manager": manager, "scheduler": scheduler, "reps": reps}
    steps = _weekly_snapshots(today)
    for n in range(DEALS):
        steps.extend(_plan_deal(n, today, rng, people, made))
    ids: dict[int, int] = {}
    given_up: set[int] = set()
    with _past_clock(steps[0].at) as past:
        for step in sorted(steps):  # one timeline: a snapshot sees exactly the deals open on its Monday
            if step.deal in given_up:
                continue
            past.set(step.at)
            try:
                made_id = step.action(ids.get(step.deal))
            except SomFlowError as exc:
                log.debug("demo deal %s stopped at %s: %s", step.deal, step.at, exc.detail)
                # the demo follows the rules users do: a refused deal stops where it was (a snapshot is just missed)
                if step.deal >= 0:
                    given_up.add(step.deal)
                continue
            if step.deal >= 0 and step.deal not in ids:
                ids[step.deal] = made_id
    _upcoming_visits(people, today, rng)
    catalogs.seed_defaults()
    forecast.take_snapshot(force=True)
    return logins
