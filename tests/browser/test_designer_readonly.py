"""Browser journey: an admin opens an uploaded kind in the stage designer and sees it read-only — the reason, its
stages and tasks, no Save button — while a kind built in the designer still opens for editing and, saved
unchanged, keeps its version."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import follow_menu_link

pytestmark = pytest.mark.browser

UPLOADED = ("This kind was uploaded as BPMN; the stage designer would lose parts of it. "
            "Edit it in the modeler or upload a new file.")


def _open_shipped_kind_in_the_designer(page) -> None:
    follow_menu_link(page, "Admin")
    page.get_by_role("link", name="Standard sale").first.click()
    expect(page.locator("#current-version")).to_have_text("1")
    page.get_by_role("link", name="Show in the stage designer (read only)").click()


@pytest.mark.parametrize("size", [{"width": 1366, "height": 850}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_an_uploaded_kind_opens_read_only_in_the_designer(sessions, size, tmp_path):
    admin = sessions.new()
    admin.page.set_viewport_size(size)
    page = admin.login("admin@x.test")
    _open_shipped_kind_in_the_designer(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("Standard sale in the stage designer (read only)")
    expect(page.get_by_role("note")).to_have_text(UPLOADED)
    expect(page.get_by_role("button", name="Save and build a new version")).to_have_count(0)
    expect(page.locator("#designer-read-only input, #designer-read-only select")).to_have_count(0)
    # its stages in order, each with the tasks the uploaded BPMN gives it
    expect(page.get_by_role("heading", level=2)).to_have_text(
        ["1. Lead 10%", "2. Qualification 20%", "3. Proposal 50%", "4. Negotiation 80%"])
    lead = page.get_by_role("table", name="Tasks in Lead")
    # in the order the work comes: the office assigns (booking a visit may start beside it), the rep calls
    expect(lead.locator("tbody tr")).to_have_text([
        re.compile(r"Assign a sales rep\s*csr\s*yes"), re.compile(r"Book an appointment\s*rep\s*no"),
        re.compile(r"Contact the prospect\s*rep\s*1 day\s*yes"),
        re.compile(r"Complete Lead\s*rep\s*completing it moves the deal on")])
    expect(page.get_by_text("SLA 14 days.")).to_be_visible()
    proposal = page.get_by_role("table", name="Tasks in Proposal")
    expect(proposal.get_by_role("row").last).to_have_text(
        re.compile(r"Review stalled Proposal \(when the stage runs over its SLA\)\s*manager"))
    if size["width"] == 390:  # the outline fits a phone's screen (the admin menu's own width is the layout's)
        widest = page.evaluate("Math.max(...Array.from(document.querySelectorAll('#designer-read-only *'))"
                               ".map(e => e.getBoundingClientRect().right))")
        assert widest <= 390 + 1
    page.screenshot(path=str(tmp_path / f"designer-read-only-{size['width']}.png"), full_page=True)

    page.get_by_role("link", name="Back to Standard sale").click()
    expect(page.locator("#current-version")).to_have_text("1")  # opening it changed nothing
    admin.assert_no_console_errors()


def test_a_designer_built_kind_saved_unchanged_keeps_its_version(sessions):
    admin = sessions.new()
    page = admin.login("admin@x.test")
    page.goto("/admin/kinds/new")
    page.get_by_label("Key").fill("field-sale")
    page.get_by_label("Name", exact=True).fill("Field sale")
    page.get_by_label("Type").select_option("custom")
    page.get_by_label("Allow skipping stages forward").check()
    for stage, order in (("Lead", "1"), ("Proposal", "2")):
        page.get_by_label(f"Use {stage}").check()
        page.get_by_label(f"Order of {stage}").fill(order)
    page.get_by_label("Proposal task 1 title").fill("Send the estimate")
    page.get_by_label("Proposal task 1 role").select_option("csr")
    page.get_by_role("button", name="Save and build a new version").click()
    expect(page.get_by_role("status").first).to_have_text("Field sale: version 1 saved.")

    page.get_by_role("link", name="Edit in the designer").click()
    expect(page.get_by_label("Proposal task 1 title")).to_have_value("Send the estimate")
    expect(page.get_by_label("Allow skipping stages forward")).to_be_checked()
    page.get_by_role("button", name="Save and build a new version").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Field sale saved; the process is unchanged, so it keeps version 1.")
    expect(page.locator("#current-version")).to_have_text("1")
    admin.assert_no_console_errors()
