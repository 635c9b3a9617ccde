"""Issue #13 items 3, 5 and 7 in Chromium: the board's cards say what needs attention (with a legend), a rep sees
their own deals first and can ask for everyone's, a refused drop leaves the card where it was and names the deal,
a card moves by keyboard (its "Move to…" opens the board's one shared dialog), and on a phone the board is one list
per stage with a "Move to…" on each card."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.test_journeys import STAGE_API, _card, _column

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _deal(live_server, title: str, rep: str = "rep", **extra) -> str:
    """A standard-sale deal in Lead for `rep` (a role of the live server's people, or an e-mail to make a rep);
    returns its number."""
    from som_flow.extensions import db
    from som_flow.models import Customer, User
    from som_flow.services import opportunities, users

    app, _, people = live_server
    with app.app_context():
        rep_id = people.get(rep) or users.create_user(rep, rep.split("@")[0].title(), ["rep"]).id
        csr = db.session.get(User, people["csr"])
        customer = db.session.query(Customer).filter_by(name="Northwind Traders").one()
        opp = opportunities.create_opportunity(csr, {"title": title, "customer_id": customer.id,
                                                     "kind": "standard-sale", "amount": Decimal("50000.00"),
                                                     "sales_rep": rep_id, **extra})
        number = opp.number
        db.session.remove()
    return number


def _lead_work_done(live_server, number: str) -> None:
    """Do the deal's required Lead tasks, as the rep would, so the process lets it move on."""
    from som_flow.extensions import db
    from som_flow.models import Opportunity, User
    from som_flow.services import opportunities

    app, _, people = live_server
    with app.app_context():
        manager = db.session.get(User, people["manager"])
        opp = db.session.query(Opportunity).filter_by(number=number).one()
        for task in [t for t in opportunities.open_tasks(opp) if t.required and not t.gate]:
            opportunities.complete_task(manager, task.id, {f: "yes" for f in task.form})
        db.session.remove()


def test_a_rep_sees_what_needs_attention_asks_for_everyones_deals_and_a_refused_drop_names_the_deal(sessions,
                                                                                                   live_server):
    late = _deal(live_server, "Roof repair", anticipated_close_date=date.today() - timedelta(days=3))
    _deal(live_server, "Fence", anticipated_close_date=date.today() + timedelta(days=30))
    _deal(live_server, "Someone else's barn", rep="other@x.test")
    rep = sessions.new()
    rep.page.set_viewport_size({"width": 1366, "height": 850})
    page = rep.login("rep@x.test")
    page.goto("/pipeline?kind=standard-sale")

    # the rep's own deals first, and the choice is in the URL so it can be bookmarked
    whose = page.get_by_role("navigation", name="Whose deals")
    expect(whose.get_by_role("link", name="Mine")).to_have_attribute("aria-current", "true")
    expect(_card(page, "lead", "Roof repair")).to_be_visible()
    expect(page.locator(".card-item", has_text="Someone else's barn")).to_have_count(0)
    whose.get_by_role("link", name="All").click()
    expect(page).to_have_url(re.compile(r"who=all"))
    expect(_card(page, "lead", "Someone else's barn")).to_be_visible()
    expect(_card(page, "lead", "Someone else's barn").get_by_role("combobox")).to_have_count(0)  # not the rep's
    whose.get_by_role("link", name="Mine").click()

    # the overdue deal says so in words, and the legend tells what each word means
    expect(_card(page, "lead", "Roof repair").get_by_role("listitem").filter(has_text="Overdue")).to_be_visible()
    expect(_card(page, "lead", "Fence")).not_to_contain_text("Overdue")
    page.get_by_text("What the signals mean").click()
    expect(page.locator(".legend")).to_contain_text("Its anticipated close date has passed.")
    with page.expect_navigation():
        page.get_by_label("Show only").select_option(label="Overdue")
    expect(page.locator(".card-item")).to_have_count(1)
    expect(_column(page, "lead").locator(".count")).to_have_text("1")
    assert "only=overdue" in page.url and "who=mine" in page.url

    # a drop the process refuses: the card stays in Lead and the message names the deal and the stage
    message = page.locator("#board-message")
    with page.expect_response(STAGE_API) as refused:
        _card(page, "lead", "Roof repair").drag_to(_column(page, "proposal"))
    assert refused.value.status == 409
    expect(message).to_contain_text(f"Could not move {late} Roof repair to Proposal:")
    expect(message).to_have_attribute("aria-live", "assertive")
    expect(_card(page, "lead", "Roof repair")).to_be_visible()
    expect(_column(page, "proposal").locator(".card-item")).to_have_count(0)
    rep.assert_no_console_errors(r"status of 409 .* at \S+/stage$")


def test_a_card_moves_to_the_next_stage_by_keyboard_alone(sessions, live_server):
    number = _deal(live_server, "Boiler")
    _lead_work_done(live_server, number)
    rep = sessions.new()
    page = rep.login("rep@x.test")
    page.goto("/pipeline?kind=standard-sale")
    card = _card(page, "lead", "Boiler")
    card.get_by_role("link", name="Boiler").focus()
    page.keyboard.press("Tab")  # to its "Move to…" button, which opens the board's one "Move to" dialog
    opener = card.get_by_role("button", name=f"Move to… {number} Boiler")
    expect(opener).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=f"Move {number} Boiler to")
    move_to = dialog.get_by_label("Stage")
    expect(move_to).to_be_focused()
    expect(move_to).to_have_value("qualification")
    expect(move_to.locator("option")).to_have_count(1)  # only where its process lets it go
    page.keyboard.press("Escape")  # changed my mind: nothing moves, and I am back on the card's button
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    expect(_card(page, "lead", "Boiler")).to_be_visible()
    page.keyboard.press("Enter")
    expect(move_to).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Move", exact=True)).to_be_focused()
    with page.expect_navigation():  # the board reloads with the card in its new column
        page.keyboard.press("Enter")
    expect(_card(page, "qualification", "Boiler")).to_be_visible()
    expect(_column(page, "lead").locator(".card-item")).to_have_count(0)
    rep.assert_no_console_errors()


def test_on_a_phone_the_board_is_a_list_per_stage_and_a_deal_moves_with_move_to(sessions, live_server, tmp_path):
    _lead_work_done(live_server, _deal(live_server, "Kitchen"))
    rep = sessions.new()
    rep.page.set_viewport_size(PHONE)
    page = rep.login("rep@x.test")
    page.goto("/pipeline?kind=standard-sale")
    lead, qualification = _column(page, "lead"), _column(page, "qualification")
    expect(lead.get_by_role("heading", name=re.compile("Lead"))).to_be_visible()
    expect(lead.locator(".count")).to_have_text("1")
    lead_box, next_box = lead.bounding_box(), qualification.bounding_box()
    assert next_box["y"] > lead_box["y"] + lead_box["height"] - 1  # stages one under another, not side by side
    assert lead_box["x"] >= 0 and lead_box["x"] + lead_box["width"] <= PHONE["width"]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    page.screenshot(path=str(tmp_path / "board-phone.png"), full_page=True)

    card = _card(page, "lead", "Kitchen")
    card.get_by_role("button", name=re.compile("^Move to…")).click()
    dialog = page.get_by_role("dialog", name=re.compile("Kitchen to$"))
    dialog.get_by_label("Stage").select_option(label="Qualification")
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # the dialog fits the phone
    with page.expect_navigation():
        dialog.get_by_role("button", name="Move", exact=True).click()
    expect(_card(page, "qualification", "Kitchen")).to_be_visible()
    expect(qualification.locator(".count")).to_have_text("1")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    rep.assert_no_console_errors()


def test_without_javascript_move_to_goes_through_the_deal_pages_move_and_back_to_the_board(sessions, live_server):
    number = _deal(live_server, "Gutters")
    _lead_work_done(live_server, number)
    page = sessions.new(scripts=False).login("rep@x.test")
    page.goto("/pipeline?kind=standard-sale")
    expect(page.locator("#move-dialog")).to_be_hidden()  # the shared dialog needs scripts: a link instead
    _card(page, "lead", "Gutters").get_by_role("link", name=f"Move to… {number} Gutters").click()
    move = page.locator("#stage-move")  # the deal page's own "Move to"
    move.get_by_label("Move to").select_option(label="Qualification")
    move.get_by_role("button", name="Move").click()
    expect(page).to_have_url(re.compile(r"/pipeline\?kind=standard-sale$"))  # back to the board it came from
    expect(_card(page, "qualification", "Gutters")).to_be_visible()
    expect(_column(page, "lead").locator(".card-item")).to_have_count(0)
