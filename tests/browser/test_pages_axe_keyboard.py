"""Escape closes every kind of menu and dialog and gives focus back to what opened it: the deal's dialogs (each
one), a list row's "⋯" menu, the board's "Move to" dialog, the schedule's Actions, an edit form shown in place, the
bell and, on a phone, the header's Menu. axe finds no serious or critical violation while each is open."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.axe_walk import DESKTOP, PHONE, axe_problems, log_in, new_context, pages_by_role

pytestmark = pytest.mark.browser


def _escape_returns_focus(page, opener, opened, name: str) -> list[str]:
    """Open with the opener, check the open thing with axe, press Escape: it closes and the opener has focus."""
    opener.click()
    expect(opened).to_be_visible()
    problems = axe_problems(page, name)
    page.keyboard.press("Escape")
    expect(opened).to_be_hidden()
    expect(opener).to_be_focused()
    return problems


def _show_tab_holding(page, element) -> None:
    """Choose the deal page's tab whose panel holds the element (the other panels are hidden)."""
    panel_id = element.evaluate("(el) => el.closest('[role=tabpanel]')?.id || ''")
    if panel_id:
        page.locator(f"[role=tab][aria-controls='{panel_id}']").click()


@pytest.fixture
def admin_page(browser, live_server):
    _, base_url, _ = live_server
    paths = pages_by_role(live_server)["rep"]
    context = new_context(browser, base_url, "en", DESKTOP)
    page = context.new_page()
    log_in(page, "admin@x.test")
    yield page, paths
    context.close()


def test_escape_closes_each_dialog_and_menu_and_focus_returns_to_its_opener(admin_page, live_server):
    page, paths = admin_page
    deal = next(p for p in paths if p.startswith("/opportunities/") and p[len("/opportunities/"):].isdigit())
    problems: list[str] = []

    # every dialog of the deal page (Won…, Lost…, Hold…, New estimate…, Add a partner…), on whichever tab it is
    page.goto(deal)
    openers = page.locator("button[aria-haspopup=dialog]")
    assert openers.count() >= 5, "the deal page's dialogs are missing"
    for i in range(openers.count()):
        opener = openers.nth(i)
        _show_tab_holding(page, opener)
        name = opener.inner_text()
        dialog = page.locator("dialog.action-dialog[open]")
        opener.click()
        expect(dialog).to_have_count(1)
        problems += axe_problems(page, f"deal dialog {name}")
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)
        expect(opener).to_be_focused()

    # an edit form shown in place (a <details>): Escape from inside it folds it and focus goes to its summary
    page.locator("#tab-info").click()
    edit = page.locator("#panel-info details.edit").first
    summary = edit.locator("summary")
    summary.click()
    edit.locator("input:visible, select:visible, textarea:visible").first.focus()
    page.keyboard.press("Escape")
    expect(edit).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()

    # the bell's list
    problems += _escape_returns_focus(page, page.locator("#bell summary"), page.locator("#bell .bell-menu"), "bell")

    # a row's "⋯" menu on the opportunity list, also when focus has moved into the menu
    page.goto("/opportunities")
    row_menu = page.locator("details.row-menu").first
    problems += _escape_returns_focus(page, row_menu.locator("summary"), row_menu.locator(".menu"), "row menu")
    row_menu.locator("summary").click()
    row_menu.locator(".menu a").first.focus()
    page.keyboard.press("Escape")
    expect(row_menu.locator(".menu")).to_be_hidden()
    expect(row_menu.locator("summary")).to_be_focused()
    # the list's one "Mark lost" dialog, opened from a row menu's "Mark lost"
    losable = page.locator("details.row-menu", has=page.locator("button.lose-open")).first
    losable.locator("summary").click()
    problems += _escape_returns_focus(page, losable.locator("button.lose-open"), page.locator("#lose-dialog"),
                                      "list's Mark lost dialog")

    # the board's one "Move to" dialog, opened from a card's "Move to…"
    page.goto("/pipeline")
    problems += _escape_returns_focus(page, page.locator("button.move-open").first, page.locator("#move-dialog"),
                                      "board's Move to dialog")

    # the schedule's Actions of an appointment
    page.goto("/schedule")
    actions = page.locator("main details:not(.bell)", has=page.locator("summary", has_text="Actions")).first
    problems += _escape_returns_focus(page, actions.locator("summary"), actions.locator("form").first,
                                      "schedule actions")

    # on a phone, the header's Menu
    page.set_viewport_size(PHONE)
    page.goto("/tasks")
    problems += _escape_returns_focus(page, page.locator(".menu-toggle"), page.locator("#main-menu"), "phone menu")
    # a customer's pop-up note (shown open, not modal, on the customer's page) closes with Escape too
    page.set_viewport_size(DESKTOP)
    customer = next(p for p in paths if p.startswith("/customers/") and p[len("/customers/"):].isdigit())
    _flag_popup_note(live_server, int(customer.rsplit("/", 1)[1]))
    page.goto(customer)
    note = page.locator("dialog#popup-note")
    expect(note).to_be_visible()
    problems += axe_problems(page, "customer pop-up note")
    page.keyboard.press("Escape")
    expect(note).to_be_hidden()
    assert not problems, "\n".join(problems)


def _flag_popup_note(live_server, customer_id: int) -> None:
    from som_flow.extensions import db
    from som_flow.models import User
    from som_flow.services import customers

    app, _, people = live_server
    with app.app_context():
        admin = db.session.get(User, people["admin"])
        customers.update_customer(admin, customer_id, {"popup_notes": "Call before noon.", "popup_on_open": True})
        db.session.remove()
