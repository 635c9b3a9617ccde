"""The job's process in the browser modeler (issue #14, item 7), at phone size: an admin opens a kind's follow-on from
the kind page, the drawing is checked as its upload is, a task is renamed in the properties panel and saving stores
the kind's next follow-on version."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_modeler_journey import _checked, _open, _select, _type

pytestmark = pytest.mark.browser


def test_on_a_phone_an_admin_renames_a_task_of_the_jobs_process_and_saves_it(sessions):
    me = sessions.new()
    page = me.login("admin@x.test")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/admin/kinds/standard-sale")
    expect(page.locator("#follow-on-current")).to_contain_text("version 1")
    page.get_by_role("link", name="Open it in the modeler").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("The job's work after a win")
    expect(page.locator("#modeler-canvas")).to_have_attribute("data-ready", "true")
    expect(_checked(page)).to_have_attribute("data-state", "valid")

    task = page.evaluate("() => window.somModeler.get('elementRegistry').filter(e => e.type === 'bpmn:UserTask')[0].id")
    _select(page, task)
    _open(page, "general")
    _type(page, page.locator("#bio-properties-panel-name"), task, "name", "Order the panels")
    expect(_checked(page)).to_have_attribute("data-state", "valid")
    page.get_by_role("button", name="Save as the job's new process").click()
    expect(page.get_by_role("status").first).to_contain_text("Version 2 of the job's process of Standard sale stored.")
    expect(page.locator("#follow-on-current")).to_contain_text("version 2")
    me.assert_no_console_errors()
