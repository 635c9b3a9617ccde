"""Browser journey (issue #14): an admin uploads a sales process drawn in Camunda Modeler (camunda:properties, no
pipeline, bare timers, a Camunda form) and sees it stored, drawn with the added pipeline, and told what was added."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
SALES = Path(__file__).parent.parent / "bpmn_camunda" / "sales.bpmn"


@pytest.mark.parametrize("size", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_an_admin_uploads_a_camunda_modeler_drawing_and_sees_what_was_added(sessions, live_server, tmp_path, size):
    admin = sessions.new()
    admin.page.set_viewport_size(size)
    page = admin.login("admin@x.test")
    page.goto("/admin/kinds")
    expect(page.get_by_role("heading", name="Upload a BPMN file as a new kind")).to_be_visible()
    page.get_by_label("Key").fill("field-sale")
    page.get_by_label("Name", exact=True).fill("Field sale")
    page.get_by_label("Type").select_option("standard")
    page.get_by_label("BPMN file").set_input_files(str(SALES))
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_role("status").first).to_have_text(
        "Version 1 of field-sale stored. What was added on import is listed under the diagram.")
    expect(page.locator("#version-stages tbody tr")).to_have_text([
        re.compile(r"1\s*Lead\s*10%"), re.compile(r"2\s*Offer\s*50%\s*14 days"), re.compile(r"3\s*Order\s*80%")])
    expect(page.get_by_role("heading", name="Added on import")).to_be_visible()
    notes = page.get_by_role("list", name="Added on import").get_by_role("listitem")
    expect(notes.filter(has_text="Added the pipeline subprocess around the stages Lead, Offer, Order")).to_be_visible()
    expect(notes.filter(has_text="Read Camunda form fields as the som.form of Task_budget")).to_be_visible()
    expect(notes.filter(has_text="Event_offer_sla (P14D)")).to_be_visible()

    # the viewer draws the stored version: the added pipeline and its lose/win ends beside what the admin drew
    diagram = page.locator("#diagram")
    expect(diagram).to_have_attribute("data-rendered", "true")
    labels = diagram.locator("svg .djs-element text")
    for name in ("Sales pipeline", "Lead", "Offer", "Order", "Qualify the budget", "Lost", "Won early"):
        expect(labels.filter(has_text=re.compile(rf"^{name}$")).first).to_be_attached()
    page.screenshot(path=str(tmp_path / f"modeler-import-{size['width']}.png"), full_page=True)
    admin.assert_no_console_errors()
