"""Customers and jobs in Chromium, on a desktop and a phone: the office adds a customer, is warned about a
same-named one, edits each section (a refused e-mail keeps what was typed), adds and edits a contact, and adds a
job under the customer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", SIZES)
def test_the_office_creates_and_edits_a_customer_and_a_job(sessions, size, tmp_path):
    csr = sessions.new()
    page = csr.page
    page.set_viewport_size(SIZES[size])
    csr.login("csr@x.test")
    page.goto("/customers")
    new = page.locator("#new-customer")
    new.get_by_label("Name").fill("Fjord Fisheries")
    new.get_by_label("Kind").select_option("organization")
    new.get_by_label("Status").select_option("active")
    new.get_by_role("button", name="Add customer").click()
    expect(page.get_by_role("heading", name="Fjord Fisheries")).to_be_visible()
    customer_url = page.url

    # details: a refused e-mail keeps every typed value and says what is wrong beside the field
    page.get_by_text("Edit details").click()
    details = page.locator("#details-form")
    details.get_by_label("Name").fill("Fjord Fisheries AS")
    details.get_by_label("E-mail").fill("post@fjord")
    details.get_by_label("Phone").fill("+47 22 00 00 00")
    page.evaluate("document.querySelector('#details-form input[name=email]').type = 'text'")  # past the browser's check
    details.get_by_role("button", name="Save").click()
    details = page.locator("#details-form")
    expect(details.locator("#err-email")).to_have_text("Give an e-mail address like name@example.com.")
    expect(details.get_by_label("Name")).to_have_value("Fjord Fisheries AS")
    expect(details.get_by_label("Phone")).to_have_value("+47 22 00 00 00")
    details.get_by_label("E-mail").fill("post@fjord.example")
    details.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Fjord Fisheries AS")).to_be_visible()
    expect(page.locator("#details")).to_contain_text("post@fjord.example")

    page.get_by_text("Edit addresses").click()
    bill_to = page.get_by_role("group", name="Bill to")
    bill_to.get_by_label("Street").fill("Kaia 1")
    bill_to.get_by_label("City").fill("Bergen")
    page.get_by_role("group", name="Work address").get_by_label("Street").fill("Brygga 4")
    page.locator("#addresses-form").get_by_role("button", name="Save").click()
    expect(page.locator("#bill-to")).to_have_text("Kaia 1, Bergen")
    expect(page.locator("#work-address")).to_have_text("Brygga 4")

    page.get_by_text("Edit payment").click()
    page.get_by_label("Payment terms").fill("Net 30")
    page.get_by_label("On credit hold").check()
    page.locator("#payment-form").get_by_role("button", name="Save").click()
    expect(page.locator("#credit-hold")).to_contain_text("terms: Net 30")

    page.get_by_text("Add contact").first.click()
    contact = page.locator("#contact-form")
    contact.get_by_label("Name").fill("Kari Nordmann")
    contact.get_by_label("Role").fill("Owner")
    contact.get_by_role("button", name="Add contact").click()
    expect(page.locator("#contacts")).to_contain_text("Kari Nordmann")
    page.get_by_label("Edit Kari Nordmann").click()
    row = page.locator("#contacts tbody tr").first
    row.get_by_label("Role").fill("CFO")
    row.get_by_role("button", name="Save contact").click()
    expect(page.locator("#contacts tbody tr").first).to_contain_text("CFO")

    page.get_by_text("Edit pop-up note").click()
    page.get_by_label("Note", exact=True).fill("Ask for Kari")
    page.get_by_label("Pop up when").check()
    page.locator("#popup-form").get_by_role("button", name="Save").click()
    expect(page.locator("#popup-note")).to_contain_text("Ask for Kari")
    page.locator("#popup-note").get_by_role("button", name="OK").click()

    page.get_by_text("New job").click()
    page.locator("#job-form").get_by_label("Job name").fill("Cold store 2026")
    page.locator("#job-form").get_by_role("button", name="Add job").click()
    expect(page.get_by_role("heading", name="Cold store 2026")).to_be_visible()
    expect(page.locator("#details")).to_contain_text("Fjord Fisheries AS:Cold store 2026")
    expect(page.locator("#bill-to")).to_have_text("Kaia 1, Bergen")  # the job starts at its customer's addresses
    page.screenshot(path=str(tmp_path / f"job-{size}.png"), full_page=True)

    # a second "fjord fisheries as" is not created at once: the form links to the one there is
    page.goto("/customers")
    page.locator("#new-customer").get_by_label("Name").fill("fjord fisheries as ")
    page.locator("#new-customer").get_by_role("button", name="Add customer").click()
    warning = page.locator("#duplicate-warning")
    expect(warning).to_contain_text("already exists")
    expect(page.locator("#new-customer").get_by_label("Name")).to_have_value("fjord fisheries as ")
    warning.get_by_role("link", name="Fjord Fisheries AS").click()
    assert page.url == customer_url
    csr.assert_no_console_errors(r"status of 422", r"status of 409")
