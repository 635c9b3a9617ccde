"""Browser journey: an admin uploads a modeler's export, reads what to fix against each element, uploads the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CORPUS = Path(__file__).resolve().parents[1] / "bpmn_corpus"


@pytest.mark.parametrize("size", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_an_admin_reads_each_refused_element_with_its_fix_and_uploads_the_corrected_file(sessions, size, tmp_path):
    admin = sessions.new()
    page = admin.login("admin@x.test")
    page.set_viewport_size(size)
    page.goto("/admin/kinds")
    page.get_by_label("Key").fill("from-signavio")
    page.get_by_label("Name", exact=True).fill("From Signavio")
    page.get_by_label("BPMN file").set_input_files(str(CORPUS / "signavio" / "pools-and-message-flows.bpmn"))
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_role("heading", name="The BPMN for from-signavio was refused")).to_be_visible()
    rows = page.locator("#bpmn-errors tbody tr")
    # one cause, one row: the three message flows are named together, with what to do about them
    flows = rows.filter(has_text="sid-mf-offer")
    expect(flows).to_have_count(1)
    expect(flows).to_contain_text("3 elements (sid-mf-offer, sid-mf-answer, sid-mf-invoice): message flows between "
                                  "pools are not supported")
    expect(flows).to_contain_text("delete the message flow")
    text = page.locator("#bpmn-errors").inner_text()
    for word in ("{http://", "Element '", "attribute", "Exception", "xsd", "schema"):
        assert word not in text
    page.screenshot(path=str(tmp_path / "bpmn-refused.png"), full_page=True)

    # the corrected file (one pool, the som_flow profile) goes in from the same page
    page.get_by_label("BPMN file").set_input_files(str(CORPUS / "som-flow" / "standard-sale-through-modelers.bpmn"))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status").first).to_have_text(re.compile(r"Version 1 of from-signavio stored\."))
    expect(page.locator("#current-version")).to_have_text("1")
    # the refused upload answers 422; the browser reports that status, nothing else may go wrong
    admin.assert_no_console_errors(r"status of 422")
