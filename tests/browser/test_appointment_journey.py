"""Issue #12 item 6 in Chromium: the rep edits one occurrence of a weekly check-in — from the schedule board on a
desktop, from the deal's Appointments tab on a phone — and the other occurrences stay as they were; a refused edit
and a refused booking keep what was typed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from som_flow.clock import FixedClock

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# a refused form answers 422 with the form again, which Chromium logs as a failed load
REFUSED = r"status of 422 \(UNPROCESSABLE ENTITY\) at http://127\.0\.0\.1:\d+/schedule/appointments(/\d+)?$"


@pytest.fixture
def clock(live_server) -> FixedClock:
    """The served app's clock: Monday 2 March 2026 09:00 UTC."""
    app, _, _ = live_server
    fixed = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app.extensions["som_clock"] = fixed
    return fixed


@pytest.fixture
def check_in(live_server, clock) -> dict:
    """The rep's deal with a weekly check-in, Tuesdays 10:00-10:30 UTC from 3 March, four times."""
    from som_flow.extensions import db
    from som_flow.models import Customer, User
    from som_flow.services import appointments, opportunities

    app, _, people = live_server
    with app.app_context():
        csr = db.session.get(User, people["csr"])
        customer = db.session.query(Customer).filter_by(name="Northwind Traders").one()
        opp = opportunities.create_opportunity(csr, {"title": "CRM licenses", "customer_id": customer.id,
                                                     "kind": "standard-sale", "amount": Decimal("50000.00"),
                                                     "sales_rep": people["rep"]})
        appt = appointments.create_appointment(csr, {
            "title": "Weekly check-in", "opportunity_id": opp.id, "attendees": [people["rep"]],
            "start": datetime(2026, 3, 3, 10, tzinfo=UTC), "end": datetime(2026, 3, 3, 10, 30, tzinfo=UTC),
            "rrule": "FREQ=WEEKLY;COUNT=4", "timezone": "UTC"})
        made = {"deal": opp.id, "appointment": appt.id}
        db.session.remove()
    return made


def _week(page, day: str) -> list[tuple[str, str]]:
    """(occurrence start, title) of every appointment on the board's week of `day`."""
    page.goto(f"/schedule?view=week&date={day}")
    expect(page.get_by_role("heading", name="Schedule", level=1)).to_be_visible()
    items = page.locator("article.appt")
    return [(items.nth(i).get_attribute("data-start"), items.nth(i).locator(".appt-title").inner_text())
            for i in range(items.count())]


def _edit_and_save(page, title: str, start: str, end: str, tmp_path, name: str) -> None:
    """On the appointment page: a refused edit keeps the input, then the fixed one is saved for this occurrence."""
    form = page.locator("#edit")
    expect(form.get_by_label("Only this occurrence")).to_be_checked()
    form.get_by_label("Title").fill(title)
    form.get_by_label("Start").fill(start)
    form.get_by_label("End").fill(start)  # no time at all: refused
    form.get_by_label("Notes").fill("Bring the signed order")
    form.get_by_role("button", name="Save").click()
    expect(form.locator(".field-error")).to_have_text("The end must come after the start.")
    expect(form.get_by_label("Title")).to_have_value(title)
    expect(form.get_by_label("Start")).to_have_value(start)
    expect(form.get_by_label("Notes")).to_have_value("Bring the signed order")
    page.screenshot(path=str(tmp_path / f"{name}-refused.png"), full_page=True)
    form.get_by_label("End").fill(end)
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_have_text(f"Saved {title}.")


def test_a_rep_edits_one_occurrence_on_the_board_and_the_others_stay(sessions, live_server, check_in, tmp_path):
    rep = sessions.new()
    rep.page.set_viewport_size(DESKTOP)
    page = rep.login("rep@x.test")
    page.get_by_role("link", name="Schedule").click()
    # the booking form sits beside the calendar
    calendar, booking = page.locator(".calendar-wrap").bounding_box(), page.locator("#new").bounding_box()
    assert booking["x"] >= calendar["x"] + calendar["width"] - 1 and booking["y"] < calendar["y"] + 100

    page.get_by_role("link", name="Next →").click()
    second = page.locator('article.appt[data-start="2026-03-10T10:00:00+00:00"]')
    second.get_by_text("Actions").click()
    second.get_by_role("link", name="Edit or delete…").click()
    expect(page.get_by_role("heading", name="Weekly check-in", level=1)).to_be_visible()
    expect(page.locator("#edit").get_by_label("Start")).to_have_value("2026-03-10T10:00")
    _edit_and_save(page, "Check-in with the buyer", "2026-03-11T14:00", "2026-03-11T15:00", tmp_path, "desktop")
    # back on the board's week it came from, the occurrence is on Wednesday
    expect(page.locator('article.appt[data-start="2026-03-11T14:00:00+00:00"]')).to_contain_text(
        "Check-in with the buyer")
    page.screenshot(path=str(tmp_path / "desktop-board-after.png"), full_page=True)

    assert _week(page, "2026-03-02") == [("2026-03-03T10:00:00+00:00", "Weekly check-in")]
    assert _week(page, "2026-03-09") == [("2026-03-11T14:00:00+00:00", "Check-in with the buyer")]
    assert _week(page, "2026-03-16") == [("2026-03-17T10:00:00+00:00", "Weekly check-in")]
    assert _week(page, "2026-03-23") == [("2026-03-24T10:00:00+00:00", "Weekly check-in")]
    rep.assert_no_console_errors(REFUSED)


def test_on_a_phone_the_rep_edits_the_next_occurrence_from_the_deal(sessions, live_server, check_in, tmp_path):
    rep = sessions.new()
    rep.page.set_viewport_size(PHONE)
    page = rep.login("rep@x.test")
    page.goto(f"/opportunities/{check_in['deal']}")
    page.get_by_role("tab", name="Appointments").click()
    panel = page.locator("#panel-appointments")
    expect(panel).to_contain_text("Weekly check-in")
    panel.get_by_role("link", name="Edit next occurrence").click()
    expect(page.locator("#edit").get_by_label("Start")).to_have_value("2026-03-03T10:00")
    _edit_and_save(page, "Kick-off", "2026-03-03T12:00", "2026-03-03T13:00", tmp_path, "phone")
    # back on the deal it came from
    expect(page).to_have_url(re.compile(rf"/opportunities/{check_in['deal']}"))
    page.screenshot(path=str(tmp_path / "phone-deal-after.png"), full_page=True)

    assert _week(page, "2026-03-02") == [("2026-03-03T12:00:00+00:00", "Kick-off")]
    assert _week(page, "2026-03-09") == [("2026-03-10T10:00:00+00:00", "Weekly check-in")]
    rep.assert_no_console_errors(REFUSED)


def test_a_refused_booking_keeps_its_input_beside_the_calendar(sessions, live_server, check_in, tmp_path):
    csr = sessions.new()
    csr.page.set_viewport_size(DESKTOP)
    page = csr.login("csr@x.test")
    page.goto("/schedule")
    form = page.locator("#new")
    form.get_by_label("Title").fill("Site visit")
    form.get_by_label("Opportunity").select_option(str(check_in["deal"]))
    form.get_by_label("Start").fill("2026-03-04T10:00")
    form.get_by_label("End").fill("2026-03-04T09:00")
    form.get_by_label("Location").fill("Main St 1")
    form.get_by_role("group", name="Attendees").get_by_label("Rep").check()
    form.get_by_label("Repeat").select_option(label="Weekly")
    form.get_by_role("button", name="Book").click()

    form = page.locator("#new")
    expect(form.locator(".field-error")).to_have_text("The end must come after the start.")
    expect(form.get_by_label("Title")).to_have_value("Site visit")
    expect(form.get_by_label("Opportunity")).to_have_value(str(check_in["deal"]))
    expect(form.get_by_label("Start")).to_have_value("2026-03-04T10:00")
    expect(form.get_by_label("Location")).to_have_value("Main St 1")
    expect(form.get_by_role("group", name="Attendees").get_by_label("Rep")).to_be_checked()
    expect(form.get_by_label("Repeat")).to_have_value("weekly")
    page.screenshot(path=str(tmp_path / "booking-refused.png"), full_page=True)

    form.get_by_label("End").fill("2026-03-04T11:00")
    form.get_by_role("button", name="Book").click()
    expect(page.get_by_role("status").first).to_have_text("Booked Site visit.")
    expect(page.locator('article.appt[data-start="2026-03-04T10:00:00+00:00"]')).to_contain_text("Site visit")
    csr.assert_no_console_errors(REFUSED)
