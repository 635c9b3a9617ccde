"""Generated work follows the people, in the browser: the office assigns a rep on the deal page, the office's own
"Assign a sales rep" is done by that, and the rep (on a phone) moves the deal after doing only the rep's tasks,
then answers the yes/no qualification on the task list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import follow_menu_link

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def qualification_question(live_server):
    from som_flow.extensions import db
    from som_flow.services import catalogs

    app, _, _ = live_server
    with app.app_context():
        catalogs.create_question("qualified", "qualification", "Is the prospect qualified?", required=True)
        db.session.remove()


def test_the_office_assigns_a_rep_and_the_rep_moves_the_deal_after_only_the_reps_own_tasks(
        sessions, qualification_question):
    office = sessions.new()
    page = office.login("csr@x.test")
    page.get_by_role("link", name="New opportunity").click()
    page.get_by_label("Title").fill("Heat pump")
    page.get_by_label("Customer").fill("Northwind Traders")  # the customer picker: a typed name is enough
    page.get_by_label("Kind").select_option(label="Standard sale")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#sales-rep")).to_have_text("unassigned")
    deal_url = page.url

    # before anyone has the deal, its office task waits in the office's pool
    follow_menu_link(page, "My tasks")
    expect(page.locator("#pool tr", has_text="Assign a sales rep")).to_contain_text("Heat pump")

    page.goto(deal_url)
    page.get_by_label("Assign to").select_option(label="Rep")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.locator("#sales-rep")).to_have_text("Rep")
    page.get_by_role("tab", name="Tasks").click()
    expect(page.locator("#panel-tasks li.done", has_text="Assign a sales rep")).to_be_visible()
    follow_menu_link(page, "My tasks")
    expect(page.locator("#pool")).not_to_contain_text("Heat pump")  # nothing left for the office to tick

    rep = sessions.new()
    rep.page.set_viewport_size(PHONE)
    page = rep.login("rep@x.test")
    follow_menu_link(page, "My tasks")
    contact = page.locator("#my-tasks tr", has_text="Contact the prospect")
    expect(contact).to_contain_text("Heat pump")
    contact.get_by_role("button", name="Done").click()
    expect(page.get_by_role("status")).to_have_text("Task done.")

    page.goto(deal_url)
    page.locator("select[name=stage]").select_option(label="Qualification")
    page.get_by_role("button", name="Move").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.locator("#stage")).to_have_text("Qualification")

    # the qualification task asks yes or no, with nothing chosen for the rep
    follow_menu_link(page, "My tasks")
    qualify = page.locator("#my-tasks tr", has_text="Answer qualification")
    question = qualify.get_by_role("group", name="Is the prospect qualified?")
    expect(question.get_by_role("radio", name="Yes")).not_to_be_checked()
    expect(question.get_by_role("radio", name="No")).not_to_be_checked()
    question.get_by_role("radio", name="Yes").check()
    qualify.get_by_role("button", name="Done").click()
    expect(page.get_by_role("status")).to_have_text("Task done.")

    page.goto(deal_url)
    page.get_by_role("tab", name="Profile").click()
    expect(page.locator("#qualified")).to_have_text(re.compile(r"Qualified: yes"))
    page.get_by_role("tab", name="History").click()
    expect(page.locator("#panel-history")).to_contain_text("Is the prospect qualified?: empty → yes")

    office.assert_no_console_errors()
    rep.assert_no_console_errors()
