"""Issue #17 in Chromium: a long board column draws its first 20 cards and "Show more" adds the next 20, which move
like the first ones (dragged on a desktop, "Move to…" on a phone); without JavaScript the button is not there and
the link to the list is."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.deals import make_deal
from tests.browser.test_journeys import STAGE_API, _card, _column

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
MORE_CARDS = re.compile(r"/pipeline/cards\?")


def _lead_of_45(live_server) -> None:
    # "Deal 029" is the one the process lets move on: its rep has contacted the prospect
    for n in range(45):
        make_deal(live_server, f"Deal {n:03d}", contacted=n == 29)


@pytest.mark.parametrize("size", SIZES)
def test_a_manager_shows_more_of_a_long_column_and_moves_a_card_that_came_with_it(sessions, live_server, tmp_path,
                                                                                  size):
    _lead_of_45(live_server)
    manager = sessions.new()
    manager.page.set_viewport_size(SIZES[size])
    page = manager.login("manager@x.test")
    page.goto("/pipeline?kind=standard-sale&currency=USD")
    lead = _column(page, "lead")
    cards = lead.locator("article.card-item")
    expect(cards).to_have_count(20)
    expect(lead.locator(".totals")).to_contain_text("45 · $2,250,000.00")
    more = lead.get_by_role("button", name="Show more")
    expect(more).to_be_visible()
    expect(lead.get_by_role("link", name="25 more in the list")).to_be_visible()

    with page.expect_response(MORE_CARDS):
        more.click()
    expect(cards).to_have_count(40)
    expect(lead.get_by_role("link", name="Deal 020", exact=True)).to_be_focused()  # on to the first new card
    expect(page.locator("#board-status")).to_have_text("20 more cards shown")
    expect(lead.get_by_role("link", name="5 more in the list")).to_be_visible()
    expect(cards.nth(39)).to_contain_text("Deal 039")  # in order, above the column's foot
    more.click()
    expect(cards).to_have_count(45)
    expect(more).to_be_hidden()  # the whole column is on the board
    expect(lead.locator(".column-foot")).to_be_hidden()
    expect(page.locator("#board-status")).to_have_text("5 more cards shown")
    expect(cards.last).to_contain_text("Deal 044")
    expect(lead.locator(".totals")).to_contain_text("45 · $2,250,000.00")
    page.screenshot(path=str(tmp_path / f"board-more-{size}.png"), full_page=True)
    if size == "phone":
        assert page.evaluate("document.scrollingElement.scrollWidth") <= SIZES["phone"]["width"]

    # a card that came with "Show more" moves like the first ones: dragged, or through its "Move to…"
    appended = _card(page, "lead", "Deal 029")
    with page.expect_navigation():  # pipeline.js reloads the board after an accepted move
        with page.expect_response(STAGE_API) as moved:
            if size == "desktop":  # dropped beside it: the columns are as tall as the longest
                appended.scroll_into_view_if_needed()
                target = _column(page, "qualification")
                beside = appended.bounding_box()["y"] - target.bounding_box()["y"] + 10
                appended.drag_to(target, target_position={"x": 20, "y": beside})
            else:
                appended.get_by_role("button", name=re.compile("^Move to…")).click()
                dialog = page.get_by_role("dialog", name=re.compile("Deal 029 to$"))
                dialog.get_by_label("Stage").select_option(label="Qualification")
                dialog.get_by_role("button", name="Move", exact=True).click()
        assert moved.value.status == 200, moved.value.text()
    expect(_card(page, "qualification", "Deal 029")).to_be_visible()
    expect(lead.locator(".count")).to_have_text("44")
    manager.assert_no_console_errors()


def test_without_javascript_there_is_no_show_more_and_the_link_leads_to_the_list(sessions, live_server):
    _lead_of_45(live_server)
    page = sessions.new(scripts=False).login("manager@x.test")
    page.goto("/pipeline?kind=standard-sale&currency=USD")
    lead = _column(page, "lead")
    expect(lead.locator("article.card-item")).to_have_count(20)
    expect(lead.locator("button.show-more")).to_be_hidden()
    lead.get_by_role("link", name="25 more in the list").click()
    expect(page.locator("#list-count")).to_contain_text("45 found")
    assert "stage=lead" in page.url and "status=open" in page.url


def test_a_stageless_kinds_list_shows_more_in_the_list_itself(sessions, live_server):
    from decimal import Decimal

    from som_flow.extensions import db
    from som_flow.models import Customer, User
    from som_flow.services import opportunities

    app, _, people = live_server
    with app.app_context():
        csr = db.session.get(User, people["csr"])
        customer = db.session.query(Customer).filter_by(name="Northwind Traders").one()
        for n in range(22):
            opportunities.create_opportunity(csr, {"title": f"Call {n:02d}", "customer_id": customer.id,
                                                   "kind": "stageless", "amount": Decimal("10.00")})
        db.session.remove()
    manager = sessions.new()
    page = manager.login("manager@x.test")
    page.goto("/pipeline?kind=stageless")
    cards = page.locator(".stageless .deal-list article.card-item")
    expect(cards).to_have_count(20)
    page.get_by_role("button", name="Show more").click()
    expect(cards).to_have_count(22)
    expect(cards.last).to_contain_text("Call 21")
    expect(page.get_by_role("link", name="Call 20", exact=True)).to_be_focused()
    expect(page.get_by_role("button", name="Show more")).to_be_hidden()
    manager.assert_no_console_errors()
