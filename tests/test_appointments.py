"""Story 7's appointments: a weekly check-in booked, repeated across DST, memorized, in the iCalendar feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar
from sqlalchemy import select

from som_flow.extensions import db
from som_flow.models import Reminder
from som_flow.services import users
from som_flow.services.reminders import fire_due_reminders
from tests.helpers import Api, make_customer, make_user

OSLO = ZoneInfo("Europe/Oslo")
CHECK_IN = {"title": "Weekly check-in", "start": "2026-03-16T10:00:00+01:00", "end": "2026-03-16T10:30:00+01:00",
            "rrule": "FREQ=WEEKLY;COUNT=4", "timezone": "Europe/Oslo", "location": "Room 3"}


@pytest.fixture
def people(app):
    return {
        "manager": make_user("manager@x.test", "manager", password=None),
        "rep": make_user("rep@x.test", "rep", timezone="Europe/Oslo", password=None),
        "ann": make_user("ann@x.test", "rep", timezone="America/Chicago", password=None),
        "bob": make_user("bob@x.test", "csr", timezone="Europe/Oslo", password=None),
        "customer": make_customer("Northwind Traders"),
    }


@pytest.fixture
def deal(client, people) -> dict:
    r = Api(client, "rep@x.test").post("/opportunities", {
        "title": "CRM licenses", "customer_id": people["customer"].id, "kind": "service-contract",
        "amount": "5000.00", "currency": "USD", "sales_rep": people["rep"].id})
    assert r.status_code == 201, r.json
    return r.json


def book(client, people, deal, email="rep@x.test", **fields) -> dict:
    body = {**CHECK_IN, "opportunity_id": deal["id"], "attendees": [people["rep"].id], **fields}
    r = Api(client, email).post("/appointments", body)
    assert r.status_code == 201, r.json
    return r.json


def occurrences(client, email, user_id, start="2026-03-15T00:00:00+00:00", end="2026-04-30T00:00:00+00:00"):
    r = Api(client, email).get("/appointments", query_string={"from": start, "to": end, "user": str(user_id)})
    assert r.status_code == 200, r.json
    return r.json


def starts(items) -> list[datetime]:
    return [datetime.fromisoformat(o["start"]) for o in items]


def appointment_reminders(user_id=None, state=None) -> list[Reminder]:
    db.session.expire_all()
    query = select(Reminder).where(Reminder.kind == "appointment")
    if user_id is not None:
        query = query.where(Reminder.user_id == user_id)
    if state is not None:
        query = query.where(Reminder.state == state)
    return list(db.session.scalars(query.order_by(Reminder.due_at, Reminder.id)))


def feed(client, user_id: int, email: str):
    token = users.create_token(email)
    r = client.get(f"/api/v1/calendar/{user_id}.ics", query_string={"token": token})
    assert r.status_code == 200, r.data
    assert r.mimetype == "text/calendar"
    return Calendar.from_ical(r.data)


def test_a_weekly_check_in_stays_at_ten_oclock_local_across_the_dst_change(client, people, deal):
    booked = book(client, people, deal)
    assert booked["rrule"] == "FREQ=WEEKLY;COUNT=4"
    assert booked["attendees"] == [people["rep"].id]

    items = occurrences(client, "rep@x.test", people["rep"].id)
    assert [o["id"] for o in items] == [booked["id"]] * 4
    local = [s.astimezone(OSLO) for s in starts(items)]
    assert [s.date().isoformat() for s in local] == ["2026-03-16", "2026-03-23", "2026-03-30", "2026-04-06"]
    assert {(s.hour, s.minute) for s in local} == {(10, 0)}
    # summer time begins on 29 March: the same local time is an hour earlier in UTC
    assert [s.astimezone(UTC).hour for s in starts(items)] == [9, 9, 8, 8]
    assert all(datetime.fromisoformat(o["end"]) - datetime.fromisoformat(o["start"]) == timedelta(minutes=30)
               for o in items)

    # a window that only holds the third one; someone else's calendar is empty (and not the rep's to read)
    clipped = occurrences(client, "rep@x.test", people["rep"].id, "2026-03-24T00:00:00+00:00",
                          "2026-04-01T00:00:00+00:00")
    assert starts(clipped) == [datetime(2026, 3, 30, 8, 0, tzinfo=UTC)]
    assert Api(client, "rep@x.test").get("/appointments", query_string={"user": people["ann"].id}).status_code == 403
    assert occurrences(client, "manager@x.test", people["ann"].id) == []
    assert occurrences(client, "rep@x.test", people["rep"].id, "2026-04-07T00:00:00+00:00",
                       "2026-06-01T00:00:00+00:00") == []


def test_memorized_for_two_colleagues_it_appears_in_each_ones_calendar_feed(client, people, deal):
    booked = book(client, people, deal)
    r = Api(client, "rep@x.test").post(f"/appointments/{booked['id']}/memorize",
                                       {"users": [people["ann"].id, people["bob"].id]})
    assert r.status_code == 201, r.json
    copies = {c["attendees"][0]: c for c in r.json}
    assert set(copies) == {people["ann"].id, people["bob"].id}
    assert all(c["memorized_from_id"] == booked["id"] and c["rrule"] == "FREQ=WEEKLY;COUNT=4" for c in r.json)

    for name in ("ann", "bob"):
        user = people[name]
        items = occurrences(client, f"{name}@x.test", user.id)
        assert [o["id"] for o in items] == [copies[user.id]["id"]] * 4
        assert {s.astimezone(OSLO).hour for s in starts(items)} == {10}

        events = [c for c in feed(client, user.id, f"{name}@x.test").walk("VEVENT")]
        assert len(events) == 1
        event = events[0]
        assert str(event["SUMMARY"]) == "Weekly check-in"
        assert str(event["LOCATION"]) == "Room 3"
        rule = event["RRULE"]
        assert rule["FREQ"] == ["WEEKLY"] and rule["COUNT"] == [4]
        # the calendar app repeats it in the meeting's own zone, so it stays at 10:00 after the DST change
        dtstart = event.decoded("DTSTART")
        assert str(dtstart.tzinfo) == "Europe/Oslo"
        expanded = list(rrulestr(rule.to_ical().decode(), dtstart=dtstart))
        assert len(expanded) == 4
        assert {(d.astimezone(OSLO).hour, d.astimezone(OSLO).minute) for d in expanded} == {(10, 0)}
        assert [d.astimezone(UTC).hour for d in expanded] == [9, 9, 8, 8]

    # the rep's own feed has the original; a colleague may not read someone else's
    assert len(list(feed(client, people["rep"].id, "rep@x.test").walk("VEVENT"))) == 1
    other = client.get(f"/api/v1/calendar/{people['bob'].id}.ics",
                       query_string={"token": users.create_token("ann@x.test")})
    assert other.status_code == 403
    bad = client.get(f"/api/v1/calendar/{people['bob'].id}.ics", query_string={"token": "not-a-token"})
    assert bad.status_code == 401


@pytest.mark.parametrize(("change", "field"), [
    ({"rrule": "FREQ=FORTNIGHTLY"}, "rrule"),
    ({"rrule": "FREQ=WEEKLY;COUNT=two"}, "rrule"),
    ({"rrule": "FREQ=SECONDLY"}, "rrule"),
    ({"end": "2026-03-16T09:59:00+01:00"}, "end"),
    ({"end": "2026-03-16T10:00:00+01:00"}, "end"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"start": "2026-03-16T10:00:00"}, "start"),
])
def test_a_bad_appointment_is_refused_naming_the_field(client, people, deal, change, field):
    r = Api(client, "rep@x.test").post("/appointments", {**CHECK_IN, "opportunity_id": deal["id"], **change})
    assert r.status_code == 422, r.json
    assert r.mimetype == "application/problem+json"
    assert field in r.json["errors"], r.json
    assert occurrences(client, "rep@x.test", people["rep"].id) == []


def test_a_bad_rrule_in_an_edit_is_refused(client, people, deal):
    booked = book(client, people, deal)
    r = Api(client, "rep@x.test").patch(f"/appointments/{booked['id']}", {"rrule": "FREQ=NEVER"})
    assert r.status_code == 422 and "rrule" in r.json["errors"], r.json
    r = Api(client, "rep@x.test").patch(f"/appointments/{booked['id']}", {"end": "2026-03-16T08:00:00+00:00"})
    assert r.status_code == 422 and "end" in r.json["errors"], r.json
    assert len(occurrences(client, "rep@x.test", people["rep"].id)) == 4


def test_a_reminder_comes_each_attendees_minutes_before_and_fires(client, clock, people, deal):
    users.update_user(people["ann"].id, appointment_reminder_minutes=15)
    booked = book(client, people, deal, rrule=None, start="2026-03-05T14:00:00+00:00",
                  end="2026-03-05T15:00:00+00:00", attendees=[people["rep"].id, people["ann"].id])
    assert booked["warnings"] == []
    due = {r.user_id: r.due_at for r in appointment_reminders(state="pending")}
    assert due == {people["rep"].id: datetime(2026, 3, 5, 13, 30, tzinfo=UTC),
                   people["ann"].id: datetime(2026, 3, 5, 13, 45, tzinfo=UTC)}

    for at, fired in [((13, 29), 0), ((13, 30), 1), ((13, 31), 0), ((13, 45), 1), ((16, 0), 0)]:
        clock.set(datetime(2026, 3, 5, *at, tzinfo=UTC))
        assert fire_due_reminders() == fired, at
    for email, expected in [("rep@x.test", "Appointment on 2026-03-05 at 15:00 CET: Weekly check-in"),
                            ("ann@x.test", "Appointment on 2026-03-05 at 08:00 CST: Weekly check-in")]:
        bell = Api(client, email).get("/notifications?unread=true").json["items"]
        assert [(n["reminder_kind"], n["title"]) for n in bell] == [("appointment", expected)]


def test_a_repeating_appointment_reminds_before_every_occurrence(client, clock, people, deal):
    book(client, people, deal)
    fired_at = []
    clock.set(datetime(2026, 3, 15, tzinfo=UTC))
    while clock.now() < datetime(2026, 4, 20, tzinfo=UTC):
        if fire_due_reminders():
            fired_at.append(clock.now())
        clock.advance(minutes=15)
    assert [f.astimezone(OSLO).strftime("%m-%d %H:%M") for f in fired_at] == [
        "03-16 09:30", "03-23 09:30", "03-30 09:30", "04-06 09:30"]
    assert appointment_reminders(state="pending") == []


def test_one_fire_delivers_an_occurrence_that_a_late_delivery_makes_due(client, clock, people, deal):
    """The scheduler was down for two weeks and comes back 15 minutes before today's check-in: one
    `POST /reminders/fire` delivers the two missed occurrences' reminders and today's, which their delivery
    scheduled and which is due already (API.md: "delivers every reminder due now"); a second call finds nothing."""
    book(client, people, deal)  # 10:00 Oslo on 03-16, 03-23, 03-30 (summer time: 08:00 UTC), 04-06
    clock.set(datetime(2026, 3, 30, 7, 45, tzinfo=UTC))
    make_user("scheduler@x.test", "scheduler", password=None)
    scheduler = Api(client, "scheduler@x.test")
    r = scheduler.post("/reminders/fire")
    assert r.status_code == 200 and r.json == {"fired": 3}, r.json
    delivered = [f"{r.due_at.astimezone(OSLO):%m-%d %H:%M}" for r in appointment_reminders(state="delivered")]
    assert delivered == ["03-16 09:30", "03-23 09:30", "03-30 09:30"]
    assert [f"{r.due_at.astimezone(OSLO):%m-%d %H:%M}" for r in appointment_reminders(state="pending")] == [
        "04-06 09:30"]
    assert scheduler.post("/reminders/fire").json == {"fired": 0}
    titles = [n["title"] for n in Api(client, "rep@x.test").get("/notifications").json["items"]]
    assert titles.count("Appointment on 2026-03-30 at 10:00 CEST: Weekly check-in") == 1, titles


def test_moving_or_cancelling_an_appointment_moves_or_cancels_its_reminder(client, clock, people, deal):
    booked = book(client, people, deal, rrule=None, start="2026-03-05T14:00:00+00:00",
                  end="2026-03-05T15:00:00+00:00")
    api = Api(client, "rep@x.test")
    r = api.patch(f"/appointments/{booked['id']}", {"start": "2026-03-06T14:00:00+00:00",
                                                    "end": "2026-03-06T15:00:00+00:00"})
    assert r.status_code == 200, r.json
    assert [x.due_at for x in appointment_reminders(state="pending")] == [datetime(2026, 3, 6, 13, 30, tzinfo=UTC)]
    clock.set(datetime(2026, 3, 5, 14, tzinfo=UTC))
    assert fire_due_reminders() == 0

    assert api.delete(f"/appointments/{booked['id']}").status_code == 204
    assert appointment_reminders(state="pending") == []
    clock.set(datetime(2026, 3, 7, tzinfo=UTC))
    assert fire_due_reminders() == 0


def test_a_closed_opportunity_takes_no_new_appointments(client, people, deal):
    api = Api(client, "rep@x.test")
    assert api.post(f"/opportunities/{deal['id']}/lose", {"reason": "price"}).status_code == 200
    r = api.post("/appointments", {**CHECK_IN, "opportunity_id": deal["id"]})
    assert r.status_code == 409
    assert deal["number"] in r.json["detail"]
    assert occurrences(client, "rep@x.test", people["rep"].id) == []


def test_a_double_booking_is_allowed_with_a_warning(client, people, deal):
    first = book(client, people, deal, rrule=None)
    assert first["warnings"] == []
    second = book(client, people, deal, rrule=None, title="Demo", start="2026-03-16T10:15:00+01:00",
                  end="2026-03-16T11:00:00+01:00")
    assert second["warnings"] == ["Weekly check-in overlaps"]
    elsewhere = book(client, people, deal, rrule=None, title="Lunch", start="2026-03-16T10:30:00+01:00",
                     end="2026-03-16T11:30:00+01:00", attendees=[people["ann"].id])
    assert elsewhere["warnings"] == []
