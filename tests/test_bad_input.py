"""Bad input on pages and API is a 4xx naming the field, never a 500, and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from som_flow.extensions import db
from som_flow.models import Appointment, Event, Opportunity, Reminder
from som_flow.services.reminders import fire_due_reminders
from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def people(app):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 1000
    return {"manager": make_user("manager@x.test", "manager"), "rep": make_user("rep@x.test", "rep"),
            "customer": make_customer("Northwind Traders")}


@pytest.fixture
def deal(client, people) -> dict:
    r = Api(client, "manager@x.test").post("/opportunities", {
        "title": "CRM licenses", "customer_id": people["customer"].id, "kind": "standard-sale", "amount": "5000.00"})
    assert r.status_code == 201, r.json
    return r.json


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(Opportunity)),
            db.session.scalar(select(func.count()).select_from(Event)))


def test_a_non_numeric_customer_on_the_new_opportunity_form_is_named_and_the_form_keeps_what_was_typed(
        client, people):
    login(client, "manager@x.test")
    before = counts()
    r = client.post("/opportunities/new", data={"title": "Boat sensors", "customer_id": "abc",
                                               "kind": "standard-sale", "amount": "12.50"})
    assert r.status_code == 422
    assert "Check Customer: Enter a whole number." in r.text
    assert 'value="Boat sensors"' in r.text and 'value="12.50"' in r.text
    assert counts() == before


@pytest.mark.parametrize(("action", "form", "field"), [
    ("assign", {"user_id": "abc"}, "user id"),
    ("stage", {"stage": "qualification", "version": "abc"}, "version"),
])
def test_a_non_numeric_id_in_an_opportunity_form_is_named_and_nothing_changes(client, people, deal, action, form,
                                                                              field):
    login(client, "manager@x.test")
    before = counts()
    r = client.post(f"/opportunities/{deal['id']}/{action}", data=form, follow_redirects=True)
    assert r.status_code == 200  # back on the deal, with the reason
    assert f"Check {field}: Not a valid integer." in r.text
    assert counts() == before
    assert Api(client, "manager@x.test").get(f"/opportunities/{deal['id']}").json["version"] == deal["version"]


def test_a_bulk_action_with_a_non_numeric_user_is_named_and_nothing_changes(client, people, deal):
    login(client, "manager@x.test")
    before = counts()
    r = client.post("/opportunities", data={"ids": [str(deal["id"])], "action": "assign", "user_id": "abc"})
    assert "Check user id: Not a valid integer." in r.text
    assert counts() == before


@pytest.mark.parametrize(("path", "param"), [
    ("/schedule?date=9999-12-31", "date"),
    ("/schedule?user=abc", "user"),
    ("/forecast?from=0001-01-01&to=9999-12-31", "from"),
    ("/forecast/forecast.csv?from=0001-01-01", "from"),
    ("/opportunities?close_to=9999-12-31", "close to"),
])
def test_page_query_strings_out_of_range_are_a_422_naming_the_parameter(client, people, path, param):
    login(client, "manager@x.test")
    r = client.get(path)
    assert r.status_code == 422
    assert f"Check {param}:" in r.text


@pytest.mark.parametrize(("path", "param"), [
    ("/reports/pipeline?from=0001-01-01&to=9999-12-31", "from"),
    ("/forecast?from=0001-01-01&to=9999-12-31", "from"),
    ("/tasks?due_before=9999-12-31T23:59:59-14:00", "due_before"),
    ("/tasks?due_before=2026-12-01T00:00:00", "due_before"),  # no offset: which zone is not ours to guess
    ("/appointments?from=9999-12-31T00:00:00%2B00:00", "from"),
])
def test_api_dates_out_of_range_are_a_422_problem_naming_the_parameter(client, people, path, param):
    r = Api(client, "manager@x.test").get(path)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert param in r.json["errors"]


def test_a_close_date_out_of_range_is_refused_and_the_deal_keeps_its_own(client, people, deal):
    api = Api(client, "manager@x.test")
    r = api.patch(f"/opportunities/{deal['id']}", {"anticipated_close_date": "9999-12-31"})
    assert r.status_code == 422 and "anticipated_close_date" in r.json["errors"]
    assert api.get(f"/opportunities/{deal['id']}").json["anticipated_close_date"] == deal["anticipated_close_date"]


def test_a_scheduler_name_too_long_for_the_lease_column_is_refused_at_start(runner, app):
    result = runner.invoke(args=["scheduler", "--name", "x" * 65])
    assert result.exit_code == 2
    assert "Use 1 to 64 characters" in result.output


def test_a_long_host_name_still_gives_a_lease_owner_that_fits_and_reminders_go_out(app, client, clock, people,
                                                                                   deal, monkeypatch):
    # the derived name (host:pid) is shortened; before, every claim failed and reminders stayed pending
    monkeypatch.setattr("socket.gethostname", lambda: "build-host-" + "a" * 80 + ".example.internal")
    api = Api(client, "manager@x.test")
    assert api.post("/appointments", {
        "title": "Call", "opportunity_id": deal["id"], "attendees": [people["rep"].id],
        "start": "2026-03-02T12:00:00+00:00", "end": "2026-03-02T12:30:00+00:00"}).status_code == 201
    due = db.session.scalar(select(func.count()).select_from(Reminder).where(Reminder.state == "pending"))
    assert due >= 1
    clock.set(datetime(2026, 3, 2, 11, 59, tzinfo=UTC))
    assert fire_due_reminders() >= 1


def test_a_non_numeric_deal_on_the_booking_form_is_named_and_nothing_is_booked(client, people):
    make_user("scheduler@x.test", "scheduler")
    login(client, "scheduler@x.test")
    r = client.post("/schedule/appointments", data={
        "title": "Site visit", "opportunity_id": "abc", "attendees": [str(people["rep"].id)],
        "start": "2026-03-03T10:00", "end": "2026-03-03T11:00"}, follow_redirects=True)
    assert "Check Opportunity: Enter a whole number." in r.text
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0

    # a time no calendar can hold once converted to UTC is named too
    r = client.post("/schedule/appointments", data={
        "title": "Site visit", "start": "9999-12-31T23:30", "end": "9999-12-31T23:45"}, follow_redirects=True)
    # (the booking form is shown again with every refused field named: here the end as well)
    assert "Check Start: Use a date between 1900-01-01 and 2200-12-31.; End: Use a date between" in r.text
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0


def test_a_non_numeric_kind_version_on_the_admin_page_is_named(client, people):
    make_user("admin@x.test", "admin")
    login(client, "admin@x.test")
    r = client.get("/admin/kinds/standard-sale?version=abc")
    assert r.status_code == 422 and "Check version: Not a valid integer." in r.text
