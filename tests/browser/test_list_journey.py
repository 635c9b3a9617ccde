"""The opportunity list in Chromium: typing filters the list without a reload; a bulk action reports per row."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.deals import make_deal

pytestmark = pytest.mark.browser


def test_typing_filters_the_list_and_bulk_hold_reports_each_row(sessions, live_server, tmp_path):
    for title in ("CRM licenses", "Boat sensors", "Support plan"):
        make_deal(live_server, title)
    csr = sessions.new()
    page = csr.login("csr@x.test")
    page.goto("/opportunities")
    rows = page.locator("#opportunity-list tbody tr")
    expect(rows).to_have_count(3)
    page.evaluate("window.__same_page = true")  # gone if the page reloaded

    page.get_by_label("Search", exact=True).press_sequentially("sens", delay=30)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Boat sensors")
    expect(page.locator("#list-count")).to_have_text("1 found")
    assert page.evaluate("window.__same_page === true")
    assert "q=sens" in page.url

    page.get_by_label("Search", exact=True).fill("")
    page.get_by_label("Search", exact=True).press("Backspace")
    expect(rows).to_have_count(3)
    for title in ("Boat sensors", "Support plan"):
        page.get_by_role("row", name=title).get_by_role("checkbox").check()
    page.get_by_label("Do").select_option("hold")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_contain_text("Put on hold: 2 done, 0 refused.")
    expect(page.get_by_role("row", name="Boat sensors")).to_contain_text("on hold")
    expect(page.get_by_role("row", name="CRM licenses")).to_contain_text("in progress")
    page.screenshot(path=str(tmp_path / "opportunity-list.png"), full_page=True)
    csr.assert_no_console_errors()
