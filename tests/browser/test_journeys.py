"""Browser journeys through Debian's Chromium: log in, create a deal, work the tasks, drag cards on the board."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.deals import make_deal

pytestmark = pytest.mark.browser

STAGE_API = re.compile(r"/api/v1/opportunities/\d+/stage$")


def _column(page, stage: str):
    return page.locator(f'.column[data-stage="{stage}"]')


def _card(page, stage: str, title: str):
    return _column(page, stage).locator(".card-item", has_text=title)


def test_a_wrong_password_is_refused_and_the_right_one_opens_the_opportunities(sessions):
    me = sessions.new()
    page = me.login("csr@x.test", "wrong-password")
    expect(page.get_by_role("status")).to_have_text("Wrong e-mail or password.")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    me.login("csr@x.test")
    expect(page).to_have_url(re.compile(r"/opportunities$"))
    expect(page.get_by_role("heading", name="Opportunities")).to_be_visible()
    expect(page.locator("header .who")).to_have_text("Csr")
    # the refused login answers 401; the browser reports that status, nothing else may go wrong
    me.assert_no_console_errors(r"status of 401 .* at \S+/login$")


def test_the_office_enters_a_deal_and_the_rep_works_it_to_qualification_on_the_board(sessions):
    office = sessions.new()
    page = office.login("csr@x.test")
    page.get_by_role("link", name="New opportunity").click()
    expect(page.get_by_role("heading", name="New opportunity")).to_be_visible()
    page.get_by_label("Title").fill("Boiler replacement")
    page.get_by_label("Customer").fill("Northwind Traders")  # the customer picker: a typed name is enough
    page.get_by_label("Kind").select_option(label="Standard sale")
    page.get_by_label("Sales rep").select_option(label="Rep")
    page.get_by_label("Amount").fill("12500")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_contain_text("created.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Boiler replacement")
    expect(page.locator("#stage")).to_have_text("Lead")
    expect(page.locator("#probability")).to_have_text("10%")

    page.get_by_role("link", name="Opportunities").click()
    row = page.locator("table.list tbody tr", has_text="Boiler replacement")
    expect(row).to_contain_text("Lead")
    expect(row).to_contain_text("Rep")

    # the deal came with its rep: the office's "Assign a sales rep" is done by that, nothing waits in its pool
    page.get_by_role("link", name="My tasks").click()
    expect(page.locator("#pool")).not_to_contain_text("Boiler replacement")

    rep = sessions.new()
    page = rep.login("rep@x.test")
    page.get_by_role("link", name="My tasks").click()
    contact = page.locator("#my-tasks tr", has_text="Contact the prospect")
    expect(contact).to_contain_text("Boiler replacement")
    contact.get_by_role("button", name="Done").click()
    expect(page.get_by_role("status")).to_have_text("Task done.")
    expect(page.locator("#my-tasks")).not_to_contain_text("Contact the prospect")

    page.get_by_role("link", name="Pipeline").click()
    with page.expect_navigation():
        page.get_by_label("Kind").select_option(label="Standard sale")
    card = _card(page, "lead", "Boiler replacement")
    expect(card).to_contain_text("10%")
    with page.expect_navigation():  # pipeline.js reloads the board after an accepted move
        with page.expect_response(STAGE_API) as moved:
            card.drag_to(_column(page, "qualification"))
        assert moved.value.status == 200, moved.value.text()
    page.reload()
    expect(_card(page, "qualification", "Boiler replacement")).to_contain_text("20%")
    expect(_card(page, "lead", "Boiler replacement")).to_have_count(0)
    expect(_column(page, "qualification").locator(".count")).to_have_text("1")

    _card(page, "qualification", "Boiler replacement").get_by_role("link").click()
    expect(page.locator("#stage")).to_have_text("Qualification")
    expect(page.locator("ol.history")).to_contain_text("Moved from Lead to Qualification")

    office.assert_no_console_errors()
    rep.assert_no_console_errors()


def test_dragging_a_lead_straight_to_proposal_snaps_back_with_the_reason(sessions, live_server):
    make_deal(live_server, "CRM licenses")
    rep = sessions.new()
    page = rep.login("rep@x.test")
    page.goto("/pipeline?kind=standard-sale")
    message = page.locator("#board-message")
    expect(message).to_be_hidden()

    with page.expect_response(STAGE_API) as refused:
        _card(page, "lead", "CRM licenses").drag_to(_column(page, "proposal"))
    assert refused.value.status == 409
    expect(message).to_be_visible()
    expect(message).to_contain_text("Qualification")
    expect(_card(page, "lead", "CRM licenses")).to_be_visible()
    expect(_card(page, "proposal", "CRM licenses")).to_have_count(0)

    page.reload()
    expect(_card(page, "lead", "CRM licenses")).to_be_visible()
    expect(_column(page, "proposal").locator(".card-item")).to_have_count(0)
    rep.assert_no_console_errors(r"status of 409 .* at \S+/stage$")


def test_the_pages_a_manager_visits_raise_no_console_errors(sessions, live_server):
    opp_id = make_deal(live_server, "Fleet tracking")
    manager = sessions.new()
    page = manager.login("manager@x.test")
    expect(page.get_by_role("heading", name="Opportunities")).to_be_visible()
    expect(page.locator("table.list")).to_contain_text("Fleet tracking")

    page.goto("/opportunities/new")
    expect(page.get_by_role("heading", name="New opportunity")).to_be_visible()
    page.goto(f"/opportunities/{opp_id}")
    expect(page.locator("#stage")).to_have_text("Lead")
    page.goto("/tasks")
    expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
    page.goto("/notifications")
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()

    page.goto("/pipeline?kind=standard-sale")
    expect(_card(page, "lead", "Fleet tracking")).to_be_visible()
    with page.expect_navigation():
        page.get_by_label("Kind").select_option(label="Service contract")
    expect(page).to_have_url(re.compile(r"kind=service-contract"))
    expect(page.locator(".card-item")).to_have_count(0)
    manager.assert_no_console_errors()
