"""Issue #17 item 2: the batch path of the reminder delivery loop, on SQLite and PostgreSQL.

A worker claims a batch with one UPDATE … RETURNING and delivers its people reminders with a constant number
of statements; process timers in the same batch wake their workflow one by one. Exactly once (DESIGN §4):
a worker that dies between claim and mark leaves its rows claimed until the lease runs out; then another
takes them over and each is delivered once. Time moves with the injected clock (and, for SpiffWorkflow's
timers, time-machine); nothing sleeps and no test reads a duration.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, insert, select, update

from som_flow.extensions import db
from som_flow.models import Delivery, Notification, Opportunity, Reminder, Task
from som_flow.services import reminders
from som_flow.services.customers import create_customer
from som_flow.services.opportunities import create_opportunity
from tests.helpers import Api, make_user

DUE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # an hour before the clock fixture's 09:00


@pytest.fixture
def office(app):
    rep = make_user("rep@x.test", "rep", password=None)
    make_user("manager@x.test", "manager", password=None)
    parent = create_customer(None, {"kind": "organization", "name": "Northwind"})
    job = create_customer(None, {"kind": "organization", "name": "Kitchen", "parent_id": parent.id})
    return rep, parent, job


def _deal(rep, customer, stage: str | None = None):
    # service-contract hands out no task with a due time, so only the reminders a test adds are due
    kind = "standard-sale" if stage else "service-contract"
    return create_opportunity(rep, {"title": f"Deal for {customer.name}", "customer_id": customer.id, "kind": kind,
                                    "amount": "100.00", "currency": "USD", "sales_rep": rep.id}, start_stage=stage)


def _due_reminders(deals: list, rep, n: int, prefix: str = "batch") -> list[int]:
    """n follow-ups due an hour ago, spread over `deals`, inserted as one statement."""
    db.session.execute(insert(Reminder), [
        {"kind": "follow_up", "user_id": rep.id, "opportunity_id": deals[i % len(deals)].id, "due_at": DUE,
         "state": "pending", "attempts": 0, "idempotency_key": f"{prefix}:{i}", "title": f"Call back #{i}",
         "created_at": DUE, "updated_at": DUE} for i in range(n)])
    db.session.commit()
    return list(db.session.scalars(select(Reminder.id).where(Reminder.idempotency_key.startswith(f"{prefix}:"))))


def _deliveries() -> dict[int, int]:
    """reminder id -> how many delivery-log rows it has."""
    db.session.expire_all()
    return dict(db.session.execute(select(Delivery.reminder_id, func.count()).group_by(Delivery.reminder_id)).all())


def _notifications() -> dict[int, list[str]]:
    """reminder id -> the bodies of its notifications."""
    out: dict[int, list[str]] = {}
    for reminder_id, body in db.session.execute(select(Notification.reminder_id, Notification.body)):
        out.setdefault(reminder_id, []).append(body)
    return out


def test_a_batch_is_delivered_once_with_each_deal_named_in_its_notification(app, clock, office):
    rep, parent, job = office
    deals = [_deal(rep, parent), _deal(rep, job)]
    ids = _due_reminders(deals, rep, 7)

    assert reminders.fire_due_reminders(at=clock.now(), owner="worker-1") == 7
    assert reminders.fire_due_reminders(at=clock.now(), owner="worker-2") == 0
    assert _deliveries() == dict.fromkeys(ids, 1)
    bodies = _notifications()
    assert sorted(bodies) == sorted(ids)
    expected = {deals[0].id: f"{deals[0].number} · Northwind", deals[1].id: f"{deals[1].number} · Northwind:Kitchen"}
    for row in db.session.scalars(select(Reminder).where(Reminder.id.in_(ids))):
        assert (row.state, row.lease_owner, row.delivered_at) == ("delivered", None, clock.now())
        assert bodies[row.id] == [expected[row.opportunity_id]]
    assert set(db.session.scalars(select(Delivery.delivered_by))) == {"worker-1"}


def test_a_worker_that_died_between_claim_and_mark_leaves_its_batch_to_another_after_the_lease(app, clock, office):
    rep, parent, _ = office
    ids = _due_reminders([_deal(rep, parent)], rep, 5)
    app.config["REMINDER_LEASE_SECONDS"] = 60

    # the dead worker claimed the whole batch, then died before its delivery transaction committed
    claimed = reminders._claim(clock.now(), "dead-worker", None)
    assert sorted(r.id for r in claimed) == sorted(ids)
    assert reminders.fire_due_reminders(at=clock.now(), owner="survivor") == 0  # the lease still holds
    assert _deliveries() == {} and _notifications() == {}

    clock.advance(seconds=59)
    assert reminders.fire_due_reminders(at=clock.now(), owner="survivor") == 0
    clock.advance(seconds=2)  # past the lease: the survivor takes the batch over
    assert reminders.fire_due_reminders(at=clock.now(), owner="survivor") == 5
    assert _deliveries() == dict.fromkeys(ids, 1)
    assert {k: len(v) for k, v in _notifications().items()} == dict.fromkeys(ids, 1)
    rows = db.session.scalars(select(Reminder).where(Reminder.id.in_(ids))).all()
    assert {(r.state, r.attempts, r.lease_owner) for r in rows} == {("delivered", 2, None)}
    assert set(db.session.scalars(select(Delivery.delivered_by))) == {"survivor"}

    # the dead worker comes back and tries to finish what it claimed: it no longer holds the lease
    people = reminders._deliver_batch(claimed, "dead-worker")
    assert people == (0, [])
    assert _deliveries() == dict.fromkeys(ids, 1)


def test_a_batch_lost_mid_delivery_writes_nothing_and_is_delivered_once_later(app, clock, office, monkeypatch):
    """The delivery transaction fails after marking and before the logs are written (as a SIGKILL before the
    COMMIT would): the marks roll back with it, and the rows stay claimed until the lease runs out."""
    rep, parent, _ = office
    ids = _due_reminders([_deal(rep, parent)], rep, 4)
    claimed = reminders._claim(clock.now(), "doomed", None)

    def crash(*args):
        raise KeyboardInterrupt("killed")  # not an Exception: no fallback, as with a dead process

    monkeypatch.setattr(reminders, "_log", crash)
    with pytest.raises(KeyboardInterrupt):
        reminders._deliver_batch(claimed, "doomed")
    monkeypatch.undo()
    db.session.expire_all()
    assert set(db.session.scalars(select(Reminder.state).where(Reminder.id.in_(ids)))) == {"claimed"}
    assert _deliveries() == {} and _notifications() == {}

    clock.advance(seconds=app.config["REMINDER_LEASE_SECONDS"] + 1)
    assert reminders.fire_due_reminders(at=clock.now(), owner="other") == 4
    assert _deliveries() == dict.fromkeys(ids, 1)
    assert {k: len(v) for k, v in _notifications().items()} == dict.fromkeys(ids, 1)


def test_one_batch_mixing_people_reminders_and_process_timers(app, clock, office, time_machine, monkeypatch):
    """The people reminders of the batch go out together; each process timer wakes its workflow, which hands
    the manager the stalled-Proposal task; the timer gets a delivery-log entry and no notification."""
    rep, parent, job = office
    time_machine.move_to(clock.now(), tick=False)  # SpiffWorkflow's timers read the wall clock
    stalled = [_deal(rep, parent, stage="proposal"), _deal(rep, job, stage="proposal")]
    quiet = _deal(rep, parent)
    people = _due_reminders([quiet], rep, 3)
    later = clock.now() + timedelta(days=14, minutes=1)  # the Proposal SLA is 14 days
    clock.set(later)
    time_machine.move_to(later, tick=False)
    timers = list(db.session.scalars(select(Reminder.id).where(Reminder.kind == "process_timer",
                                                               Reminder.state == "pending")))
    assert len(timers) == 2
    claims = []
    real_claim = reminders._claim

    def recording_claim(*args):
        rows = real_claim(*args)
        claims.append({r.kind for r in rows})
        return rows

    monkeypatch.setattr(reminders, "_claim", recording_claim)
    fired = reminders.fire_due_reminders(at=later, owner="worker")
    assert {"process_timer", "follow_up"} <= claims[0]  # one claim held both kinds
    delivered = _deliveries()
    assert all(delivered.get(i) == 1 for i in people + timers), delivered
    assert fired == len(delivered)
    notified = _notifications()
    assert all(len(notified.get(i, [])) == 1 for i in people)
    assert not any(i in notified for i in timers)
    channels = dict(db.session.execute(select(Delivery.reminder_id, Delivery.channels)).all())
    assert {tuple(channels[i]) for i in timers} == {("process",)}
    assert {tuple(channels[i]) for i in people} == {("in_app",)}
    tasks = db.session.scalars(select(Task.opportunity_id).where(Task.title == "Review stalled Proposal")).all()
    assert sorted(tasks) == sorted(d.id for d in stalled)
    assert reminders.fire_due_reminders(at=later, owner="worker") == 0


def _statements_to_fire(batch: int, monkeypatch, clock, delivered: int | None = None) -> list[str]:
    """The statements one worker sends to drain exactly one full batch (and find nothing more); `delivered` of
    them are delivered (all, unless said)."""
    monkeypatch.setattr(reminders, "BATCH", batch)
    sent: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        sent.append(statement.split(None, 1)[0].upper())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert reminders.fire_due_reminders(at=clock.now(), owner="counted") == (
            batch if delivered is None else delivered)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return sent


def test_a_batch_takes_the_same_statements_whether_it_holds_5_or_60_reminders(app, clock, office, monkeypatch):
    rep, parent, job = office
    deals = [_deal(rep, parent), _deal(rep, job), _deal(rep, parent)]
    _due_reminders(deals, rep, 5, prefix="small")
    small = _statements_to_fire(5, monkeypatch, clock)
    _due_reminders(deals, rep, 60, prefix="large")
    large = _statements_to_fire(60, monkeypatch, clock)

    assert small == large  # the same statements, in the same order, for 12 times the rows
    # claim (WITH … UPDATE), mark delivered, notifications (WITH customer_path … INSERT: the body built in SQL),
    # delivery log; then the empty claim that ends it — no read of the deals or their customers (7 before)
    assert [s for s in large if s != "BEGIN"] == ["WITH", "UPDATE", "WITH", "INSERT", "WITH"], large
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 65
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 65


def test_the_notification_names_the_deal_as_its_page_does_for_each_kind_of_customer(app, client, clock, office):
    """The body is built in SQL ("number · Customer:Job"); the rep reads it in the bell exactly as the deal's
    number and customer read in the API: a job under its customer, a top-level customer alone, a person
    (individual) customer, a job of a job."""
    rep, parent, job = office
    person = create_customer(None, {"kind": "individual", "name": "Ada Lovelace"})
    pantry = create_customer(None, {"kind": "organization", "name": "Pantry", "parent_id": job.id})
    deals = [_deal(rep, job), _deal(rep, parent), _deal(rep, person), _deal(rep, pantry)]
    ids = _due_reminders(deals, rep, 8)

    assert reminders.fire_due_reminders(at=clock.now(), owner="worker") == 8
    api = Api(client, rep.email)
    seen = {d["id"]: f"{d['number']} · {d['customer']}" for d in (api.get(f"/opportunities/{deal.id}").json
                                                                 for deal in deals)}
    assert sorted(seen.values()) == sorted([f"{deals[0].number} · Northwind:Kitchen",
                                            f"{deals[1].number} · Northwind", f"{deals[2].number} · Ada Lovelace",
                                            f"{deals[3].number} · Northwind:Kitchen:Pantry"])
    bell = api.get("/notifications?unread=true&per_page=50").json["items"]
    assert sorted(n["reminder_id"] for n in bell) == sorted(ids)
    by_deal = {}
    for note in bell:
        by_deal.setdefault(note["opportunity_id"], set()).add(note["body"])
    assert by_deal == {deal_id: {body} for deal_id, body in seen.items()}


def test_a_batch_on_a_deal_on_hold_or_closed_is_cancelled_in_the_same_statements(app, clock, office, monkeypatch):
    """Silenced rows (the deal on hold or closed) are cancelled by the statement that marks the others delivered:
    no notification, no delivery-log row, and no statement more."""
    rep, parent, job = office
    live, held, lost = _deal(rep, parent), _deal(rep, job), _deal(rep, parent)
    db.session.execute(update(Opportunity).where(Opportunity.id == held.id).values(status="on_hold"))
    db.session.execute(update(Opportunity).where(Opportunity.id == lost.id).values(status="lost", closed=True))
    db.session.commit()
    ids = _due_reminders([live, held, lost], rep, 9)

    sent = _statements_to_fire(9, monkeypatch, clock, delivered=3)
    states = dict(db.session.execute(select(Reminder.id, Reminder.state).where(Reminder.id.in_(ids))).all())
    rows = dict(db.session.execute(select(Reminder.id, Reminder.opportunity_id).where(Reminder.id.in_(ids))).all())
    assert {i: s for i, s in states.items()} == {i: "delivered" if rows[i] == live.id else "cancelled" for i in ids}
    assert set(_deliveries()) == {i for i in ids if rows[i] == live.id}
    assert set(_notifications()) == {i for i in ids if rows[i] == live.id}
    delivered_at = dict(db.session.execute(select(Reminder.id, Reminder.delivered_at)
                                           .where(Reminder.id.in_(ids))).all())
    assert {delivered_at[i] is None for i in ids if rows[i] != live.id} == {True}
    assert [s for s in sent if s != "BEGIN"] == ["WITH", "UPDATE", "WITH", "INSERT", "WITH"], sent  # as unsilenced
