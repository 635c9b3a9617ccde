"""Browser journey: after a deal is won with a job, the office works the job's ordering and scheduling from its task
list, and the job's page shows the work complete (seed 001, step 6)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

JOB_TASKS = ["Order the materials", "Schedule the work", "Confirm with the customer"]


def _won_with_a_job(live_server, title: str) -> tuple[int, int]:
    """A standard-sale deal the rep won with a job (through the services, as the API would): (deal id, job id)."""
    from som_flow.extensions import db
    from som_flow.models import Customer, User
    from som_flow.services import opportunities

    app, _, people = live_server
    with app.app_context():
        csr, rep = db.session.get(User, people["csr"]), db.session.get(User, people["rep"])
        customer = db.session.query(Customer).filter_by(name="Northwind Traders").one()
        opp = opportunities.create_opportunity(csr, {"title": title, "customer_id": customer.id,
                                                     "kind": "standard-sale", "amount": Decimal("8200.00"),
                                                     "sales_rep": people["rep"]})
        won = opportunities.win(rep, opp.id, create_job=True, job_name=f"{title} job")
        ids = (won.id, won.job_id)
        db.session.remove()
    return ids


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_the_office_works_the_jobs_tasks_after_a_win_with_a_job(sessions, live_server, viewport):
    deal_id, job_id = _won_with_a_job(live_server, "Furnace replacement")
    office = sessions.new()
    page = office.page
    page.set_viewport_size(viewport)
    office.login("csr@x.test")

    for title in JOB_TASKS:
        page.goto("/tasks")
        pooled = page.locator("#pool tr", has_text=title)
        expect(pooled).to_contain_text("Furnace replacement")
        pooled.get_by_role("button", name="Claim").click()
        mine = page.locator("#my-tasks tr", has_text=title)
        expect(mine).to_be_visible()
        mine.get_by_role("button", name="Done").click()
        expect(page.get_by_role("status")).to_contain_text("Task done.")
        expect(page.locator("#my-tasks tr", has_text=title)).to_have_count(0)
    page.goto("/tasks")
    expect(page.locator("#pool")).to_contain_text("The pool is empty.")

    # the job's page: the work is complete, each task done
    page.goto(f"/customers/{job_id}")
    work = page.locator("#job-work")
    expect(work.locator(".job-work-status")).to_have_text("Complete")
    for title in JOB_TASKS:
        expect(work.locator("li.done", has_text=title)).to_be_visible()

    # the deal's Tasks tab lists them done too
    page.goto(f"/opportunities/{deal_id}")
    expect(page.locator("#panel-tasks li.done", has_text="Confirm with the customer")).to_have_count(1)
    office.assert_no_console_errors()


def test_an_admin_replaces_the_jobs_process_on_the_kind_page(sessions, tmp_path):
    from tests.test_job_work import ONE_TASK

    good, bad = tmp_path / "permit.bpmn", tmp_path / "broken.bpmn"
    good.write_text(ONE_TASK, encoding="utf-8")
    bad.write_text(ONE_TASK.replace("som.role", "som.stage"), encoding="utf-8")
    admin = sessions.new()
    page = admin.login("admin@x.test")
    page.goto("/admin/kinds/standard-sale")
    section = page.locator("#follow-on")
    expect(section.locator("#follow-on-current")).to_contain_text("Order and schedule the job")

    section.get_by_label("Replace it with a BPMN file").set_input_files(str(bad))
    section.get_by_role("button", name="Upload the job's process").click()
    expect(page.locator(".flash.error")).to_contain_text("nothing was stored")
    expect(page.locator("#follow-on-errors")).to_contain_text("file_permit")
    expect(page.locator("#follow-on-errors")).to_contain_text("stages belong to the sale")
    expect(page.locator("#follow-on-current")).to_contain_text("Order and schedule the job")

    page.locator("#follow-on").get_by_label("Replace it with a BPMN file").set_input_files(str(good))
    page.locator("#follow-on").get_by_role("button", name="Upload the job's process").click()
    expect(page.locator(".flash")).to_contain_text("Version 2 of the job's process of Standard sale stored.")
    expect(page.locator("#follow-on-current")).to_contain_text("Get the permit")
    # the refused upload answers 422; the browser reports that status, nothing else may go wrong
    admin.assert_no_console_errors(r"status of 422 .* at \S+/admin/kinds/standard-sale/follow-on$")
