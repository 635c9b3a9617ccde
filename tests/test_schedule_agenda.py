"""The schedule's agenda: the week's appointments in time order under day headings (what a phone shows when no view
is chosen), beside the day and week calendars a desktop keeps."""

from __future__ import annotations

import re

import pytest

from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture(autouse=True)
def many_logins(app):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 1000


@pytest.fixture
def week(client, app):
    """For the rep in the week of Monday 2 March 2026: a weekly Tuesday check-in, a Tuesday morning site visit
    booked after it but earlier in the day, a Thursday call; and a call the next week."""
    rep = make_user("rep@x.test", "rep")
    make_user("scheduler@x.test", "scheduler")
    make_user("csr@x.test", "csr")
    customer = make_customer("Northwind Traders")
    office = Api(client, "scheduler@x.test")
    deal = Api(client, "csr@x.test").post("/opportunities", {"title": "CRM licenses", "customer_id": customer.id,
                                          "kind": "standard-sale", "amount": "5000.00", "sales_rep": rep.id})
    assert deal.status_code == 201, deal.json
    for title, start, end, extra in [
            ("Weekly check-in", "2026-03-03T10:00:00+00:00", "2026-03-03T10:30:00+00:00",
             {"rrule": "FREQ=WEEKLY;COUNT=4", "opportunity_id": deal.json["id"]}),
            ("Site visit", "2026-03-03T08:00:00+00:00", "2026-03-03T09:30:00+00:00", {"location": "Bergen harbour"}),
            ("Price call", "2026-03-05T14:00:00+00:00", "2026-03-05T14:15:00+00:00", {}),
            ("Next week's call", "2026-03-10T15:00:00+00:00", "2026-03-10T15:30:00+00:00", {})]:
        r = office.post("/appointments", {"title": title, "attendees": [rep.id], "start": start, "end": end, **extra})
        assert r.status_code == 201, r.json
    return deal.json


def agenda(html: str) -> list[tuple[str, list[str]]]:
    """(day heading, ["HH:MM–HH:MM title", ...]) as the agenda reads."""
    section = re.search(r'<section class="agenda".*?</section>', html, re.S)
    assert section, "no agenda on the page"
    days = []
    for heading, items in re.findall(r'<h3 class="agenda-day[^"]*">(.*?)</h3>\s*<ul class="agenda-list">(.*?)</ul>',
                                     section.group(0), re.S):
        days.append((heading, [f"{time} {title.strip()}" for time, title in re.findall(
            r'<span class="agenda-time">([^<]+)</span>.*?class="agenda-title"[^>]*>([^<]+)<', items, re.S)]))
    return days


def test_the_agenda_lists_the_week_in_time_order_under_day_headings(client, week):
    login(client, "rep@x.test")
    page = client.get("/schedule?view=agenda&date=2026-03-04")
    assert page.status_code == 200
    assert agenda(page.text) == [
        ("Tuesday 03 March", ["08:00–09:30 Site visit", "10:00–10:30 Weekly check-in"]),
        ("Thursday 05 March", ["14:00–14:15 Price call"]),
    ]
    html = page.text
    assert "Agenda, week of 02 March 2026" in html
    assert "Bergen harbour" in html and "CRM licenses" in html  # where, and the deal it is for
    assert '<table class="calendar"' not in html  # the agenda alone
    assert '<option value="agenda" selected>Agenda</option>' in html
    # each appointment opens its page (a repeating one at this occurrence)
    assert re.search(r'href="/schedule/appointments/\d+\?occurrence=2026-03-03T10:00:00%2B00:00&amp;next=',
                     html)
    # the next week, and an empty week says so
    assert agenda(client.get("/schedule?view=agenda&date=2026-03-10").text) == [
        ("Tuesday 10 March", ["10:00–10:30 Weekly check-in", "15:00–15:30 Next week&#39;s call"])]
    assert "No appointments this week." in client.get("/schedule?view=agenda&date=2026-04-20").text


def test_without_a_view_the_page_holds_the_week_calendar_and_its_agenda_for_the_screen_to_choose(client, week):
    login(client, "rep@x.test")
    html = client.get("/schedule?date=2026-03-04").text
    assert 'class="schedule-main schedule-auto"' in html
    assert '<table class="calendar" data-view="week">' in html and len(agenda(html)) == 2
    # a chosen view is drawn alone
    week_only = client.get("/schedule?view=week&date=2026-03-04").text
    assert "schedule-auto" not in week_only and '<section class="agenda"' not in week_only
    day = client.get("/schedule?view=day&date=2026-03-03").text
    assert '<table class="calendar" data-view="day">' in day and '<section class="agenda"' not in day
    # previous and next move by a day
    assert 'href="/schedule?view=day&amp;date=2026-03-02' in day
    assert 'href="/schedule?view=day&amp;date=2026-03-04' in day


def test_an_unknown_view_is_refused_by_name(client, week):
    login(client, "rep@x.test")
    page = client.get("/schedule?view=month")
    assert page.status_code == 422
    assert "view" in page.text and "Traceback" not in page.text


def test_in_norwegian_the_agenda_names_the_days_in_bokmal(client, week):
    login(client, "rep@x.test")
    html = client.get("/schedule?view=agenda&date=2026-03-04", headers={"Accept-Language": "nb"}).text
    assert [day for day, _ in agenda(html)] == ["tirsdag 3. mars", "torsdag 5. mars"]
    assert "Agenda for uken fra 2. mars 2026" in html and "3 avtaler vist." in html
    week_view = client.get("/schedule?view=week&date=2026-03-04", headers={"Accept-Language": "nb"}).text
    assert '<th scope="col" class="">tir. 3. mars</th>' in week_view
