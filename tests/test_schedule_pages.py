"""The schedule board page: the week's appointments with repeating ones expanded, booking, and the reminder button."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from som_flow.extensions import db
from som_flow.models import Appointment, Notification
from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture(autouse=True)
def many_logins(app):
    """These tests log in often from one address; the login rate limit is not what they check."""
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 1000


@pytest.fixture
def people(app):
    return {
        "rep": make_user("rep@x.test", "rep"),
        "scheduler": make_user("scheduler@x.test", "scheduler"),
        "csr": make_user("csr@x.test", "csr"),
        "customer": make_customer("Northwind Traders"),
    }


@pytest.fixture
def deal(client, people) -> dict:
    r = Api(client, "csr@x.test").post("/opportunities", {
        "title": "CRM licenses", "customer_id": people["customer"].id, "kind": "standard-sale",
        "amount": "5000.00", "sales_rep": people["rep"].id})
    assert r.status_code == 201, r.json
    return r.json


def book_weekly_check_in(client, people, deal) -> dict:
    """Tuesdays 10:00-10:30 UTC from 3 March 2026, four times, for the rep."""
    r = Api(client, "scheduler@x.test").post("/appointments", {
        "title": "Weekly check-in", "opportunity_id": deal["id"], "attendees": [people["rep"].id],
        "start": "2026-03-03T10:00:00+00:00", "end": "2026-03-03T10:30:00+00:00", "rrule": "FREQ=WEEKLY;COUNT=4"})
    assert r.status_code == 201, r.json
    return r.json


def board_items(html: str) -> list[tuple[str, str]]:
    """(occurrence start, title) for each appointment drawn on the board."""
    return re.findall(r'class="appt [^"]*"[^>]*?data-start="([^"]+)".*?<span class="appt-title">([^<]+)</span>',
                      html, re.S)


def test_the_week_view_shows_a_single_appointment_and_each_weekly_occurrence(client, people, deal):
    book_weekly_check_in(client, people, deal)
    Api(client, "rep@x.test").post("/appointments", {
        "title": "Site visit", "opportunity_id": deal["id"], "attendees": [people["rep"].id],
        "start": "2026-03-05T13:00:00+00:00", "end": "2026-03-05T14:00:00+00:00"})
    login(client, "rep@x.test")

    page = client.get("/schedule?view=week&date=2026-03-04")
    assert page.status_code == 200
    html = page.text
    assert board_items(html) == [("2026-03-03T10:00:00+00:00", "Weekly check-in"),
                                 ("2026-03-05T13:00:00+00:00", "Site visit")]
    assert "Mon 02 Mar" in html and "Sun 08 Mar" in html
    assert "CRM licenses" in html  # the deal is linked from the appointment

    # the series goes on next week and stops after its fourth time
    assert board_items(client.get("/schedule?view=week&date=2026-03-10").text) == [
        ("2026-03-10T10:00:00+00:00", "Weekly check-in")]
    assert board_items(client.get("/schedule?view=week&date=2026-03-24").text) == [
        ("2026-03-24T10:00:00+00:00", "Weekly check-in")]
    assert board_items(client.get("/schedule?view=week&date=2026-03-31").text) == []

    # the day view shows only that day; a rep may not open a colleague's calendar (README, who may do what)
    assert board_items(client.get("/schedule?view=day&date=2026-03-17").text) == [
        ("2026-03-17T10:00:00+00:00", "Weekly check-in")]
    assert client.get(f"/schedule?view=week&date=2026-03-04&user={people['csr'].id}").status_code == 403


def test_a_scheduler_books_a_weekly_appointment_with_the_form(client, people, deal):
    login(client, "scheduler@x.test")
    r = client.post("/schedule/appointments", data={
        "title": "Weekly check-in", "opportunity_id": deal["id"], "start": "2026-03-03T10:00",
        "end": "2026-03-03T10:30", "attendees": [people["rep"].id], "repeat": "weekly", "count": "3",
        "view": "week", "date": "2026-03-02"}, follow_redirects=True)
    assert r.status_code == 200
    assert "Booked Weekly check-in." in r.text
    appt = db.session.scalars(select(Appointment)).one()
    assert appt.rrule == "FREQ=WEEKLY;COUNT=3"
    assert [u.email for u in appt.attendees] == ["rep@x.test"]
    assert appt.start_at == datetime(2026, 3, 3, 10, tzinfo=UTC)
    assert board_items(client.get(f"/schedule?view=week&date=2026-03-16&user={people['rep'].id}").text) == [
        ("2026-03-17T10:00:00+00:00", "Weekly check-in")]

    # an end before the start is refused with the reason, nothing booked
    r = client.post("/schedule/appointments", data={
        "title": "Backwards", "start": "2026-03-03T10:00", "end": "2026-03-03T09:00"}, follow_redirects=True)
    assert "The end must come after the start" in r.text
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1


def test_moving_completing_and_memorizing_from_the_board(client, people, deal):
    appt = book_weekly_check_in(client, people, deal)
    login(client, "scheduler@x.test")
    # moving the second occurrence an hour later moves only that occurrence
    r = client.post(f"/schedule/appointments/{appt['id']}/move", data={
        "occurrence": "2026-03-10T10:00:00+00:00", "start": "2026-03-10T11:00"}, follow_redirects=True)
    assert "Moved Weekly check-in to Tue 10 Mar 11:00." in r.text
    assert board_items(r.text) == [("2026-03-10T11:00:00+00:00", "Weekly check-in")]
    assert board_items(client.get("/schedule?view=week&date=2026-03-02").text) == [
        ("2026-03-03T10:00:00+00:00", "Weekly check-in")]
    assert board_items(client.get("/schedule?view=week&date=2026-03-16").text) == [
        ("2026-03-17T10:00:00+00:00", "Weekly check-in")]

    r = client.post(f"/schedule/appointments/{appt['id']}/memorize", data={"users": [people["csr"].id]},
                    follow_redirects=True)
    assert "Memorized for Csr." in r.text
    assert board_items(client.get(f"/schedule?view=week&date=2026-03-02&user={people['csr'].id}").text) == [
        ("2026-03-03T10:00:00+00:00", "Weekly check-in")]

    r = client.post(f"/schedule/appointments/{appt['id']}/complete", follow_redirects=True)
    assert "Weekly check-in is done." in r.text
    assert db.session.get(Appointment, appt["id"]).status == "completed"


def test_a_rep_may_not_send_reminders_but_a_scheduler_can_and_sees_how_many(client, clock, people, deal):
    book_weekly_check_in(client, people, deal)
    clock.set(datetime(2026, 3, 3, 9, 45, tzinfo=UTC))  # the rep's 30-minute reminder is due

    login(client, "rep@x.test")
    assert "Send reminders now" not in client.get("/schedule").text
    assert client.post("/schedule/reminders/fire").status_code == 403
    unread = select(func.count()).select_from(Notification).where(Notification.user_id == people["rep"].id)
    assert db.session.scalar(unread) == 0
    client.post("/logout")

    login(client, "scheduler@x.test")
    assert "Send reminders now" in client.get("/schedule").text
    r = client.post("/schedule/reminders/fire", data={"view": "week", "date": "2026-03-03"}, follow_redirects=True)
    assert r.status_code == 200
    sent = int(re.search(r"(\d+) reminders? sent\.", r.text).group(1))
    assert sent >= 1
    assert db.session.scalar(unread) == sent
    titles = db.session.scalars(select(Notification.title).where(Notification.user_id == people["rep"].id)).all()
    assert "Appointment on 2026-03-03 at 10:00 UTC: Weekly check-in" in titles
    # nothing is sent twice
    r = client.post("/schedule/reminders/fire", follow_redirects=True)
    assert "0 reminders sent." in r.text


def test_the_board_needs_a_login_and_only_schedulers_fire_reminders(client, people):
    r = client.get("/schedule")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.post("/schedule/reminders/fire").status_code == 302
    login(client, "csr@x.test")  # the office books appointments but does not fire reminders
    assert "Send reminders now" not in client.get("/schedule").text
    assert client.post("/schedule/reminders/fire").status_code == 403
