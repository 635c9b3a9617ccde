"""Story 7 and DESIGN §4: follow-up and close-date reminders at 08:00 local time, exactly once, never dropped.

Time is moved with the FixedClock (`clock.set`), never slept on.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from som_flow.extensions import db
from som_flow.models import Delivery, Notification, Reminder
from som_flow.services import users
from som_flow.services.reminders import fire_due_reminders
from tests.helpers import Api, login, make_customer, make_user

OSLO, CHICAGO = ZoneInfo("Europe/Oslo"), ZoneInfo("America/Chicago")


def local(day: str, zone: ZoneInfo, hour: int = 8, minute: int = 0, second: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, second=second, tzinfo=zone)


def fire_at(clock, when: datetime, **kw) -> int:
    """The scheduler wakes at `when` (the clock moves there too) and delivers what is due."""
    clock.set(when)
    return fire_due_reminders(at=when, **kw)


@pytest.fixture
def people(app):
    return {
        "manager": make_user("manager@x.test", "manager", password=None),
        "scheduler": make_user("scheduler@x.test", "scheduler", password=None),
        "admin": make_user("admin@x.test", "admin", password=None),
        "chicago": make_user("chicago@x.test", "rep", timezone="America/Chicago", password=None),
        "oslo": make_user("oslo@x.test", "rep", timezone="Europe/Oslo", password=None),
        "customer": make_customer("Northwind Traders"),
    }


def new_deal(client, people, rep: str, **fields) -> dict:
    # a kind whose process hands out no tasks: only the deal's own dates remind (a standard sale made with its rep
    # gives the rep "Contact the prospect" at once, whose due reminder would fire beside these)
    body = {"title": f"Licenses for {rep}", "customer_id": people["customer"].id, "kind": "service-contract",
            "amount": "1000.00", "currency": "USD", "sales_rep": people[rep].id, **fields}
    r = Api(client, f"{rep}@x.test").post("/opportunities", body)
    assert r.status_code == 201, r.json
    return r.json


def reminders_of(opp_id: int, kind: str, state: str | None = None) -> list[Reminder]:
    db.session.expire_all()
    query = select(Reminder).where(Reminder.opportunity_id == opp_id, Reminder.kind == kind)
    if state:
        query = query.where(Reminder.state == state)
    return list(db.session.scalars(query.order_by(Reminder.id)))


def unread(client, email: str, kind: str | None = None) -> list[dict]:
    r = Api(client, email).get("/notifications?unread=true&per_page=200")
    assert r.status_code == 200, r.json
    assert r.json["total"] == len(r.json["items"])
    return [n for n in r.json["items"] if kind is None or n["reminder_kind"] == kind]


# -- 1. 08:00 in each rep's own timezone, exactly once -----------------------------------------------
def test_follow_ups_fire_at_eight_in_each_reps_own_timezone_exactly_once(client, clock, people):
    chicago = new_deal(client, people, "chicago", follow_up_date="2026-03-04")
    oslo = new_deal(client, people, "oslo", follow_up_date="2026-03-04")

    # 08:00 in Oslo (CET, UTC+1) is 07:00 UTC; 08:00 in Chicago (CST, UTC-6) is 14:00 UTC
    assert reminders_of(oslo["id"], "follow_up")[0].due_at == datetime(2026, 3, 4, 7, 0, tzinfo=UTC)
    assert reminders_of(chicago["id"], "follow_up")[0].due_at == datetime(2026, 3, 4, 14, 0, tzinfo=UTC)

    assert fire_at(clock, local("2026-03-04", OSLO, 7, 59, 59)) == 0
    assert unread(client, "oslo@x.test", "follow_up") == []
    assert fire_at(clock, local("2026-03-04", OSLO)) == 1
    assert fire_at(clock, local("2026-03-04", OSLO)) == 0
    assert len(unread(client, "oslo@x.test", "follow_up")) == 1
    assert unread(client, "chicago@x.test", "follow_up") == []

    assert fire_at(clock, local("2026-03-04", CHICAGO, 7, 59, 59)) == 0
    assert unread(client, "chicago@x.test", "follow_up") == []
    assert fire_at(clock, local("2026-03-04", CHICAGO)) == 1
    assert fire_at(clock, local("2026-03-04", CHICAGO, 9)) == 0
    assert fire_at(clock, local("2026-03-10", CHICAGO)) == 0

    bell = unread(client, "chicago@x.test")
    assert [n["reminder_kind"] for n in bell] == ["follow_up"]
    assert bell[0]["title"] == "Follow up: Licenses for chicago"
    assert bell[0]["opportunity_id"] == chicago["id"]
    assert chicago["number"] in bell[0]["body"] and "Northwind Traders" in bell[0]["body"]
    assert len(unread(client, "oslo@x.test", "follow_up")) == 1

    # someone else's notification is not there to read
    assert Api(client, "oslo@x.test").post(f"/notifications/{bell[0]['id']}/read").status_code == 404
    read = Api(client, "chicago@x.test").post(f"/notifications/{bell[0]['id']}/read")
    assert read.status_code == 200, read.json
    assert read.json["read_at"] is not None
    assert unread(client, "chicago@x.test") == []
    everything = Api(client, "chicago@x.test").get("/notifications").json
    assert everything["total"] == 1 and everything["items"][0]["read_at"] is not None

    deliveries = db.session.scalars(select(Delivery)).all()
    assert len(deliveries) == 2
    assert len({d.idempotency_key for d in deliveries}) == 2
    assert {r.state for r in reminders_of(chicago["id"], "follow_up")} == {"delivered"}


def test_a_deal_with_the_longest_title_still_gets_its_reminder(client, clock, people):
    title = "L" * 200
    deal = new_deal(client, people, "oslo", title=title, follow_up_date="2026-03-04")
    assert fire_at(clock, local("2026-03-04", OSLO)) == 1
    bell = unread(client, "oslo@x.test")
    assert [n["opportunity_id"] for n in bell] == [deal["id"]]
    assert bell[0]["title"].startswith("Follow up: LLL") and len(bell[0]["title"]) == 200


# -- 2. DST and a timezone change -------------------------------------------------------------------
@pytest.mark.parametrize(("rep", "zone", "week_before", "after_change"), [
    ("oslo", OSLO, "2026-03-23", "2026-03-30"),        # CEST from 2026-03-29
    ("chicago", CHICAGO, "2026-03-02", "2026-03-09"),  # CDT from 2026-03-08
])
def test_follow_ups_stay_at_eight_local_across_the_spring_forward_change(client, clock, people, rep, zone,
                                                                          week_before, after_change):
    before = new_deal(client, people, rep, follow_up_date=week_before)
    after = new_deal(client, people, rep, follow_up_date=after_change)
    due_before = reminders_of(before["id"], "follow_up")[0].due_at
    due_after = reminders_of(after["id"], "follow_up")[0].due_at
    assert due_before.astimezone(zone).hour == due_after.astimezone(zone).hour == 8
    # a week later in wall-clock time is an hour less in UTC once summer time began
    assert due_after - due_before == timedelta(days=7, hours=-1)

    clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    assert fire_at(clock, local(after_change, zone, 7, 59)) == 1  # only the earlier one
    assert fire_at(clock, local(after_change, zone, 8)) == 1
    assert [n["title"] for n in unread(client, f"{rep}@x.test", "follow_up")] == [
        f"Follow up: Licenses for {rep}"] * 2


def test_a_rep_who_moves_timezone_gets_the_follow_up_at_eight_in_the_new_zone(client, clock, people):
    deal = new_deal(client, people, "chicago", follow_up_date="2026-03-04")
    assert reminders_of(deal["id"], "follow_up", "pending")[0].due_at == local("2026-03-04", CHICAGO)

    users.update_user(people["chicago"].id, timezone="Europe/Oslo")
    # the change itself moves the rep's pending reminders; no edit of the deal needed
    assert [p.due_at for p in reminders_of(deal["id"], "follow_up", "pending")] == [local("2026-03-04", OSLO)]
    r = Api(client, "chicago@x.test").patch(f"/opportunities/{deal['id']}", {"description": "Moved to Oslo"})
    assert r.status_code == 200, r.json

    pending = reminders_of(deal["id"], "follow_up", "pending")
    assert [p.due_at for p in pending] == [local("2026-03-04", OSLO)]
    assert fire_at(clock, local("2026-03-04", OSLO)) == 1
    assert fire_at(clock, local("2026-03-04", CHICAGO)) == 0  # the old Chicago time is gone

    # moving back after it was delivered does not deliver the same follow-up a second time
    users.update_user(people["chicago"].id, timezone="America/Chicago")
    Api(client, "chicago@x.test").patch(f"/opportunities/{deal['id']}", {"description": "Back home"})
    assert fire_at(clock, local("2026-03-05", CHICAGO)) == 0
    assert len(unread(client, "chicago@x.test", "follow_up")) == 1


def test_a_new_follow_up_date_replaces_the_pending_reminder(client, clock, people):
    deal = new_deal(client, people, "oslo", follow_up_date="2026-03-04")
    r = Api(client, "oslo@x.test").patch(f"/opportunities/{deal['id']}", {"follow_up_date": "2026-03-06"})
    assert r.status_code == 200, r.json
    assert [p.due_at for p in reminders_of(deal["id"], "follow_up", "pending")] == [local("2026-03-06", OSLO)]
    assert fire_at(clock, local("2026-03-05", OSLO)) == 0
    assert fire_at(clock, local("2026-03-06", OSLO)) == 1


# -- 3. close date: N days before, overdue the day after, cancelled by the outcome --------------------
def test_close_date_reminders_come_three_days_before_and_the_day_after(client, clock, people, app):
    assert app.config["CLOSE_DATE_REMINDER_DAYS"] == 3
    deal = new_deal(client, people, "oslo", anticipated_close_date="2026-03-20")
    assert reminders_of(deal["id"], "close_date")[0].due_at == local("2026-03-17", OSLO)
    assert reminders_of(deal["id"], "close_overdue")[0].due_at == local("2026-03-21", OSLO)

    assert fire_at(clock, local("2026-03-17", OSLO, 7, 59)) == 0
    assert fire_at(clock, local("2026-03-17", OSLO)) == 1
    assert [n["title"] for n in unread(client, "oslo@x.test")] == ["Closes on 2026-03-20: Licenses for oslo"]
    assert fire_at(clock, local("2026-03-20", OSLO, 23, 59)) == 0
    assert fire_at(clock, local("2026-03-21", OSLO)) == 1
    assert unread(client, "oslo@x.test")[0]["title"] == "Close date passed: Licenses for oslo"
    assert fire_at(clock, local("2026-03-25", OSLO)) == 0


@pytest.mark.parametrize("outcome", ["win", "lose"])
def test_winning_or_losing_cancels_the_pending_close_date_reminders(client, clock, people, outcome):
    deal = new_deal(client, people, "oslo", anticipated_close_date="2026-03-20", follow_up_date="2026-03-10")
    rep = Api(client, "oslo@x.test")
    body = {"reason": "relationship"} if outcome == "win" else {"reason": "price"}
    r = rep.post(f"/opportunities/{deal['id']}/{outcome}", body)
    assert r.status_code == 200, r.json
    assert r.json["closed"] is True
    for kind in ("follow_up", "close_date", "close_overdue"):
        assert {x.state for x in reminders_of(deal["id"], kind)} == {"cancelled"}, kind
    assert fire_at(clock, local("2026-04-01", OSLO)) == 0
    assert unread(client, "oslo@x.test") == []


# -- 4. on hold: silent until resumed -----------------------------------------------------------------
def test_a_deal_on_hold_stays_silent_until_resumed(client, clock, people):
    held = new_deal(client, people, "oslo", follow_up_date="2026-03-04")
    other = new_deal(client, people, "oslo", follow_up_date="2026-03-04")
    rep = Api(client, "oslo@x.test")
    r = rep.post(f"/opportunities/{held['id']}/hold")
    assert r.status_code == 200 and r.json["status"] == "on_hold", r.json
    assert reminders_of(held["id"], "follow_up", "pending") == []

    assert fire_at(clock, local("2026-03-04", OSLO)) == 1
    assert [n["opportunity_id"] for n in unread(client, "oslo@x.test")] == [other["id"]]

    r = rep.post(f"/opportunities/{held['id']}/resume")
    assert r.status_code == 200 and r.json["status"] == "in_progress", r.json
    assert len(reminders_of(held["id"], "follow_up", "pending")) == 1
    assert fire_at(clock, local("2026-03-04", OSLO, 9)) == 1  # late, not dropped
    assert sorted(n["opportunity_id"] for n in unread(client, "oslo@x.test")) == sorted([held["id"], other["id"]])
    assert fire_at(clock, local("2026-03-05", OSLO)) == 0


def test_a_reminder_claimed_before_the_hold_is_not_delivered(client, clock, people):
    from som_flow.services.reminders import _claim, _deliver

    deal = new_deal(client, people, "oslo", follow_up_date="2026-03-04")
    clock.set(local("2026-03-04", OSLO))
    claimed = _claim(local("2026-03-04", OSLO), "slow-worker", None)
    assert len(claimed) == 1
    assert Api(client, "oslo@x.test").post(f"/opportunities/{deal['id']}/hold").status_code == 200
    assert _deliver(claimed[0].id, "slow-worker") is False
    assert unread(client, "oslo@x.test") == []
    assert reminders_of(deal["id"], "follow_up")[0].state == "cancelled"


# -- 5. firing by hand over the API ---------------------------------------------------------------------
def test_firing_by_hand_needs_the_scheduler_or_admin_role(client, clock, people):
    first = new_deal(client, people, "oslo", follow_up_date="2026-03-04")
    second = new_deal(client, people, "oslo", follow_up_date="2026-03-04")
    clock.set(local("2026-03-04", OSLO, 9))

    refused = Api(client, "oslo@x.test").post("/reminders/fire")
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    assert Api(client, "manager@x.test").post("/reminders/fire").status_code == 403
    assert unread(client, "oslo@x.test") == []

    only = Api(client, "scheduler@x.test").post("/reminders/fire", {"opportunity_ids": [second["id"]]})
    assert only.status_code == 200, only.json
    assert only.json == {"fired": 1}
    assert [n["opportunity_id"] for n in unread(client, "oslo@x.test")] == [second["id"]]
    assert reminders_of(first["id"], "follow_up")[0].state == "pending"

    rest = Api(client, "admin@x.test").post("/reminders/fire")
    assert rest.status_code == 200 and rest.json == {"fired": 1}, rest.json
    assert Api(client, "scheduler@x.test").post("/reminders/fire").json == {"fired": 0}
    assert len(unread(client, "oslo@x.test")) == 2

    listed = Api(client, "scheduler@x.test").get("/reminders?state=delivered&kind=follow_up")
    assert listed.status_code == 200 and listed.json["total"] == 2


def test_firing_by_hand_rejects_a_bad_body(client, people):
    r = Api(client, "scheduler@x.test").post("/reminders/fire", {"opportunity_ids": "x"})
    assert r.status_code == 422
    assert "opportunity_ids" in r.json["errors"]


def test_firing_by_hand_names_a_bad_list_item(client, people):
    r = Api(client, "scheduler@x.test").post("/reminders/fire", {"opportunity_ids": ["x"]})
    assert r.status_code == 422
    assert any(key.startswith("opportunity_ids") for key in r.json["errors"])


# -- 7. due while everything was down: late, never dropped -----------------------------------------------
def test_a_reminder_due_while_everything_was_down_is_delivered_late(client, clock, people):
    deal = new_deal(client, people, "chicago", follow_up_date="2026-03-04",
                    anticipated_close_date="2026-03-06")
    # nothing ran from the 2nd until the 16th
    assert fire_at(clock, datetime(2026, 3, 16, 12, tzinfo=UTC)) == 3
    kinds = sorted(n["reminder_kind"] for n in unread(client, "chicago@x.test"))
    assert kinds == ["close_date", "close_overdue", "follow_up"]
    assert fire_at(clock, datetime(2026, 3, 17, 12, tzinfo=UTC)) == 0
    assert {r.state for k in ("follow_up", "close_date", "close_overdue")
            for r in reminders_of(deal["id"], k)} == {"delivered"}


def test_a_lease_left_by_a_crashed_scheduler_is_taken_over(client, clock, people, app):
    from som_flow.services.reminders import _claim

    deal = new_deal(client, people, "oslo", follow_up_date="2026-03-04")
    clock.set(local("2026-03-04", OSLO))
    assert len(_claim(clock.now(), "crashed-host:1", None)) == 1  # ... and then the process died
    assert fire_due_reminders(at=clock.now(), owner="other") == 0  # the lease still holds
    clock.advance(seconds=app.config["REMINDER_LEASE_SECONDS"] + 1)
    assert fire_due_reminders(at=clock.now(), owner="other") == 1
    row = reminders_of(deal["id"], "follow_up")[0]
    assert (row.state, row.attempts, row.lease_owner) == ("delivered", 2, None)
    assert db.session.scalar(select(Delivery.delivered_by)) == "other"


def test_a_row_that_keeps_failing_goes_dead_and_the_others_still_go_out(client, clock, people, app, monkeypatch):
    from som_flow.services import reminders as service

    bad = new_deal(client, people, "oslo", follow_up_date="2026-03-04")
    new_deal(client, people, "chicago", follow_up_date="2026-03-04")
    real = service._notify
    bad_reminder = reminders_of(bad["id"], "follow_up")[0].id

    def flaky(conn, ids, at):
        if bad_reminder in ids:
            raise RuntimeError("mail relay on fire")
        return real(conn, ids, at)

    # fails inside the batch (which then writes nothing) and again alone; the good row still goes out
    monkeypatch.setattr(service, "_notify", flaky)
    clock.set(datetime(2026, 3, 5, tzinfo=UTC))
    assert fire_due_reminders(at=clock.now()) == 1
    assert len(unread(client, "chicago@x.test")) == 1
    for _ in range(app.config["REMINDER_MAX_ATTEMPTS"]):
        fire_due_reminders(at=clock.now())
    row = reminders_of(bad["id"], "follow_up")[0]
    assert row.state == "dead" and "mail relay on fire" in row.last_error
    assert row.attempts == app.config["REMINDER_MAX_ATTEMPTS"]
    dead = Api(client, "admin@x.test").get("/reminders?state=dead")
    assert dead.status_code == 200 and dead.json["total"] == 1
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1

    # the admin sees it on the dead-letter page and, the relay mended, tries it again: delivered once
    monkeypatch.setattr(service, "_notify", real)
    users.set_password(people["admin"].id, "secret-password")
    login(client, "admin@x.test")
    page = client.get("/admin/reminders").get_data(as_text=True)
    assert "mail relay on fire" in page
    assert client.post(f"/admin/reminders/{row.id}/retry").status_code == 302
    assert "Every reminder was delivered." in client.get("/admin/reminders").get_data(as_text=True)
    assert fire_due_reminders(at=clock.now()) == 1
    assert fire_due_reminders(at=clock.now()) == 0
    assert len(unread(client, "oslo@x.test")) == 1


# -- 9. e-mail over SMTP -------------------------------------------------------------------------------


def test_a_user_who_wants_email_gets_one_when_the_reminder_fires(client, clock, people, app, smtp_server):
    inbox, port = smtp_server
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="som@x.test")
    users.update_user(people["oslo"].id, email_notifications=True)
    new_deal(client, people, "oslo", follow_up_date="2026-03-04")
    new_deal(client, people, "chicago", follow_up_date="2026-03-04")  # chicago wants no e-mail

    assert fire_at(clock, local("2026-03-04", CHICAGO)) == 2
    assert [(m["To"], m["Subject"], m["From"]) for m in inbox.messages] == [
        ("oslo@x.test", "Follow up: Licenses for oslo", "som@x.test")]
    assert "Northwind Traders" in inbox.messages[0].get_payload()
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.email_sent_at.is_not(None))) == 1

    from som_flow.services.notify import send_pending_email

    assert send_pending_email() == 0  # nothing is mailed twice
    assert len(inbox.messages) == 1


def test_an_smtp_server_that_is_down_does_not_lose_the_in_app_notification(client, clock, people, app):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens here
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    users.update_user(people["oslo"].id, email_notifications=True)
    new_deal(client, people, "oslo", follow_up_date="2026-03-04")
    assert fire_at(clock, local("2026-03-04", OSLO)) == 1
    assert len(unread(client, "oslo@x.test")) == 1
