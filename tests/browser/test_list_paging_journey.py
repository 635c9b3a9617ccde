"""The opportunity list in Chromium reaches every row: a rep lands on their open deals, pages to the second page
of 150 with the filter kept, and uses a row's "⋯" menu (opened by a right-click) without leaving the list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.deals import make_deal

pytestmark = pytest.mark.browser


SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", SIZES)
def test_a_rep_pages_to_the_second_page_of_150_deals_and_holds_one_from_its_menu(sessions, live_server, tmp_path,
                                                                                size):
    ids = [make_deal(live_server, f"Deal {n:03d}") for n in range(150)]
    rep = sessions.new()
    rep.page.set_viewport_size(SIZES[size])
    page = rep.login("rep@x.test")
    page.goto("/opportunities")
    expect(page.get_by_role("heading", name="My open deals")).to_be_visible()
    rows = page.locator("#opportunity-list tbody tr")
    expect(rows).to_have_count(50)
    expect(page.locator("#page-of")).to_have_text("Page 1 of 3")
    expect(page.locator("#list-count")).to_contain_text("150 found")
    expect(rows.first).to_contain_text("Deal 149")  # newest first

    page.get_by_role("link", name="Next ›").click()
    expect(page.locator("#page-of")).to_have_text("Page 2 of 3")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("Deal 099")
    expect(rows.last).to_contain_text("Deal 050")
    assert "page=2" in page.url and "assignee=me" in page.url and "status=open" in page.url
    page.screenshot(path=str(tmp_path / f"list-page-2-{size}.png"), full_page=True)

    # a right-click on a row (on a phone: its "⋯") opens its quick actions; holding comes back to this same page
    row = page.locator(f'tr[data-id="{ids[80]}"]')
    if size == "phone":
        row.get_by_label(f"Actions for {row.locator('td').nth(1).inner_text()}").click()
    else:
        row.locator("td").nth(3).click(button="right")
    menu = row.locator("details.row-menu .menu")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("button", name="Move to Qualification")).to_be_visible()
    menu.get_by_role("button", name="Hold").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.locator("#page-of")).to_have_text("Page 2 of 3")
    expect(page.locator(f'tr[data-id="{ids[80]}"]')).to_contain_text("on hold")

    page.get_by_role("link", name="Previous").click()
    expect(page.locator("#page-of")).to_have_text("Page 1 of 3")
    page.get_by_role("link", name="Show everyone's deals").click()
    expect(page.get_by_role("heading", name="Opportunities")).to_be_visible()
    rep.assert_no_console_errors()


def test_the_office_holds_every_deal_of_a_filter_not_only_the_first_page(sessions, live_server):
    for n in range(60):
        make_deal(live_server, f"Boat {n:02d}")
    make_deal(live_server, "Crane")
    csr = sessions.new()
    page = csr.login("csr@x.test")
    page.goto("/opportunities?per_page=25")
    page.get_by_label("Search", exact=True).press_sequentially("boat", delay=20)
    expect(page.locator("#list-count")).to_have_text("60 found")
    expect(page.locator("#page-of")).to_have_text("Page 1 of 3")
    page.get_by_label("all 60 matching this filter").check()
    page.get_by_label("Do").select_option("hold")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_contain_text("Put on hold: 60 done, 0 refused.")
    page.goto("/opportunities?status=on_hold&per_page=100")
    expect(page.locator("#list-count")).to_have_text("60 found")
    page.goto("/opportunities?q=crane")
    expect(page.locator("#opportunity-list tbody tr").first).to_contain_text("in progress")
    csr.assert_no_console_errors()
