"""Issue #4: editing or cancelling one occurrence of a repeating appointment, not the series.

`PATCH /appointments/{id}` with `occurrence` detaches that one (the series gets an EXDATE);
`DELETE /appointments/{id}?occurrence=` only adds the EXDATE.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from som_flow.extensions import db
from som_flow.models import Appointment, Reminder
from som_flow.services import users
from som_flow.services.reminders import fire_due_reminders
from tests.helpers import Api, make_customer, make_user

OSLO = ZoneInfo("Europe/Oslo")
# 16, 23, 30 March (summer time from the 29th) and 6 April, at 10:00 in Oslo
CHECK_IN = {"title": "Weekly check-in", "start": "2026-03-16T10:00:00+01:00", "end": "2026-03-16T10:30:00+01:00",
            "rrule": "FREQ=WEEKLY;COUNT=4", "timezone": "Europe/Oslo", "location": "Room 3"}
SECOND = "2026-03-23T09:00:00+00:00"  # the second occurrence, 10:00 Oslo


@pytest.fixture
def people(app):
    return {
        "rep": make_user("rep@x.test", "rep", timezone="Europe/Oslo", password=None),
        "ann": make_user("ann@x.test", "rep", timezone="America/Chicago", password=None),
        "customer": make_customer("Northwind Traders"),
        "scheduler": make_user("scheduler@x.test", "scheduler", password=None),  # reads everyone's board
    }


@pytest.fixture
def series(client, people) -> dict:
    api = Api(client, "rep@x.test")
    r = api.post("/opportunities", {"title": "CRM licenses", "customer_id": people["customer"].id,
                                    "kind": "service-contract", "amount": "5000.00", "currency": "USD",
                                    "sales_rep": people["rep"].id})
    assert r.status_code == 201, r.json
    r = api.post("/appointments", {**CHECK_IN, "opportunity_id": r.json["id"], "attendees": [people["rep"].id]})
    assert r.status_code == 201, r.json
    return r.json


def schedule(client, user_id: int) -> list[tuple[int, str, str]]:
    """(id, title, local start) of each occurrence on the user's schedule board from mid-March to April, as the
    scheduler sees it (a rep may not read a colleague's)."""
    r = Api(client, "scheduler@x.test").get("/appointments", query_string={
        "from": "2026-03-15T00:00:00+00:00", "to": "2026-04-30T00:00:00+00:00", "user": str(user_id)})
    assert r.status_code == 200, r.json
    return [(o["id"], o["title"], datetime.fromisoformat(o["start"]).astimezone(OSLO).strftime("%m-%d %H:%M"))
            for o in r.json]


def feed_events(client, user_id: int, email: str) -> dict[str, object]:
    r = client.get(f"/api/v1/calendar/{user_id}.ics", query_string={"token": users.create_token(email)})
    assert r.status_code == 200, r.data
    return {str(e["UID"]): e for e in Calendar.from_ical(r.data).walk("VEVENT")}


def test_moving_one_occurrence_detaches_it_and_leaves_the_rest_of_the_series(client, people, series):
    api = Api(client, "rep@x.test")
    r = api.patch(f"/appointments/{series['id']}", {
        "occurrence": SECOND, "title": "Check-in (moved)", "start": "2026-03-24T11:00:00+01:00",
        "end": "2026-03-24T12:00:00+01:00", "location": "Room 5"})
    assert r.status_code == 200, r.json
    moved = r.json
    assert moved["id"] != series["id"]
    assert moved["series_id"] == series["id"]
    assert datetime.fromisoformat(moved["recurrence_id"]) == datetime(2026, 3, 23, 9, tzinfo=UTC)
    assert moved["rrule"] is None and moved["attendees"] == [people["rep"].id]
    assert (moved["title"], moved["location"]) == ("Check-in (moved)", "Room 5")

    sid, mid = series["id"], moved["id"]
    assert schedule(client, people["rep"].id) == [
        (sid, "Weekly check-in", "03-16 10:00"), (mid, "Check-in (moved)", "03-24 11:00"),
        (sid, "Weekly check-in", "03-30 10:00"), (sid, "Weekly check-in", "04-06 10:00")]

    # the series itself is unchanged apart from the skipped date
    db.session.expire_all()
    row = db.session.get(Appointment, sid)
    assert (row.title, row.location, row.rrule) == ("Weekly check-in", "Room 3", "FREQ=WEEKLY;COUNT=4")
    assert row.exdates == ["2026-03-23T09:00:00+00:00"]


def test_an_occurrence_edit_keeps_unchanged_fields_and_length(client, people, series):
    r = Api(client, "rep@x.test").patch(f"/appointments/{series['id']}", {
        "occurrence": "2026-03-30T10:00:00+02:00", "attendees": [people["ann"].id]})
    assert r.status_code == 200, r.json
    assert (r.json["title"], r.json["location"]) == ("Weekly check-in", "Room 3")
    assert datetime.fromisoformat(r.json["start"]) == datetime(2026, 3, 30, 8, tzinfo=UTC)
    assert datetime.fromisoformat(r.json["end"]) == datetime(2026, 3, 30, 8, 30, tzinfo=UTC)
    # the rep no longer has the 30th; ann has only that one
    assert [s for _, _, s in schedule(client, people["rep"].id)] == ["03-16 10:00", "03-23 10:00", "04-06 10:00"]
    assert schedule(client, people["ann"].id) == [(r.json["id"], "Weekly check-in", "03-30 10:00")]


def test_cancelling_one_occurrence_only_skips_it(client, people, series):
    api = Api(client, "rep@x.test")
    r = api.delete(f"/appointments/{series['id']}", query_string={"occurrence": SECOND})
    assert r.status_code == 204, r.json
    assert [s for _, _, s in schedule(client, people["rep"].id)] == ["03-16 10:00", "03-30 10:00", "04-06 10:00"]
    assert db.session.scalars(select(Appointment)).all() == [db.session.get(Appointment, series["id"])]
    # the same occurrence is gone now: a second cancel or edit names the field
    again = api.delete(f"/appointments/{series['id']}", query_string={"occurrence": SECOND})
    assert again.status_code == 422 and "occurrence" in str(again.json)
    edit = api.patch(f"/appointments/{series['id']}", {"occurrence": SECOND, "title": "x"})
    assert edit.status_code == 422 and "occurrence" in str(edit.json)


@pytest.mark.parametrize("body, field", [
    ({"occurrence": "2026-03-23T09:30:00+00:00"}, "occurrence"),  # not a start of the series
    ({"occurrence": "2026-04-13T08:00:00+00:00"}, "occurrence"),  # after COUNT=4 ran out
    ({"occurrence": "2026-03-23T09:00:00"}, "occurrence"),  # no offset
    ({"occurrence": SECOND, "rrule": "FREQ=DAILY"}, "rrule"),  # one occurrence cannot repeat
    ({"occurrence": SECOND, "end": "2026-03-23T08:00:00+00:00"}, "end"),  # ends before it starts
])
def test_a_bad_occurrence_edit_is_refused_naming_the_field(client, people, series, body, field):
    r = Api(client, "rep@x.test").patch(f"/appointments/{series['id']}", body)
    assert r.status_code == 422, r.json
    assert field in str(r.json)
    assert len(schedule(client, people["rep"].id)) == 4


def test_an_appointment_that_does_not_repeat_has_no_occurrences_to_detach(client, people, series):
    api = Api(client, "rep@x.test")
    r = api.post("/appointments", {**CHECK_IN, "rrule": None, "attendees": [people["rep"].id]})
    assert r.status_code == 201, r.json
    bad = api.patch(f"/appointments/{r.json['id']}", {"occurrence": CHECK_IN["start"], "title": "x"})
    assert bad.status_code == 422 and "occurrence" in str(bad.json)


def test_the_feed_carries_the_exdate_and_the_detached_occurrence(client, people, series):
    api = Api(client, "rep@x.test")
    moved = api.patch(f"/appointments/{series['id']}", {
        "occurrence": SECOND, "start": "2026-03-24T11:00:00+01:00", "end": "2026-03-24T12:00:00+01:00"}).json
    assert api.delete(f"/appointments/{series['id']}",
                      query_string={"occurrence": "2026-04-06T10:00:00+02:00"}).status_code == 204

    events = feed_events(client, people["rep"].id, "rep@x.test")
    series_uid, moved_uid = f"appointment-{series['id']}@som-flow", f"appointment-{moved['id']}@som-flow"
    assert set(events) == {series_uid, moved_uid}
    exdates = sorted(d.dt for ex in _as_list(events[series_uid]["EXDATE"]) for d in ex.dts)
    assert [d.astimezone(OSLO).strftime("%m-%d %H:%M") for d in exdates] == ["03-23 10:00", "04-06 10:00"]
    assert {str(d.tzinfo) for d in exdates} == {"Europe/Oslo"}
    detached = events[moved_uid]
    assert "RRULE" not in detached
    assert detached.decoded("DTSTART") == datetime(2026, 3, 24, 10, tzinfo=UTC)
    assert detached.decoded("DTEND") == datetime(2026, 3, 24, 11, tzinfo=UTC)
    assert str(detached["RELATED-TO"]) == series_uid


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_reminders_follow_the_moved_and_the_cancelled_occurrences(client, clock, people, series):
    api = Api(client, "rep@x.test")
    api.patch(f"/appointments/{series['id']}", {
        "occurrence": SECOND, "start": "2026-03-24T11:00:00+01:00", "end": "2026-03-24T12:00:00+01:00"})
    api.delete(f"/appointments/{series['id']}", query_string={"occurrence": "2026-03-30T10:00:00+02:00"})
    fired_at = []
    clock.set(datetime(2026, 3, 15, tzinfo=UTC))
    while clock.now() < datetime(2026, 4, 20, tzinfo=UTC):
        if fire_due_reminders():
            fired_at.append(clock.now())
        clock.advance(minutes=15)
    # 30 minutes before each: the 23rd became the 24th at 11:00, the 30th is gone
    assert [f.astimezone(OSLO).strftime("%m-%d %H:%M") for f in fired_at] == [
        "03-16 09:30", "03-24 10:30", "04-06 09:30"]
    db.session.expire_all()
    assert db.session.scalars(select(Reminder).where(Reminder.state == "pending")).all() == []


def test_deleting_the_series_takes_its_detached_occurrences_along(client, people, series):
    api = Api(client, "rep@x.test")
    api.patch(f"/appointments/{series['id']}", {"occurrence": SECOND, "title": "Moved"})
    assert api.delete(f"/appointments/{series['id']}").status_code == 204
    assert schedule(client, people["rep"].id) == []
    assert db.session.scalars(select(Appointment)).all() == []
