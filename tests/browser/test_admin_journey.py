"""Browser journey: an admin designs a custom kind and sees its BPMN drawn by the bpmn-js viewer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_an_admin_builds_a_custom_kind_in_the_designer_and_sees_its_diagram(sessions, live_server, tmp_path):
    admin = sessions.new()
    page = admin.login("admin@x.test")
    page.get_by_role("link", name="Admin", exact=True).click()
    expect(page.get_by_role("heading", name="Opportunity kinds")).to_be_visible()
    page.get_by_role("link", name="Design a new kind").click()
    expect(page.get_by_role("heading", name="Design a new kind")).to_be_visible()

    page.get_by_label("Key").fill("field-sale")
    page.get_by_label("Name", exact=True).fill("Field sale")
    page.get_by_label("Type").select_option("custom")
    page.get_by_label("Allow skipping stages forward").check()
    # the numbers order the stages: Proposal comes before Qualification in this kind
    for stage, order in (("Lead", "1"), ("Proposal", "2"), ("Qualification", "3")):
        page.get_by_label(f"Use {stage}").check()
        page.get_by_label(f"Order of {stage}").fill(order)
    page.get_by_label("Qualification task 1 title").fill("Qualify budget")
    page.get_by_label("Qualification task 1 role").select_option("rep")
    page.get_by_label("Qualification task 1 due").fill("P3D")
    page.get_by_label("Proposal task 1 title").fill("Send the estimate")
    page.get_by_label("Proposal task 1 role").select_option("csr")
    page.get_by_label("Proposal task 1 required").uncheck()
    page.get_by_label("SLA of Proposal").fill("14")
    page.get_by_label("Required fields to leave Proposal").fill("amount")
    page.get_by_role("button", name="Save and build a new version").click()

    expect(page.get_by_role("status").first).to_have_text("Field sale: version 1 saved.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Field sale")
    expect(page.locator("#current-version")).to_have_text("1")
    expect(page.locator("#version-stages tbody tr")).to_have_text([
        re.compile(r"1\s*Lead\s*10%"), re.compile(r"2\s*Proposal\s*50%\s*14 days\s*amount"),
        re.compile(r"3\s*Qualification\s*20%")])

    # the viewer draws the version's BPMN DI: an SVG with the stages and their tasks as labels
    diagram = page.locator("#diagram")
    expect(diagram).to_have_attribute("data-rendered", "true")
    labels = diagram.locator("svg .djs-element text")
    for name in ("Lead", "Qualification", "Proposal", "Qualify budget", "Send the estimate", "Review stalled Proposal"):
        expect(labels.filter(has_text=name).first).to_be_visible()
    expect(page.locator("#diagram-status")).to_have_text("")
    page.screenshot(path=str(tmp_path / "admin-kind-diagram.png"), full_page=True)

    # the designer opens again on what was saved
    page.get_by_role("link", name="Edit in the designer").click()
    expect(page.get_by_label("Qualification task 1 title")).to_have_value("Qualify budget")
    expect(page.get_by_label("Use Negotiation")).not_to_be_checked()
    page.screenshot(path=str(tmp_path / "admin-designer.png"), full_page=True)
    admin.assert_no_console_errors()

