"""Editing a deal in Chromium: the admin sets the office's required fields, the office creates a deal with them
(customer picked by typing), edits the Info tab, and the rep, on a phone, edits the Opportunity, Profile and User
defined tabs; each change is there after a reload and in the history. A refused form keeps what was typed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def setup(live_server):
    """Questions of each type and two user-defined fields."""
    from som_flow.extensions import db
    from som_flow.services import catalogs

    app, _, _ = live_server
    with app.app_context():
        catalogs.create_question("budget", "qualification", "Is the budget confirmed?", required=True)
        catalogs.create_question("size", "profile", "House size (m²)", answer_type="number")
        catalogs.create_question("visit", "profile", "Last service visit", answer_type="date")
        catalogs.create_question("heating", "profile", "Heating", answer_type="choice", choices=["gas", "oil"])
        catalogs.create_custom_field("roof_type", "Roof type", "choice", choices=["Tile", "Slate"])
        catalogs.create_custom_field("floors", "Floors", "number")
        db.session.remove()
    return live_server


def _panel(page, name: str):
    return page.get_by_role("tabpanel", name=name)


def _history(page):
    page.get_by_role("tab", name="History").click()
    return _panel(page, "History")


def test_the_office_creates_a_deal_with_its_required_fields_and_edits_the_info_tab(sessions, setup):
    admin = sessions.new()
    page = admin.login("admin@x.test")
    page.goto("/admin/required-fields")
    page.get_by_label("Marketing source").check()
    page.get_by_label("Anticipated close date").check()
    page.get_by_role("button", name="Save required fields").click()
    expect(page.get_by_text("Required fields saved.")).to_be_visible()

    office = sessions.new()
    page = office.login("csr@x.test")
    page.goto("/opportunities/new")
    form = page.locator("#new-opportunity")
    expect(form.get_by_label("Marketing source")).to_have_attribute("required", "")
    expect(form.get_by_label("Anticipated close date")).to_have_attribute("required", "")
    form.get_by_label("Title").fill("Heat pump for the warehouse")
    customer = form.get_by_label(re.compile(r"^Customer"))
    customer.fill("North")
    # the picker suggests as you type
    expect(page.locator("#customer-choices option")).to_have_count(1)
    expect(page.locator("#customer-choices option")).to_have_attribute("value", re.compile(r"Northwind Traders · #\d+"))
    customer.fill("Northwind Traders")
    form.get_by_label("Sales rep").select_option(label="Rep")
    form.get_by_label("Amount").fill("9500")
    form.get_by_label("Marketing source").select_option(label="Google")
    form.get_by_label("Anticipated close date").fill("2026-06-30")
    form.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name=re.compile("Heat pump for the warehouse"))).to_be_visible()
    info = _panel(page, "Info")
    expect(info).to_contain_text("Google")
    expect(info).to_contain_text("2026-06-30")

    # the Info tab's edit form: a refusal keeps every typed value, the error beside the field
    info.get_by_text("Edit info").click()
    info.get_by_label("Title").fill("Heat pump, two units")
    info.get_by_label(re.compile(r"^Customer")).fill("Nobody at all")
    info.get_by_label("Terms of sales").fill("30 days net")
    info.get_by_role("button", name="Save info").click()
    info = _panel(page, "Info")
    expect(info.locator("#err-customer")).to_contain_text("Choose a customer from the list")
    expect(info.get_by_label("Title")).to_have_value("Heat pump, two units")
    expect(info.get_by_label("Terms of sales")).to_have_value("30 days net")
    info.get_by_label(re.compile(r"^Customer")).fill("Northwind Traders")
    info.get_by_label("Department").select_option(label="Installation")
    info.get_by_label("Employee lead").select_option(label="Csr")
    info.get_by_label("Timeframe").select_option(label="1-3 Months")
    info.get_by_label("Financing activity").select_option(label="No Financing Was Offered")
    info.get_by_label("Follow-up date").fill("2026-04-01")
    info.get_by_label("Address").select_option(label="Work site")
    info.get_by_role("button", name="Save info").click()
    expect(page.get_by_text("Saved.")).to_be_visible()

    page.reload()
    info = _panel(page, "Info")
    expect(page.get_by_role("heading", name=re.compile("Heat pump, two units"))).to_be_visible()
    for shown in ("Installation", "Csr", "1-3 Months", "No Financing Was Offered", "2026-04-01", "work site",
                  "30 days net"):
        expect(info).to_contain_text(shown)
    history = _history(page)
    expect(history).to_contain_text("Terms of sales: empty → 30 days net")
    expect(history).to_contain_text("Department: empty → Installation")  # the catalog name, not its key
    office.assert_no_console_errors(r"status of 422 .* at \S+/edit/info#info$")  # the refused form, on purpose
    admin.assert_no_console_errors()


@pytest.fixture
def reps_deal(setup) -> int:
    from som_flow.extensions import db
    from som_flow.models import User
    from som_flow.services import customers, opportunities

    app, _, people = setup
    with app.app_context():
        customer = customers.search_customers(q="Northwind")[0][0]
        opp = opportunities.create_opportunity(db.session.get(User, people["csr"]), {
            "title": "Cold storage", "customer_id": customer.id, "kind": "standard-sale",
            "sales_rep": people["rep"], "amount": "12000"})
        opp_id = opp.id
        db.session.remove()
    return opp_id


def test_the_rep_on_a_phone_edits_the_opportunity_profile_and_user_defined_tabs(browser, setup, reps_deal):
    _, base_url, _ = setup
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/login")
    page.get_by_label("E-mail").fill("rep@x.test")
    page.get_by_label("Password").fill("secret-password")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/opportunities/{reps_deal}")

    page.get_by_role("tab", name="Opportunity").click()
    tab = _panel(page, "Opportunity")
    tab.get_by_text("Edit opportunity").click()
    tab.get_by_label("Amount").fill("15000.50")
    tab.get_by_label("Currency").select_option(label="Euro")
    tab.get_by_label("Probability (%)").fill("45")
    tab.get_by_label("Product").select_option(label="High-efficiency furnace")
    tab.get_by_label("Priority").select_option(label="High")
    tab.get_by_role("button", name="Save opportunity").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    tab = _panel(page, "Opportunity")
    expect(tab).to_be_visible()  # back on the tab that was edited
    expect(tab).to_contain_text("€15,000.50")
    expect(tab).to_contain_text("45% (set by hand)")

    # back to the stage default
    tab.get_by_text("Edit opportunity").click()
    tab.get_by_label("Back to the stage default").check()
    tab.get_by_role("button", name="Save opportunity").click()
    expect(_panel(page, "Opportunity")).to_contain_text("10% (stage default)")

    page.get_by_role("tab", name="Profile").click()
    profile = _panel(page, "Profile")
    profile.get_by_text("Edit answers").click()
    profile.get_by_label("Is the budget confirmed?").select_option(label="Yes")
    expect(profile.get_by_label("House size (m²)")).to_have_attribute("type", "number")
    profile.get_by_label("House size (m²)").fill("140")
    expect(profile.get_by_label("Last service visit")).to_have_attribute("type", "date")
    profile.get_by_label("Last service visit").fill("2025-10-01")
    profile.get_by_label("Heating").select_option(label="oil")
    profile.get_by_role("button", name="Save answers").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(_panel(page, "Profile").locator("#qualified")).to_have_text("Qualified: yes")

    page.get_by_role("tab", name="User defined").click()
    custom = _panel(page, "User defined")
    custom.get_by_text("Edit user-defined fields").click()
    custom.get_by_label("Roof type").select_option(label="Slate")
    custom.get_by_label("Floors").fill("2")
    custom.get_by_role("button", name="Save user-defined fields").click()
    expect(page.get_by_text("Saved.")).to_be_visible()

    page.reload()
    page.get_by_role("tab", name="Profile").click()
    for shown in ("140", "2025-10-01", "oil"):
        expect(_panel(page, "Profile")).to_contain_text(shown)
    page.get_by_role("tab", name="User defined").click()
    expect(_panel(page, "User defined")).to_contain_text("Slate")
    history = _history(page)
    expect(history).to_contain_text("House size (m²): empty → 140")
    expect(history).to_contain_text("Roof type: empty → Slate")
    expect(history).to_contain_text("Amount: 12000.00 → 15000.50")
    assert errors == []
    context.close()
