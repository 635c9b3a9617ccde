"""Issue #12 item 6: appointments edited, moved, cancelled, completed and deleted — one occurrence, this and the
following ones, or the whole series; who may; the deal's timeline; half-open ranges; the feed in two readers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from som_flow.services import users
from tests.helpers import Api, login, make_customer, make_user

OSLO = ZoneInfo("Europe/Oslo")
# Mondays 16, 23, 30 March (summer time from the 29th) and 6 April 2026, 10:00-10:30 in Oslo
CHECK_IN = {"title": "Weekly check-in", "start": "2026-03-16T10:00:00+01:00", "end": "2026-03-16T10:30:00+01:00",
            "rrule": "FREQ=WEEKLY;COUNT=4", "timezone": "Europe/Oslo", "location": "Room 3"}
THIRD = "2026-03-30T10:00:00+02:00"


@pytest.fixture(autouse=True)
def many_logins(app):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 1000


@pytest.fixture
def people(app):
    return {
        "rep": make_user("rep@x.test", "rep", timezone="Europe/Oslo"),
        "colleague": make_user("colleague@x.test", "rep", timezone="Europe/Oslo"),
        "csr": make_user("csr@x.test", "csr", timezone="Europe/Oslo"),
        "scheduler": make_user("scheduler@x.test", "scheduler", timezone="Europe/Oslo"),
        "manager": make_user("manager@x.test", "manager", timezone="Europe/Oslo"),
        "customer": make_customer("Northwind Traders"),
    }


@pytest.fixture
def deal(client, people) -> dict:
    r = Api(client, "csr@x.test").post("/opportunities", {
        "title": "CRM licenses", "customer_id": people["customer"].id, "kind": "standard-sale",
        "amount": "5000.00", "currency": "USD", "sales_rep": people["rep"].id})
    assert r.status_code == 201, r.json
    return r.json


@pytest.fixture
def series(client, people, deal) -> dict:
    r = Api(client, "rep@x.test").post("/appointments", {**CHECK_IN, "opportunity_id": deal["id"],
                                                          "attendees": [people["rep"].id]})
    assert r.status_code == 201, r.json
    return r.json


def board(client, user_id: int, start="2026-03-15T00:00:00+00:00", end="2026-04-30T00:00:00+00:00"):
    """(title, local start, local end) of each occurrence on the user's calendar, as the scheduler reads it."""
    r = Api(client, "scheduler@x.test").get("/appointments", query_string={"from": start, "to": end,
                                                                            "user": str(user_id)})
    assert r.status_code == 200, r.json
    return [(o["title"], _local(o["start"]), _local(o["end"])[-5:]) for o in r.json]


def _local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(OSLO).strftime("%m-%d %H:%M")


def timeline(client, deal) -> list[tuple[str, dict]]:
    r = Api(client, "manager@x.test").get(f"/opportunities/{deal['id']}/history?per_page=200")
    assert r.status_code == 200, r.json
    return [(e["type"], e["data"]) for e in r.json["items"] if e["type"].startswith("appointment_")]


# -- one occurrence, this and following, all -----------------------------------------------------------------
def test_moving_one_occurrence_leaves_the_others_where_they_were(client, people, series):
    r = Api(client, "rep@x.test").patch(f"/appointments/{series['id']}", {
        "occurrence": THIRD, "start": "2026-03-31T14:00:00+02:00", "end": "2026-03-31T15:00:00+02:00"})
    assert r.status_code == 200, r.json
    assert board(client, people["rep"].id) == [
        ("Weekly check-in", "03-16 10:00", "10:30"), ("Weekly check-in", "03-23 10:00", "10:30"),
        ("Weekly check-in", "03-31 14:00", "15:00"), ("Weekly check-in", "04-06 10:00", "10:30")]


def test_this_and_following_changes_the_rest_of_the_series_only(client, people, series):
    api = Api(client, "rep@x.test")
    r = api.patch(f"/appointments/{series['id']}", {
        "occurrence": THIRD, "scope": "following", "title": "Check-in (new room)", "location": "Room 5",
        "start": "2026-03-30T11:00:00+02:00", "end": "2026-03-30T11:45:00+02:00"})
    assert r.status_code == 200, r.json
    assert r.json["id"] != series["id"] and r.json["rrule"] == "FREQ=WEEKLY;COUNT=2"
    assert board(client, people["rep"].id) == [
        ("Weekly check-in", "03-16 10:00", "10:30"), ("Weekly check-in", "03-23 10:00", "10:30"),
        ("Check-in (new room)", "03-30 11:00", "11:45"), ("Check-in (new room)", "04-06 11:00", "11:45")]


def test_this_and_following_from_the_first_occurrence_is_the_whole_series(client, people, series):
    r = Api(client, "rep@x.test").patch(f"/appointments/{series['id']}", {
        "occurrence": CHECK_IN["start"], "scope": "following", "title": "Renamed"})
    assert r.status_code == 200, r.json
    assert r.json["id"] == series["id"]
    assert [t for t, _, _ in board(client, people["rep"].id)] == ["Renamed"] * 4


def test_all_occurrences_move_as_far_as_the_chosen_one(client, people, series):
    r = Api(client, "rep@x.test").patch(f"/appointments/{series['id']}", {
        "occurrence": THIRD, "scope": "all", "start": "2026-03-30T09:00:00+02:00", "end": "2026-03-30T10:00:00+02:00"})
    assert r.status_code == 200, r.json
    assert r.json["id"] == series["id"]
    assert [(s, e) for _, s, e in board(client, people["rep"].id)] == [
        ("03-16 09:00", "10:00"), ("03-23 09:00", "10:00"), ("03-30 09:00", "10:00"), ("04-06 09:00", "10:00")]


def test_changing_the_repeat_rule_of_the_series(client, people, series):
    r = Api(client, "rep@x.test").patch(f"/appointments/{series['id']}", {"rrule": "FREQ=WEEKLY;COUNT=2",
                                                                           "notes": "Bring the contract"})
    assert r.status_code == 200, r.json
    assert r.json["notes"] == "Bring the contract"
    assert [s for _, s, _ in board(client, people["rep"].id)] == ["03-16 10:00", "03-23 10:00"]


def test_deleting_this_and_following_ends_the_series_before_the_occurrence(client, people, series):
    api = Api(client, "rep@x.test")
    api.patch(f"/appointments/{series['id']}", {"occurrence": "2026-04-06T10:00:00+02:00", "title": "Last one"})
    r = api.delete(f"/appointments/{series['id']}", query_string={"occurrence": THIRD, "scope": "following"})
    assert r.status_code == 204, r.json
    assert [s for _, s, _ in board(client, people["rep"].id)] == ["03-16 10:00", "03-23 10:00"]


def test_deleting_all_from_an_occurrence_deletes_the_series(client, people, series):
    r = Api(client, "rep@x.test").delete(f"/appointments/{series['id']}",
                                         query_string={"occurrence": THIRD, "scope": "all"})
    assert r.status_code == 204, r.json
    assert board(client, people["rep"].id) == []


def test_completing_one_occurrence_leaves_the_rest_scheduled(client, people, series):
    api = Api(client, "rep@x.test")
    r = api.post(f"/appointments/{series['id']}/complete", query_string={"occurrence": THIRD})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "completed" and r.json["series_id"] == series["id"]
    listed = api.get("/appointments", query_string={"from": "2026-03-15T00:00:00Z", "to": "2026-04-30T00:00:00Z"})
    assert [(_local(o["start"]), o["status"]) for o in listed.json] == [
        ("03-16 10:00", "scheduled"), ("03-23 10:00", "scheduled"), ("03-30 10:00", "completed"),
        ("04-06 10:00", "scheduled")]


@pytest.mark.parametrize("body, field", [
    ({"start": "2026-03-16T10:00:00+01:00", "end": "2026-03-16T09:00:00+01:00"}, "end"),
    ({"occurrence": THIRD, "scope": "all", "end": "2026-03-30T09:00:00+02:00"}, "end"),
    ({"occurrence": THIRD, "scope": "following", "end": "2026-03-30T09:00:00+02:00"}, "end"),
    ({"occurrence": THIRD, "scope": "sometimes"}, "scope"),
    ({"scope": "following"}, "occurrence"),
    ({"rrule": "FREQ=MINUTELY"}, "rrule"),
])
def test_a_bad_edit_is_a_field_error_and_changes_nothing(client, people, series, body, field):
    r = Api(client, "rep@x.test").patch(f"/appointments/{series['id']}", body)
    assert r.status_code == 422, r.json
    assert field in r.json["errors"], r.json
    assert board(client, people["rep"].id) == [("Weekly check-in", s, "10:30") for s in (
        "03-16 10:00", "03-23 10:00", "03-30 10:00", "04-06 10:00")]


# -- who may ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("email, allowed", [
    ("rep@x.test", True), ("csr@x.test", True), ("scheduler@x.test", True), ("manager@x.test", True),
    ("colleague@x.test", False)])
def test_attendees_the_office_and_managers_may_change_an_appointment_another_rep_may_not(
        client, people, series, email, allowed):
    api = Api(client, email)
    expected = 200 if allowed else 403
    assert api.patch(f"/appointments/{series['id']}", {"title": "Renamed"}).status_code == expected
    assert api.patch(f"/appointments/{series['id']}", {"occurrence": THIRD, "title": "x"}).status_code == expected
    assert api.post(f"/appointments/{series['id']}/complete",
                    query_string={"occurrence": CHECK_IN["start"]}).status_code == expected
    assert api.delete(f"/appointments/{series['id']}",
                      query_string={"occurrence": "2026-03-23T10:00:00+01:00"}).status_code == (
        204 if allowed else 403)
    assert api.delete(f"/appointments/{series['id']}").status_code == (204 if allowed else 403)
    assert len(board(client, people["rep"].id)) == (0 if allowed else 4)


def test_a_rep_may_not_delete_a_colleagues_memorized_copy_but_the_colleague_may(client, people, series):
    r = Api(client, "rep@x.test").post(f"/appointments/{series['id']}/memorize", {"users": [people["colleague"].id]})
    assert r.status_code == 201, r.json
    copy = r.json[0]["id"]
    assert Api(client, "rep@x.test").delete(f"/appointments/{copy}").status_code == 403
    assert len(board(client, people["colleague"].id)) == 4
    assert Api(client, "colleague@x.test").delete(f"/appointments/{copy}").status_code == 204
    assert board(client, people["colleague"].id) == []


# -- the deal's timeline ------------------------------------------------------------------------------------
def test_every_booking_move_edit_cancel_completion_and_deletion_is_in_the_deals_timeline(client, people, deal, series):
    api = Api(client, "rep@x.test")
    sid = series["id"]
    moved = api.patch(f"/appointments/{sid}", {"occurrence": "2026-03-23T10:00:00+01:00",
                                               "start": "2026-03-23T12:00:00+01:00",
                                               "end": "2026-03-23T12:30:00+01:00"}).json
    api.patch(f"/appointments/{sid}", {"title": "Check-in", "location": "Room 9"})
    api.delete(f"/appointments/{sid}", query_string={"occurrence": THIRD})
    api.post(f"/appointments/{sid}/complete", query_string={"occurrence": CHECK_IN["start"]})
    api.delete(f"/appointments/{sid}")
    events = timeline(client, deal)
    assert [t for t, _ in events] == ["appointment_booked", "appointment_moved", "appointment_edited",
                                      "appointment_cancelled", "appointment_completed", "appointment_deleted"]
    booked, move, edit, cancel, done, deleted = (d for _, d in events)
    assert (booked["appointment_id"], booked["title"]) == (sid, "Weekly check-in")
    assert move["appointment_id"] == moved["id"] and move["title"] == "Weekly check-in"
    assert (_local(move["old_start"]), _local(move["new_start"])) == ("03-23 10:00", "03-23 12:00")
    assert (edit["appointment_id"], edit["title"], edit["fields"]) == (sid, "Check-in", ["location", "title"])
    assert (cancel["appointment_id"], _local(cancel["occurrence"])) == (sid, "03-30 10:00")
    assert done["title"] == "Check-in" and _local(done["start"]) == "03-16 10:00"
    assert deleted["appointment_id"] == sid


def test_a_move_on_the_whole_of_a_single_appointment_is_a_move(client, people, deal):
    api = Api(client, "csr@x.test")
    r = api.post("/appointments", {"title": "Site visit", "opportunity_id": deal["id"], "attendees": [people["rep"].id],
                                   "start": "2026-03-05T13:00:00+00:00", "end": "2026-03-05T14:00:00+00:00"})
    api.patch(f"/appointments/{r.json['id']}", {"start": "2026-03-06T13:00:00+00:00",
                                                "end": "2026-03-06T14:00:00+00:00"})
    api.post(f"/appointments/{r.json['id']}/complete")
    assert [t for t, _ in timeline(client, deal)] == ["appointment_booked", "appointment_moved",
                                                     "appointment_completed"]


# -- half-open ranges ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("rrule", [None, "FREQ=WEEKLY;COUNT=4"])
def test_a_range_is_half_open_for_series_as_for_single_appointments(client, people, deal, rrule):
    r = Api(client, "rep@x.test").post("/appointments", {**CHECK_IN, "rrule": rrule, "attendees": [people["rep"].id]})
    assert r.status_code == 201, r.json
    # the occurrence on 23 March (or the single one on the 16th) runs 10:00-10:30 Oslo
    day = "2026-03-23" if rrule else "2026-03-16"
    at = {t: datetime.fromisoformat(f"{day}T{t}:00+01:00").isoformat() for t in ("10:00", "10:30", "10:15")}

    def found(start, end):
        return [s for _, s, _ in board(client, people["rep"].id, start, end)]

    assert found(at["10:30"], (datetime.fromisoformat(at["10:30"]) + timedelta(hours=1)).isoformat()) == []
    assert found((datetime.fromisoformat(at["10:00"]) - timedelta(hours=1)).isoformat(), at["10:00"]) == []
    assert found(at["10:15"], at["10:30"]) == [f"{day[5:]} 10:00"]
    assert found(at["10:00"], at["10:15"]) == [f"{day[5:]} 10:00"]


# -- the feed in two readers --------------------------------------------------------------------------------
def test_the_feed_reads_the_same_in_vobject_as_in_icalendar_across_dst(client, people, deal):
    import vobject

    r = Api(client, "rep@x.test").post("/appointments", {
        **CHECK_IN, "rrule": "FREQ=WEEKLY;COUNT=38", "attendees": [people["rep"].id]})
    assert r.status_code == 201, r.json
    feed = client.get(f"/api/v1/calendar/{people['rep'].id}.ics",
                      query_string={"token": users.create_token("rep@x.test")})
    assert feed.status_code == 200
    text = feed.data.decode()
    assert all("," not in line for line in text.splitlines() if line.startswith("RDATE"))

    # 38 Mondays from 16 March, 10:00 in Oslo: 9:00 UTC in winter, 8:00 UTC in summer
    expected = [(datetime(2026, 3, 16, 10, tzinfo=OSLO) .replace(tzinfo=None) + timedelta(weeks=i))
                .replace(tzinfo=OSLO).astimezone(UTC) for i in range(38)]
    assert {e.hour for e in expected} == {8, 9}

    event = next(iter(Calendar.from_ical(feed.data).walk("VEVENT")))
    from dateutil.rrule import rrulestr

    start = event.decoded("DTSTART")
    by_icalendar = [d.astimezone(UTC) for d in rrulestr(event["RRULE"].to_ical().decode(), dtstart=start)]
    by_vobject = [d.astimezone(UTC) for d in vobject.readOne(text).vevent.getrruleset(addRDate=True)]
    assert by_icalendar == expected
    assert by_vobject == expected


# -- the pages ----------------------------------------------------------------------------------------------
def test_the_appointment_page_edits_one_occurrence_and_keeps_the_input_when_refused(client, people, deal, series):
    login(client, "rep@x.test")
    page = client.get(f"/schedule/appointments/{series['id']}", query_string={"occurrence": THIRD})
    assert page.status_code == 200
    assert 'value="2026-03-30T10:00"' in page.text and "Only this occurrence" in page.text

    form = {"occurrence": THIRD, "scope": "this", "title": "Check-in (moved)", "start": "2026-03-31T14:00",
            "end": "2026-03-31T13:00", "location": "Room 7", "notes": "Bring the contract",
            "attendees": [str(people["rep"].id)], "repeat": "weekly", "count": "4", "until": ""}
    refused = client.post(f"/schedule/appointments/{series['id']}", data=form)
    assert refused.status_code == 422
    assert "The end must come after the start." in refused.text
    for typed in ('value="Check-in (moved)"', 'value="2026-03-31T14:00"', 'value="2026-03-31T13:00"',
                  'value="Room 7"', "Bring the contract</textarea>"):
        assert typed in refused.text

    saved = client.post(f"/schedule/appointments/{series['id']}", data={**form, "end": "2026-03-31T15:00",
                                                                        "next": f"/opportunities/{deal['id']}"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/opportunities/{deal['id']}")
    assert board(client, people["rep"].id) == [
        ("Weekly check-in", "03-16 10:00", "10:30"), ("Weekly check-in", "03-23 10:00", "10:30"),
        ("Check-in (moved)", "03-31 14:00", "15:00"), ("Weekly check-in", "04-06 10:00", "10:30")]


def test_the_deal_tab_links_to_the_appointment_and_a_colleague_may_not_open_it(client, people, deal, series):
    login(client, "rep@x.test")
    tab = client.get(f"/opportunities/{deal['id']}").text
    assert f"/schedule/appointments/{series['id']}?" in tab and "Edit next occurrence" in tab
    client.post("/logout")
    login(client, "colleague@x.test")
    assert f"/schedule/appointments/{series['id']}" not in client.get(f"/opportunities/{deal['id']}").text
    assert client.get(f"/schedule/appointments/{series['id']}").status_code == 403
    # a refused page action goes back with the reason, as every page action does
    refused = client.post(f"/schedule/appointments/{series['id']}/delete", follow_redirects=True)
    assert "Only its attendees, the office or a manager may change" in refused.text
    assert len(board(client, people["rep"].id)) == 4


def test_a_refused_booking_on_the_board_keeps_what_was_typed(client, people, deal):
    login(client, "csr@x.test")
    r = client.post("/schedule/appointments", data={
        "view": "week", "date": "2026-03-16", "title": "Site visit", "opportunity_id": str(deal["id"]),
        "start": "2026-03-17T10:00", "end": "2026-03-17T09:00", "location": "Main St 1", "notes": "Gate code 42",
        "attendees": [str(people["rep"].id)], "repeat": "weekly", "count": "3"})
    assert r.status_code == 422
    assert "The end must come after the start." in r.text
    for typed in ('value="Site visit"', 'value="2026-03-17T10:00"', 'value="2026-03-17T09:00"', 'value="Main St 1"',
                  "Gate code 42</textarea>", f'value="{deal["id"]}" selected', 'value="weekly" selected',
                  'value="3"', f'value="{people["rep"].id}" checked'):
        assert typed in r.text, typed
    assert board(client, people["rep"].id) == []


def test_the_board_books_a_daily_series_until_a_day(client, people):
    login(client, "csr@x.test")
    r = client.post("/schedule/appointments", data={
        "title": "Stand-up", "start": "2026-03-16T09:00", "end": "2026-03-16T09:15",
        "attendees": [str(people["rep"].id)], "repeat": "daily", "until": "2026-03-18"})
    assert r.status_code == 302, r.text
    assert [s for _, s, _ in board(client, people["rep"].id)] == ["03-16 09:00", "03-17 09:00", "03-18 09:00"]
