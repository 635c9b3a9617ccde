"""Issue #12 in Chromium: a rep adds a task on the deal page, sees it as the deal's next activity, finds it on the
task list (deal, customer, stage, due in their zone) and marks it done there in bulk; a due date out of range
comes back beside the field with what was typed — at desktop and phone size."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from som_flow.clock import FixedClock
from tests.browser.conftest import follow_menu_link
from tests.browser.deals import make_deal

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def clock(live_server) -> FixedClock:
    """The served app's clock, fixed at Monday 2 March 2026 09:00 UTC."""
    app, _, _ = live_server
    fixed = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app.extensions["som_clock"] = fixed
    return fixed


@pytest.mark.parametrize("size", SIZES)
def test_a_rep_adds_a_task_on_the_deal_page_and_works_it_from_the_task_list(sessions, live_server, clock,
                                                                            tmp_path, size):
    opp_id = make_deal(live_server, "CRM licenses")
    rep = sessions.new()
    page = rep.login("rep@x.test")
    page.set_viewport_size(SIZES[size])
    page.goto(f"/opportunities/{opp_id}")
    page.get_by_role("tab", name="Tasks").click()
    form = page.locator("#panel-tasks form.add-task")

    # a date nobody means: refused beside the field, everything typed still there
    form.get_by_label("Title").fill("Call about the budget")
    form.get_by_label("Due").fill("2301-03-05T10:00")
    form.get_by_label("Instructions").fill("Ask for the Q3 figures")
    form.get_by_role("button", name="Add task").click()
    expect(page.locator("#panel-tasks")).to_be_visible()
    form = page.locator("#panel-tasks form.add-task")
    expect(form.locator("#error-due_at")).to_contain_text("Use a date between 1900-01-01 and 2200-12-31")
    expect(form.get_by_label("Title")).to_have_value("Call about the budget")
    expect(form.get_by_label("Instructions")).to_have_value("Ask for the Q3 figures")
    expect(form.get_by_label("Due")).to_have_value("2301-03-05T10:00")

    form.get_by_label("Due").fill("2026-03-02T15:00")  # before "Contact the prospect" (due 3 March): the next
    form.get_by_role("button", name="Add task").click()
    expect(page.get_by_role("status")).to_contain_text("Task added: Call about the budget.")
    expect(page.locator("#deal-tasks")).to_contain_text("Call about the budget")
    expect(page.locator("#next-activity")).to_have_text("Task: Call about the budget · 2026-03-02 15:00")

    follow_menu_link(page, "My tasks")
    row = page.get_by_role("row", name="Call about the budget")
    expect(row).to_contain_text("2026-03-02 15:00")
    expect(row).to_contain_text("CRM licenses")
    expect(row).to_contain_text("Northwind Traders")
    expect(row).to_contain_text("Lead")
    expect(row).to_contain_text("Standard sale")
    row.get_by_role("checkbox").check()
    page.locator("#bulk-tasks").get_by_label("Do").select_option("complete")
    page.locator("#bulk-tasks").get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_contain_text("Done: 1 done.")
    expect(page.get_by_role("row", name="Call about the budget")).to_have_count(0)
    page.screenshot(path=str(tmp_path / f"task-list-{size}.png"), full_page=True)
    rep.assert_no_console_errors(r"status of 422 .* at \S+/opportunities/\d+/tasks#tasks$")  # the refused form
