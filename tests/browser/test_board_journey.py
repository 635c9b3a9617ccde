"""The pipeline board in Chromium with a long column: a manager sees the first 20 cards of Lead, the column's count
and total over all 53 deals, and follows "33 more in the list" to the list of those deals (tests/browser/
test_board_more_journey.py adds them to the board instead)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.deals import make_deal

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", SIZES)
def test_a_manager_sees_the_first_20_cards_of_a_long_column_and_reaches_the_rest(sessions, live_server, tmp_path,
                                                                                size):
    for n in range(53):
        make_deal(live_server, f"Deal {n:03d}")
    manager = sessions.new()
    manager.page.set_viewport_size(SIZES[size])
    page = manager.login("manager@x.test")
    page.goto("/pipeline?kind=standard-sale&currency=USD")
    lead = page.locator('section.column[data-stage="lead"]')
    expect(lead.locator("article.card-item")).to_have_count(20)
    expect(lead.locator(".totals")).to_contain_text("53 · $2,650,000.00")  # every deal counted and summed
    expect(lead.get_by_role("link", name="Deal 000")).to_be_visible()  # oldest first
    page.screenshot(path=str(tmp_path / f"board-{size}.png"), full_page=True)

    lead.get_by_role("link", name="33 more in the list").click()
    expect(page.locator("#list-count")).to_contain_text("53 found")
    assert "stage=lead" in page.url and "status=open" in page.url and "kind=standard-sale" in page.url
    expect(page.locator("#opportunity-list tbody tr").first).to_contain_text("Deal 052")
    manager.assert_no_console_errors()
