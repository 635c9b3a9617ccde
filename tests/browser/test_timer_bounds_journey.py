"""Timers in Chromium (issue #14, item 4): the admin uploads a kind whose timer is written as modelers write it,
sees a timer naming no field refused against its element, and uploads the fix; a rep on a phone gives the deal's
timer field a value no timer can start with and sees why beside the field, with what was typed kept."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SLA = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P14D"</bpmn:timeDuration>'


def _timed(text: str) -> str:
    from som_flow.processes import shipped_bpmn

    return shipped_bpmn("standard-sale").replace(
        SLA, f'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{text}</bpmn:timeDuration>')


@pytest.fixture
def wait_field(live_server):
    from som_flow.extensions import db
    from som_flow.services import catalogs

    app, _, _ = live_server
    with app.app_context():
        catalogs.create_custom_field("wait", "Wait", "text")
        db.session.remove()
    return live_server


def test_the_admin_sees_a_timer_naming_no_field_refused_and_uploads_the_fix(sessions, wait_field, tmp_path):
    wrong, right = tmp_path / "timed.bpmn", tmp_path / "timed-fixed.bpmn"
    wrong.write_text(_timed("P14X"))  # a typo in a bare duration: neither ISO 8601 nor a field
    right.write_text(_timed("custom[&quot;wait&quot;]"))
    admin = sessions.new()
    page = admin.login("admin@x.test")
    page.goto("/admin/kinds")
    page.get_by_label("Key").fill("timed")
    page.get_by_label("Name").fill("Timed sale")
    page.get_by_label("BPMN file").set_input_files(str(wrong))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", name=re.compile("was refused"))).to_be_visible()
    row = page.locator("#bpmn-errors tr", has=page.locator("code", has_text="sla_proposal"))
    expect(row).to_contain_text("refers to 'P14X', which is neither an ISO-8601 duration nor a field of the "
                                "opportunity")
    page.screenshot(path=str(tmp_path / "timer-refused.png"), full_page=True)

    page.get_by_label("BPMN file").set_input_files(str(right))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Version 1 of timed stored.")).to_be_visible()
    admin.assert_no_console_errors(r"status of 422")  # the refused upload, on purpose


@pytest.fixture
def timed_deal(wait_field) -> int:
    from som_flow.extensions import db
    from som_flow.models import User
    from som_flow.services import customers, kinds, opportunities

    app, _, people = wait_field
    with app.app_context():
        kinds.import_kind_bpmn("timed", _timed("custom[&quot;wait&quot;]"), name="Timed sale", kind_type="standard")
        customer = customers.search_customers(q="Northwind")[0][0]
        opp = opportunities.create_opportunity(db.session.get(User, people["csr"]), {
            "title": "Cold storage", "customer_id": customer.id, "kind": "timed", "sales_rep": people["rep"],
            "custom": {"wait": "P3D"}})
        opp_id = opp.id
        db.session.remove()
    return opp_id


def test_the_rep_on_a_phone_gives_the_timer_field_a_value_no_timer_can_start_with(sessions, timed_deal, tmp_path):
    rep = sessions.new()
    rep.page.set_viewport_size({"width": 390, "height": 844})
    page = rep.login("rep@x.test")
    page.goto(f"/opportunities/{timed_deal}")

    page.get_by_role("tab", name="User defined").click()
    custom = page.get_by_role("tabpanel", name="User defined")
    expect(custom).to_contain_text("P3D")
    custom.get_by_text("Edit user-defined fields").click()
    custom.get_by_label("Wait").fill("P2000000Y")
    custom.get_by_role("button", name="Save user-defined fields").click()
    custom = page.get_by_role("tabpanel", name="User defined")
    expect(page.get_by_text("Not saved")).to_be_visible()
    expect(custom).to_contain_text(
        "The timer 'SLA P14D' reads the user-defined field 'wait': 'P2000000Y' is longer than ten years.")
    expect(custom.get_by_label("Wait")).to_have_value("P2000000Y")
    page.screenshot(path=str(tmp_path / "timer-field-refused-phone.png"), full_page=True)

    custom.get_by_label("Wait").fill("P5D")
    custom.get_by_role("button", name="Save user-defined fields").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.reload()
    page.get_by_role("tab", name="User defined").click()
    expect(page.get_by_role("tabpanel", name="User defined")).to_contain_text("P5D")
    assert [e for e in rep.errors if e.startswith("pageerror")] == []
