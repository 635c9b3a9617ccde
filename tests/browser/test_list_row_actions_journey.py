"""The opportunity list's row menu in Chromium: a manager uses every row action — assign to me, claim, move to the
next stage, hold, and "Mark lost" through the one shared dialog — and each comes back to the list it was chosen on,
at desktop and phone size; with JavaScript off the same buttons work and "Mark lost" goes through the deal page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.deals import make_deal

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _menu(page, deal: int):
    """The deal's row menu, opened by its "⋯" (named "Actions for <number>")."""
    row = page.locator(f'tr[data-id="{deal}"]')
    row.get_by_label(f"Actions for {row.get_attribute('data-number')}").click()
    menu = row.locator("details.row-menu .menu")
    expect(menu).to_be_visible()
    return row, menu


@pytest.mark.parametrize("size", SIZES)
def test_a_manager_uses_every_row_action_and_stays_on_the_list(sessions, live_server, tmp_path, size):
    theirs = make_deal(live_server, "Boat theirs")
    free = make_deal(live_server, "Boat free", rep=False)
    ready = make_deal(live_server, "Boat ready", contacted=True)
    losing = make_deal(live_server, "Boat losing")
    make_deal(live_server, "Crane elsewhere")
    manager = sessions.new()
    manager.page.set_viewport_size(SIZES[size])
    page = manager.login("manager@x.test")
    page.goto("/opportunities")
    # search as you type: the actions then come back to the filtered list, not the one first loaded
    page.get_by_label("Search", exact=True).press_sequentially("boat", delay=20)
    expect(page.locator("#list-count")).to_have_text("4 found")
    page.wait_for_function("location.search.includes('q=boat')")

    def saved(deal: int, text: str) -> None:
        expect(page.get_by_role("status")).to_contain_text("Saved.")
        expect(page.locator("#list-count")).to_have_text("4 found")  # still the filtered list
        assert "q=boat" in page.url
        expect(page.locator(f'tr[data-id="{deal}"]')).to_contain_text(text)

    # another rep's deal: assigned to me
    _, menu = _menu(page, theirs)
    menu.get_by_role("button", name="Assign to me").click()
    saved(theirs, "Manager")
    # a free deal: claimed
    _, menu = _menu(page, free)
    menu.get_by_role("button", name="Assign to me").click()
    saved(free, "Manager")
    # the next stage its process allows
    _, menu = _menu(page, ready)
    menu.get_by_role("button", name="Move to Qualification").click()
    saved(ready, "Qualification")
    # on hold
    _, menu = _menu(page, theirs)
    menu.get_by_role("button", name="Hold").click()
    saved(theirs, "on hold")
    _, menu = _menu(page, theirs)
    expect(menu.get_by_role("button", name="Hold")).to_have_count(0)

    # "Mark lost": the one dialog, named for the deal; Escape closes it and focus goes back to the row's item
    row, menu = _menu(page, losing)
    number = row.get_attribute("data-number")
    opener = menu.get_by_role("button", name="Mark lost")
    opener.click()
    dialog = page.get_by_role("dialog", name=f"Mark {number} lost")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    opener.click()
    expect(dialog).to_be_visible()
    dialog.get_by_label("Lost reason").select_option(label="Chose a competitor")
    dialog.get_by_label("Explanation").fill("They went with the cheaper boat.")
    page.screenshot(path=str(tmp_path / f"list-lose-dialog-{size}.png"), full_page=True)
    dialog.get_by_role("button", name="Mark lost").click()
    saved(losing, "lost")
    row, menu = _menu(page, losing)  # a closed deal: only Open is left
    expect(menu.get_by_role("button")).to_have_count(0)
    expect(menu.get_by_role("link", name="Open")).to_be_visible()
    manager.assert_no_console_errors()

    from som_flow.extensions import db
    from som_flow.models import Opportunity
    with live_server[0].app_context():
        lost = db.session.get(Opportunity, losing)
        assert (lost.status, lost.reason) == ("lost", "competitor")
        assert lost.explanation == "They went with the cheaper boat."
        db.session.remove()


def test_without_javascript_the_row_buttons_work_and_mark_lost_goes_through_the_deal_page(sessions, live_server):
    held = make_deal(live_server, "Boat held")
    losing = make_deal(live_server, "Boat losing")
    rep = sessions.new(scripts=False)
    page = rep.login("rep@x.test")
    page.goto("/opportunities?q=boat")
    expect(page.locator("#list-count")).to_have_text("2 found")

    _, menu = _menu(page, held)  # a <details>: it opens without scripts
    menu.get_by_role("button", name="Hold").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    assert page.url.endswith("/opportunities?q=boat")
    expect(page.locator(f'tr[data-id="{held}"]')).to_contain_text("on hold")

    row, menu = _menu(page, losing)
    number = row.get_attribute("data-number")
    menu.get_by_role("link", name="Mark lost").click()
    # the deal page, its "Mark lost" form already open
    expect(page.get_by_role("heading", name=f"Mark {number} lost")).to_be_visible()
    form = page.locator('details[data-dialog="lose"] form')
    form.get_by_label("Lost reason").select_option("price")
    form.get_by_role("button", name="Mark lost").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    assert page.url.endswith("/opportunities?q=boat")
    expect(page.locator(f'tr[data-id="{losing}"]')).to_contain_text("lost")
