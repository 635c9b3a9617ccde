"""A rep logs a call with a note from the deal page and finds it on the deal's timeline (issue #12, items 1 and 3),
at desktop and at phone size."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from som_flow.clock import FixedClock

pytestmark = pytest.mark.browser


@pytest.fixture
def deal(live_server) -> int:
    from som_flow.extensions import db
    from som_flow.models import User
    from som_flow.services import opportunities
    from som_flow.services.customers import search_customers

    app, _, people = live_server
    app.extensions["som_clock"] = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with app.app_context():
        csr = db.session.get(User, people["csr"])
        [customer], _ = search_customers("Northwind", None)
        opp = opportunities.create_opportunity(csr, {"title": "CRM licenses", "customer_id": customer.id,
                                                     "kind": "standard-sale", "sales_rep": people["rep"]})
        opp_id = opp.id
        db.session.remove()
    return opp_id


@pytest.mark.parametrize("size", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_a_rep_logs_a_call_with_a_note_and_finds_it_on_the_timeline(sessions, deal, size, tmp_path):
    rep = sessions.new()
    rep.page.set_viewport_size(size)
    page = rep.login("rep@x.test")
    page.goto(f"/opportunities/{deal}")
    page.get_by_role("tab", name="History").click()
    history = page.get_by_role("tabpanel", name="History")
    form = history.get_by_role("form", name="Log activity")

    # a call "tomorrow" has not happened: refused, with everything typed still there and the reason beside "When"
    form.get_by_label("Type").select_option(label="Call")
    form.get_by_label("When").fill("2026-03-03T10:00")
    form.get_by_label("Outcome").fill("Wants a quote")
    form.get_by_label("Text").fill("Asked about 40 seats.\nCall back Friday.")
    form.get_by_role("button", name="Log activity").click()
    history = page.get_by_role("tabpanel", name="History")
    expect(history).to_be_visible()
    form = history.get_by_role("form", name="Log activity")
    expect(form.locator("#err-at")).to_contain_text("That is in the future")
    expect(form.get_by_label("Type")).to_have_value("call")
    expect(form.get_by_label("Outcome")).to_have_value("Wants a quote")
    expect(form.get_by_label("Text")).to_have_value("Asked about 40 seats.\nCall back Friday.")

    form.get_by_label("When").fill("2026-03-02T08:30")
    form.get_by_role("button", name="Log activity").click()
    expect(page.get_by_text("Logged.")).to_be_visible()
    history = page.get_by_role("tabpanel", name="History")
    expect(history).to_be_visible()  # back on the History tab
    timeline = history.locator("ol.timeline")
    # newest first: logged as 08:30, it sits below the deal's creation at 09:00
    first = timeline.locator("li.activity")
    expect(first).to_have_count(1)
    expect(timeline.locator("li").last).to_contain_text("Asked about 40 seats.")
    expect(first).to_contain_text("Rep:")
    expect(first).to_contain_text("Call")
    expect(first).to_contain_text("(Wants a quote)")
    expect(first).to_contain_text("Asked about 40 seats.")
    expect(first).to_contain_text("2026-03-02 08:30 UTC")
    expect(timeline).to_contain_text("Started in Lead")
    page.screenshot(path=str(tmp_path / f"activity-timeline-{size['width']}.png"), full_page=True)

    # only the activities, then only the stage changes
    filters = history.get_by_role("navigation", name="Show in the timeline")
    filters.get_by_role("link", name="Notes and activities").click()
    timeline = page.get_by_role("tabpanel", name="History").locator("ol.timeline")
    expect(timeline.locator("li")).to_have_count(1)
    expect(timeline).to_contain_text("Asked about 40 seats.")
    page.get_by_role("tabpanel", name="History").get_by_role("link", name="Stage").click()
    timeline = page.get_by_role("tabpanel", name="History").locator("ol.timeline")
    expect(timeline).to_contain_text("Started in Lead")
    expect(timeline).not_to_contain_text("Asked about 40 seats.")
    rep.assert_no_console_errors(r"status of 422 .*/opportunities/\d+/activities")  # the refused form


def test_a_rep_logs_a_call_with_a_next_task_and_finds_both_on_the_timeline_and_the_task_list(sessions, deal):
    rep = sessions.new()
    rep.page.set_viewport_size({"width": 390, "height": 844})
    page = rep.login("rep@x.test")
    page.goto(f"/opportunities/{deal}")
    page.get_by_role("tab", name="History").click()
    form = page.get_by_role("tabpanel", name="History").get_by_role("form", name="Log activity")
    form.get_by_label("Type").select_option(label="Call")
    form.get_by_label("Text").fill("Walked through the offer; they want it in writing.")
    # a due time without a title is refused, and nothing typed is lost
    form.get_by_label("Due").fill("2026-03-04T09:00")
    form.get_by_role("button", name="Log activity").click()
    form = page.get_by_role("tabpanel", name="History").get_by_role("form", name="Log activity")
    expect(form.locator("#err-next_task_title")).to_contain_text("Say what the next task is")
    expect(form.get_by_label("Text")).to_have_value("Walked through the offer; they want it in writing.")
    expect(form.get_by_label("Due")).to_have_value("2026-03-04T09:00")

    form.get_by_label("Title").fill("Send the written offer")
    form.get_by_role("button", name="Log activity").click()
    expect(page.get_by_text("Logged, and the next task is on your list.")).to_be_visible()
    timeline = page.get_by_role("tabpanel", name="History").locator("ol.timeline")
    expect(timeline).to_contain_text("Walked through the offer")
    expect(timeline).to_contain_text("Send the written offer")

    page.goto("/tasks")
    row = page.locator("#my-tasks tr", has_text="Send the written offer")
    expect(row).to_contain_text("CRM licenses")
    expect(row).to_contain_text("2026-03-04")
    rep.assert_no_console_errors(r"status of 422 .*/opportunities/\d+/activities")
