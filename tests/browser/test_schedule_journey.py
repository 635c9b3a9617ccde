"""Story 7 in Chromium: a scheduler books a weekly check-in for a rep on the board, moves it, fires reminders,
and the rep's bell count rises."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from som_flow.clock import FixedClock
from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser

APPOINTMENT_API = re.compile(r"/api/v1/appointments/\d+$")


@pytest.fixture
def clock(live_server) -> FixedClock:
    """The served app's clock, fixed at Monday 2 March 2026 09:00 UTC and moved by the test."""
    app, _, _ = live_server
    fixed = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app.extensions["som_clock"] = fixed
    return fixed


@pytest.fixture
def rep_deal(live_server, clock) -> dict:
    """A scheduler, and a deal the office has given the rep."""
    from som_flow.extensions import db
    from som_flow.models import Customer, User
    from som_flow.services import opportunities, users

    app, _, people = live_server
    with app.app_context():
        users.create_user("scheduler@x.test", "Scheduler", ["scheduler"], password=PASSWORD)
        csr = db.session.get(User, people["csr"])
        customer = db.session.query(Customer).filter_by(name="Northwind Traders").one()
        opp = opportunities.create_opportunity(csr, {"title": "CRM licenses", "customer_id": customer.id,
                                                     "kind": "standard-sale", "amount": Decimal("50000.00"),
                                                     "sales_rep": people["rep"]})
        deal = {"id": opp.id, "number": opp.number}
        db.session.remove()
    return deal


def _slot(page, start: str):
    return page.locator(f'td.slot[data-start="{start}"]')


def test_a_scheduler_books_a_weekly_check_in_fires_reminders_and_the_rep_bell_rises(
        sessions, live_server, clock, rep_deal, tmp_path):
    rep = sessions.new()
    rep_page = rep.login("rep@x.test")
    expect(rep_page.locator("#unread-count")).to_have_text("0")

    scheduler = sessions.new()
    page = scheduler.login("scheduler@x.test")
    page.get_by_role("link", name="Schedule").click()
    expect(page.get_by_role("heading", name="Schedule", level=1)).to_be_visible()
    expect(page.locator(".appt")).to_have_count(0)

    form = page.locator("#new")
    form.get_by_label("Title").fill("Weekly check-in")
    form.get_by_label("Opportunity").select_option(str(rep_deal["id"]))
    form.get_by_label("Start").fill("2026-03-03T10:00")
    form.get_by_label("End").fill("2026-03-03T10:30")
    form.get_by_role("group", name="Attendees").get_by_label("Rep").check()
    form.get_by_label("Repeat").select_option(label="Weekly")
    form.get_by_label("Occurrences").fill("4")
    form.get_by_role("button", name="Book").click()
    expect(page.get_by_role("status").first).to_have_text("Booked Weekly check-in.")
    booked = _slot(page, "2026-03-03T10:00:00+00:00").locator(".appt")
    expect(booked).to_contain_text("Weekly check-in")
    expect(booked).to_contain_text("CRM licenses")
    expect(booked).to_contain_text("Rep")
    page.screenshot(path=str(tmp_path / "schedule-booked.png"), full_page=True)

    # drag it an hour later: the server moves this occurrence only and the board reloads
    with page.expect_navigation():
        with page.expect_response(APPOINTMENT_API) as moved:
            booked.drag_to(_slot(page, "2026-03-03T11:00:00+00:00"))
        assert moved.value.status == 200, moved.value.text()
    expect(_slot(page, "2026-03-03T11:00:00+00:00").locator(".appt")).to_contain_text("Weekly check-in")
    expect(_slot(page, "2026-03-03T10:00:00+00:00").locator(".appt")).to_have_count(0)

    # next week the series is there again, at its own time
    page.get_by_role("link", name="Next →").click()
    expect(_slot(page, "2026-03-10T10:00:00+00:00").locator(".appt")).to_contain_text("Weekly check-in")
    expect(page.locator(".appt")).to_have_count(1)

    # Tuesday 10:40: the rep's 30-minute reminder for 11:00 is due
    clock.set(datetime(2026, 3, 3, 10, 40, tzinfo=UTC))
    page.get_by_role("button", name="Send reminders now").click()
    sent_message = page.get_by_role("status").first
    expect(sent_message).to_have_text(re.compile(r"^\d+ reminders? sent\.$"))
    sent = int(sent_message.inner_text().split()[0])
    assert sent >= 1
    page.screenshot(path=str(tmp_path / "schedule-reminders-sent.png"), full_page=True)

    rep_page.reload()
    bell = rep_page.locator("#unread-count")
    expect(bell).not_to_have_text("0")
    assert 1 <= int(bell.inner_text()) <= sent
    # the bell opens on the page the rep is on, lists the reminder, and marks it read there
    unread = int(bell.inner_text())
    rep_page.locator("#bell summary").click()
    reminder = "Appointment on 2026-03-03 at 11:00 UTC: Weekly check-in"
    item = rep_page.locator(".bell-item", has_text=reminder)
    expect(item).to_have_count(1)
    rep_page.screenshot(path=str(tmp_path / "rep-bell-open.png"), full_page=True)
    item.get_by_role("button", name="Mark read").click()
    expect(bell).to_have_text(str(unread - 1))
    rep_page.goto("/notifications")
    expect(rep_page.locator("li.read", has_text=reminder)).to_have_count(1)
    expect(rep_page.locator("li.unread", has_text="Weekly check-in")).to_have_count(0)
    rep_page.screenshot(path=str(tmp_path / "rep-notifications.png"), full_page=True)

    # sending again sends nothing more
    page.get_by_role("button", name="Send reminders now").click()
    expect(page.get_by_role("status").first).to_have_text("0 reminders sent.")

    scheduler.assert_no_console_errors()
    rep.assert_no_console_errors()


def test_a_rep_sees_no_reminder_button_and_the_server_refuses_it(sessions, live_server, clock):
    rep = sessions.new()
    page = rep.login("rep@x.test")
    page.goto("/schedule")
    expect(page.get_by_role("heading", name="Schedule", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Send reminders now")).to_have_count(0)
    # a hand-made POST with a valid CSRF token is still refused: the role is checked on the server
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    refused = page.request.post("/schedule/reminders/fire", form={"csrf_token": token}, max_redirects=0)
    assert refused.status == 403
    rep.assert_no_console_errors()
