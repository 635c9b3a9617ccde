"""Documents and outcomes on the deal page in Chromium: an estimate with two lines, selected; a partner, a contact
person and demand; won with a reason and a job (the estimate and the visit move to it); lost with a reason; a
confirm dialog cancelled — at desktop and phone size."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from som_flow.clock import FixedClock

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def deals(live_server) -> dict:
    """Two deals of the rep's on a customer with a contact person, a visit booked on the first; a partner firm."""
    from som_flow.extensions import db
    from som_flow.models import User
    from som_flow.services import appointments, customers, opportunities

    app, _, people = live_server
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app.extensions["som_clock"] = clock
    with app.app_context():
        csr = db.session.get(User, people["csr"])
        rep = db.session.get(User, people["rep"])
        buyer = customers.create_customer(None, {"kind": "organization", "name": "Fjord Fisheries"})
        customers.create_customer(None, {"kind": "organization", "name": "Installers AS"})
        customers.add_contact(csr, buyer.id, {"name": "Kari Nordmann", "role": "Buyer"})
        ids = {}
        for title in ("Cold storage", "Ice machine"):
            ids[title] = opportunities.create_opportunity(csr, {
                "title": title, "customer_id": buyer.id, "kind": "standard-sale", "sales_rep": rep.id}).id
        appointments.create_appointment(rep, {"title": "Site survey", "opportunity_id": ids["Cold storage"],
                                              "start": datetime(2026, 3, 4, 13, 0, tzinfo=UTC),
                                              "end": datetime(2026, 3, 4, 14, 0, tzinfo=UTC)})
        db.session.remove()
    return ids


def _panel(page, name: str):
    return page.get_by_role("tabpanel", name=name)


@pytest.mark.parametrize("size", SIZES)
def test_the_rep_writes_an_estimate_adds_parties_and_wins_with_a_job(sessions, deals, size, tmp_path):
    rep = sessions.new()
    page = rep.login("rep@x.test")
    page.set_viewport_size(SIZES[size])
    deal = deals["Cold storage"]
    page.goto(f"/opportunities/{deal}")

    # an estimate with two lines, the second on a row "Add a line" made
    page.get_by_role("tab", name="Estimates").click()
    page.get_by_role("button", name="New estimate…").click()
    form = page.get_by_role("dialog", name="New estimate for")
    expect(form).to_be_visible()
    form.get_by_label("Description, line 1").fill("Cooling unit")
    form.get_by_label("Quantity, line 1").fill("2")
    form.get_by_label("Price, line 1").fill("4500")
    form.get_by_role("button", name="Add a line").click()
    form.get_by_label("Description, line 6").fill("Installation")
    form.get_by_label("Quantity, line 6").fill("1")
    form.get_by_label("Price, line 6").fill("1200.50")
    form.get_by_role("button", name="Write estimate").click()
    expect(page.get_by_role("status")).to_have_text("EST-00001 written: $10,200.50.")
    estimates = _panel(page, "Estimates")
    expect(estimates).to_be_visible()  # back on the same tab
    expect(estimates).to_contain_text("2.0 × Cooling unit @ $4,500.00; 1.0 × Installation @ $1,200.50")
    estimates.get_by_role("button", name="Select EST-00001").click()
    expect(page.locator("#amount")).to_have_text("$10,200.50")
    expect(_panel(page, "Estimates")).to_contain_text("(selected)")

    # a partner and a contact person, and what the customer asked for
    page.get_by_role("tab", name="Parties & demand").click()
    page.get_by_role("button", name="Add a partner…").click()
    partner = page.get_by_role("dialog", name="Add a partner to")
    partner.get_by_label("Partner").select_option(label="Installers AS")
    partner.get_by_role("button", name="Add partner").click()
    expect(page.get_by_role("status")).to_have_text("Installers AS added as partner.")
    page.get_by_role("button", name="Add a contact person…").click()
    contact = page.get_by_role("dialog", name="Add a contact person to")
    contact.get_by_label("Contact person").select_option(label="Kari Nordmann (Buyer)")
    contact.get_by_role("button", name="Add contact person").click()
    parties = _panel(page, "Parties & demand")
    expect(parties.locator("table.parties tbody td:nth-child(1)")).to_have_text(["Partner", "Contact person"])
    expect(parties.locator("table.parties tbody td:nth-child(2)")).to_have_text(["Installers AS", "Kari Nordmann"])
    page.get_by_role("button", name="Add demand…").click()
    demand = page.get_by_role("dialog", name="Add a demand line to")
    demand.get_by_label("Description").fill("Cold room, 20 m²")
    demand.get_by_label("Amount").fill("12000")
    demand.get_by_role("button", name="Add demand").click()
    expect(_panel(page, "Parties & demand").locator("table.demand")).to_contain_text("Cold room, 20 m²")
    page.screenshot(path=str(tmp_path / f"deal-documents-{size}.png"), full_page=True)

    # a confirm dialog says what it will do and can be cancelled
    page.get_by_role("button", name="Hold…").click()
    hold = page.get_by_role("dialog", name="on hold?")
    expect(hold).to_contain_text("cannot be moved until someone resumes it")
    hold.get_by_role("button", name="Cancel").click()
    expect(hold).to_be_hidden()
    expect(page.locator("#status")).to_have_text("in progress")

    # won: a reason from the catalog, nothing chosen beforehand; a job named by the pattern
    page.get_by_role("button", name="Won…").click()
    won = page.get_by_role("dialog", name="won")
    expect(won.get_by_label("Won reason")).to_have_value("")
    expect(won.get_by_label("Resolved date")).to_have_value("2026-03-02")
    expect(won.get_by_label("Job name")).to_have_value("Fjord Fisheries - Cold storage 2026")
    won.get_by_label("Won reason").select_option(label="Relationship")
    won.get_by_label("Explanation").fill("They knew our installers")
    won.get_by_label("Make a job").check()
    page.screenshot(path=str(tmp_path / f"deal-won-dialog-{size}.png"))
    won.get_by_role("button", name="Mark won").click()
    expect(page.locator("#status")).to_have_text("won")
    expect(page.locator("#customer-job")).to_have_text(
        "Fjord Fisheries → Fjord Fisheries:Fjord Fisheries - Cold storage 2026")
    expect(page.locator("#on-job")).to_have_text("EST-00001 · appointment Site survey")
    expect(page.locator("#resolved")).to_contain_text("Relationship")
    rep.assert_no_console_errors()


def test_the_rep_loses_a_deal_only_once_a_reason_is_chosen(sessions, deals):
    rep = sessions.new()
    page = rep.login("rep@x.test")
    page.set_viewport_size(SIZES["phone"])
    page.goto(f"/opportunities/{deals['Ice machine']}")
    page.get_by_role("button", name="Lost…").click()
    lost = page.get_by_role("dialog", name="lost")
    expect(lost.get_by_label("Lost reason")).to_have_value("")
    lost.get_by_label("Explanation").fill("Went with the cheaper offer")
    lost.get_by_role("button", name="Mark lost").click()
    expect(lost).to_be_visible()  # the browser asks for the reason first; nothing was sent
    expect(page.locator("#status")).to_have_text("in progress")
    lost.get_by_label("Lost reason").select_option(label="Price")
    lost.get_by_role("button", name="Mark lost").click()
    expect(page.locator("#status")).to_have_text("lost")
    expect(page.locator("#resolved")).to_contain_text("Price · Went with the cheaper offer")
    rep.assert_no_console_errors()


def test_without_javascript_the_dialogs_open_in_place_and_still_work(sessions, deals):
    page = sessions.new(scripts=False).login("rep@x.test")
    page.goto(f"/opportunities/{deals['Cold storage']}")
    page.get_by_text("New estimate…").click()  # a <details>: its form opens in place
    panel = page.locator("#panel-estimates")
    expect(panel.get_by_label("Description, line 5")).to_be_visible()  # five rows, no "Add a line" needed
    panel.get_by_label("Description, line 1").fill("Cooling unit")
    panel.get_by_label("Quantity, line 1").fill("2")
    panel.get_by_label("Price, line 1").fill("4500")
    panel.get_by_role("button", name="Write estimate").click()
    expect(page.get_by_role("status")).to_have_text("EST-00001 written: $9,000.00.")
    page.get_by_text("Lost…").click()
    lost = page.locator("details[data-dialog=lose]")
    lost.get_by_label("Lost reason").select_option(label="Bad timing")
    lost.get_by_role("button", name="Mark lost").click()
    expect(page.locator("#status")).to_have_text("lost")
