"""The opportunity page's seed-000 tabs in Chromium: the pop-up note, every tab by mouse and keyboard, claiming."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from som_flow.clock import FixedClock

pytestmark = pytest.mark.browser

TABS = ["Info", "Profile", "Opportunity", "Tasks", "Appointments", "Estimates", "Parties & demand", "History",
        "User defined"]


@pytest.fixture
def deal(live_server) -> int:
    """A deal on a customer with a pop-up note, a qualification answer, a custom value, an estimate and a visit."""
    from som_flow.extensions import db
    from som_flow.models import User
    from som_flow.services import appointments, catalogs, customers, estimates, opportunities

    app, _, people = live_server
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app.extensions["som_clock"] = clock
    with app.app_context():
        csr = db.session.get(User, people["csr"])
        rep = db.session.get(User, people["rep"])
        customer = customers.create_customer(None, {"kind": "organization", "name": "Fjord Fisheries",
                                                    "popup_notes": "Pays only by invoice; call before noon.",
                                                    "popup_on_open": True})
        catalogs.create_question("budget", "qualification", "Is the budget confirmed?", required=True)
        catalogs.create_custom_field("roof_type", "Roof type", "text")
        opp = opportunities.create_opportunity(csr, {
            "title": "Cold storage", "customer_id": customer.id, "kind": "standard-sale",
            "amount": Decimal("12000.00"), "sales_rep": rep.id, "product": "consulting", "priority": "high"})
        opportunities.update_opportunity(rep, opp.id, {"answers": {"budget": True}, "custom": {"roof_type": "Slate"}})
        estimates.create_estimate(rep, opp.id, [{"description": "Cooling unit", "quantity": Decimal("2"),
                                                 "price": Decimal("4500.00")}])
        appointments.create_appointment(rep, {"title": "Site survey", "opportunity_id": opp.id,
                                              "start": datetime(2026, 3, 4, 13, 0, tzinfo=UTC),
                                              "end": datetime(2026, 3, 4, 14, 0, tzinfo=UTC)})
        clock.set(datetime(2026, 3, 5, 12, 0, tzinfo=UTC))  # three days and three hours in Lead
        opp_id = opp.id
        db.session.remove()
    return opp_id


def _panel(page, name: str):
    return page.get_by_role("tabpanel", name=name)


def test_the_tabs_show_each_part_of_the_deal_by_mouse_and_keyboard(sessions, deal, tmp_path):
    rep = sessions.new()
    page = rep.login("rep@x.test")
    page.goto(f"/opportunities/{deal}")

    # the customer's pop-up note greets whoever opens the deal; OK closes it
    note = page.get_by_role("dialog", name="Note on Fjord Fisheries")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Pays only by invoice; call before noon.")
    page.screenshot(path=str(tmp_path / "opportunity-popup.png"), full_page=True)
    note.get_by_role("button", name="OK").click()
    expect(note).to_be_hidden()

    tabs = page.get_by_role("tablist", name="Opportunity details").get_by_role("tab")
    expect(tabs).to_have_text(TABS)
    expect(page.get_by_role("tab", name="Info")).to_have_attribute("aria-selected", "true")
    expect(_panel(page, "Info")).to_be_visible()
    expect(_panel(page, "Info")).to_contain_text("Fjord Fisheries")
    for name in TABS[1:]:
        expect(_panel(page, name)).to_be_hidden()

    page.get_by_role("tab", name="Profile").click()
    expect(_panel(page, "Info")).to_be_hidden()
    profile = _panel(page, "Profile")
    expect(profile.locator("#qualified")).to_have_text("Qualified: yes")
    expect(profile).to_contain_text("yes: Is the budget confirmed?")

    # arrow keys move along the tabs and open them
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Opportunity")).to_be_focused()
    expect(page.get_by_role("tab", name="Opportunity")).to_have_attribute("aria-selected", "true")
    opportunity = _panel(page, "Opportunity")
    expect(opportunity).to_contain_text("Consulting")
    expect(opportunity).to_contain_text("High")
    expect(opportunity).to_contain_text("10% (stage default)")
    expect(opportunity).to_contain_text("$12,000.00")
    expect(_panel(page, "Profile")).to_be_hidden()

    page.keyboard.press("ArrowRight")
    expect(_panel(page, "Tasks")).to_contain_text("Assign a sales rep")
    page.keyboard.press("ArrowRight")
    appointments = _panel(page, "Appointments")
    expect(appointments).to_contain_text("Site survey")
    expect(appointments).to_contain_text("2026-03-04 13:00 UTC")
    page.keyboard.press("ArrowRight")
    estimates = _panel(page, "Estimates")
    expect(estimates).to_contain_text("EST-")
    expect(estimates).to_contain_text("$9,000.00")
    page.keyboard.press("ArrowRight")
    expect(_panel(page, "Parties & demand")).to_contain_text("No partners or contact persons yet.")
    page.keyboard.press("ArrowRight")
    history = _panel(page, "History")
    expect(history.locator("table.stage-history tbody tr")).to_have_count(1)
    expect(history.locator("table.stage-history tbody tr")).to_contain_text("Lead")
    expect(history.locator("table.stage-history tbody tr")).to_contain_text("2026-03-02 09:00 UTC")
    expect(history.locator("table.stage-history tbody tr")).to_contain_text("Csr")
    expect(history.locator("table.stage-history tbody tr")).to_contain_text("3 d 3 h (so far)")
    expect(history.locator("ol.history")).to_contain_text("Estimate EST-00001 created")
    expect(history.locator("ol.history")).to_contain_text("Appointment booked: Site survey")
    page.screenshot(path=str(tmp_path / "opportunity-history.png"), full_page=True)
    page.keyboard.press("End")
    expect(page.get_by_role("tab", name="User defined")).to_be_focused()
    expect(_panel(page, "User defined")).to_contain_text("Roof type")
    expect(_panel(page, "User defined")).to_contain_text("Slate")
    page.keyboard.press("ArrowRight")  # wraps round to the first tab
    expect(page.get_by_role("tab", name="Info")).to_be_focused()
    expect(_panel(page, "Info")).to_be_visible()

    # the address names the tab, so a reload or a shared link opens the same one
    page.get_by_role("tab", name="Estimates").click()
    page.reload()
    expect(page.get_by_role("tab", name="Estimates")).to_have_attribute("aria-selected", "true")
    expect(_panel(page, "Estimates")).to_be_visible()

    # booking from the Appointments tab opens the schedule board with this deal chosen
    page.keyboard.press("Escape")
    page.get_by_role("tab", name="Appointments").click()
    _panel(page, "Appointments").get_by_role("link", name="Book an appointment on the schedule board").click()
    expect(page.get_by_role("heading", name="Schedule", level=1)).to_be_visible()
    expect(page.locator("#new").get_by_label("Opportunity")).to_have_value(str(deal))
    rep.assert_no_console_errors()


def test_the_rep_unassigns_and_claims_the_deal_back(sessions, deal, tmp_path):
    rep = sessions.new()
    page = rep.login("rep@x.test")
    page.goto(f"/opportunities/{deal}")
    page.get_by_role("dialog").get_by_role("button", name="OK").click()
    expect(page.locator("#sales-rep")).to_have_text("Rep")
    expect(page.get_by_role("button", name="Claim")).to_have_count(0)

    page.get_by_role("button", name="Unassign…").click()
    confirm = page.get_by_role("dialog", name="Take Rep off")
    expect(confirm).to_contain_text("goes back to the unassigned pool")
    confirm.get_by_role("button", name="Yes, unassign").click()
    expect(page.get_by_role("dialog")).to_be_hidden()  # back on the same deal: the note is not shown again
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.locator("#sales-rep")).to_have_text("unassigned")

    page.get_by_role("button", name="Claim").click()
    expect(page.locator("#sales-rep")).to_have_text("Rep")
    page.get_by_role("tab", name="History").click()
    expect(_panel(page, "History").locator("ol.history")).to_contain_text("Rep: Unassigned (was Rep)")
    expect(_panel(page, "History").locator("ol.history")).to_contain_text("Rep: Assigned to Rep")
    page.screenshot(path=str(tmp_path / "opportunity-claimed.png"), full_page=True)
    rep.assert_no_console_errors()


def test_the_office_assigns_the_deal_to_another_rep(sessions, live_server, deal):
    from som_flow.services import users

    app, _, _ = live_server
    with app.app_context():
        users.create_user("ann@x.test", "Ann", ["rep"], password="x-password-1")
    office = sessions.new()
    page = office.login("csr@x.test")
    page.goto(f"/opportunities/{deal}")
    page.keyboard.press("Escape")  # Escape closes the pop-up note too
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_role("button", name="Claim")).to_have_count(0)  # the office assigns; it does not claim
    page.get_by_label("Assign to").select_option(label="Ann")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("#sales-rep")).to_have_text("Ann")
    office.assert_no_console_errors()
