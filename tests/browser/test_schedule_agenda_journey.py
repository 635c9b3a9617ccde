"""The schedule on a phone: with no view chosen it is the week's agenda (no sideways scroll), an appointment in it
opens its page; the day view moves a day at a time; a desktop keeps the week calendar."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from som_flow.clock import FixedClock
from tests.browser.conftest import follow_menu_link
from tests.browser.test_phone_width import MEASURE

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 850}


@pytest.fixture
def booked(live_server):
    """The served app fixed at Monday 2 March 2026 09:00 UTC; the rep's site visit on Tuesday and a call on Thursday."""
    from som_flow.extensions import db
    from som_flow.models import User
    from som_flow.services import appointments

    app, _, people = live_server
    app.extensions["som_clock"] = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with app.app_context():
        rep = db.session.get(User, people["rep"])
        for title, start, end, where in [
                ("Site visit at the harbour warehouse", datetime(2026, 3, 3, 13, 0, tzinfo=UTC),
                 datetime(2026, 3, 3, 14, 30, tzinfo=UTC), "Bergen harbour"),
                ("Price call", datetime(2026, 3, 5, 8, 0, tzinfo=UTC), datetime(2026, 3, 5, 8, 15, tzinfo=UTC), "")]:
            appointments.create_appointment(rep, {"title": title, "start": start, "end": end, "attendees": [rep.id],
                                                  "location": where, "timezone": "UTC"})
        db.session.remove()


def _fits(page) -> None:
    measured = page.evaluate(MEASURE)
    assert measured["scroll"] <= PHONE["width"], measured["wide"]


def test_on_a_phone_the_schedule_is_an_agenda_and_an_appointment_opens(sessions, booked, tmp_path):
    rep = sessions.new()
    page = rep.login("rep@x.test")
    page.set_viewport_size(PHONE)
    follow_menu_link(page, "Schedule")
    agenda = page.locator("section.agenda")
    expect(agenda).to_be_visible()
    expect(page.locator("table.calendar")).to_be_hidden()
    expect(page.get_by_label("View")).to_have_value("agenda")
    expect(agenda.get_by_role("heading", level=3)).to_have_text(["Tuesday 03 March", "Thursday 05 March"])
    visit = agenda.locator(".agenda-item", has_text="Site visit at the harbour warehouse")
    expect(visit).to_contain_text("13:00–14:30")
    expect(visit).to_contain_text("Bergen harbour")
    _fits(page)
    page.screenshot(path=str(tmp_path / "schedule-agenda-phone.png"), full_page=True)

    visit.get_by_role("link", name="Site visit at the harbour warehouse").click()
    expect(page.get_by_label("Title")).to_have_value("Site visit at the harbour warehouse")
    _fits(page)
    rep.assert_no_console_errors()


def test_on_a_phone_the_day_view_fits_and_moves_a_day_at_a_time(sessions, booked):
    rep = sessions.new()
    page = rep.login("rep@x.test")
    page.set_viewport_size(PHONE)
    page.goto("/schedule?view=day&date=2026-03-03")
    calendar = page.locator("table.calendar")
    expect(calendar.get_by_role("columnheader", name="Tue 03 Mar")).to_be_visible()
    expect(calendar.locator(".appt", has_text="Site visit at the harbour warehouse")).to_be_visible()
    _fits(page)
    assert calendar.evaluate("(t) => t.getBoundingClientRect().right") <= PHONE["width"]  # no inner scroll either

    page.get_by_role("link", name="Next →").click()
    expect(calendar.get_by_role("columnheader", name="Wed 04 Mar")).to_be_visible()
    expect(page.locator(".appt")).to_have_count(0)
    page.get_by_role("link", name="Next →").click()
    expect(calendar.locator(".appt", has_text="Price call")).to_be_visible()
    _fits(page)
    rep.assert_no_console_errors()


def test_a_desktop_keeps_the_week_calendar(sessions, booked):
    rep = sessions.new()
    page = rep.login("rep@x.test")
    page.set_viewport_size(DESKTOP)
    follow_menu_link(page, "Schedule")
    expect(page.locator("table.calendar")).to_be_visible()
    expect(page.locator("section.agenda")).to_be_hidden()
    expect(page.get_by_label("View")).to_have_value("week")
    expect(page.locator("table.calendar thead th")).to_have_count(8)  # the time column and seven days
    page.get_by_label("View").select_option("agenda")
    expect(page.locator("section.agenda")).to_be_visible()
    expect(page.locator(".agenda-item")).to_have_count(2)
    rep.assert_no_console_errors()
