"""Values for people in Chromium: the deal list, the board and the deal page show money with its currency and
statuses and stages as badges by their labels, at desktop and phone size."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.deals import make_deal

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", [{"width": 1366, "height": 850}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_a_rep_reads_money_statuses_and_stages_in_words(sessions, live_server, tmp_path, size):
    deal = make_deal(live_server, "Boiler replacement")
    rep = sessions.new()
    page = rep.login("rep@x.test")
    page.set_viewport_size(size)

    page.goto("/opportunities?all=1")
    row = page.get_by_role("row", name="Boiler replacement")
    expect(row.locator(".badge-in-progress")).to_have_text("in progress")
    expect(row.locator(".badge-stage")).to_have_text("Lead")
    expect(row).to_contain_text("$50,000.00")
    expect(row).not_to_contain_text("50000.00")

    page.goto("/pipeline?kind=standard-sale&currency=USD")
    card = page.locator('section.column[data-stage="lead"] article', has_text="Boiler replacement")
    expect(card).to_contain_text("$50,000.00 · 10%")
    expect(page.locator('section.column[data-stage="lead"] .totals')).to_contain_text("$50,000.00 · weighted $5,000.00")

    page.goto(f"/opportunities/{deal}")
    expect(page.locator("#amount")).to_have_text("$50,000.00")
    expect(page.locator("#status .badge")).to_have_text("in progress")
    expect(page.locator("#stage .badge")).to_have_text("Lead")
    expect(page.locator("#status .badge")).to_be_visible()
    page.screenshot(path=str(tmp_path / f"values-{size['width']}.png"), full_page=True)
    rep.assert_no_console_errors()
