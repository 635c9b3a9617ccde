"""Browser journey: an admin says whom a rep reports to on the Users page (at desktop and phone size); the rep's
deal then shows on the manager's board under "My team"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.axe_walk import DESKTOP, PHONE
from tests.browser.conftest import follow_menu_link

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_admin_sets_whom_the_rep_reports_to_and_the_manager_sees_the_reps_deal_as_the_team(
        sessions, live_server, size):
    app, _, people = live_server
    with app.app_context():
        from som_flow.extensions import db
        from som_flow.models import Customer, User
        from som_flow.services import opportunities

        rep = db.session.get(User, people["rep"])
        customer = db.session.scalars(db.select(Customer)).first()
        opportunities.create_opportunity(rep, {"title": "Team deal", "kind": "standard-sale", "sales_rep": rep.id,
                                               "customer_id": customer.id})
        db.session.remove()

    admin = sessions.new()
    admin.page.set_viewport_size(size)
    page = admin.login("admin@x.test")
    follow_menu_link(page, "Admin")
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("cell", name="Sales rep", exact=True)).to_be_visible()  # the role's name, not "rep"
    row = page.get_by_role("row").filter(has_text="rep@x.test")
    row.get_by_label("Whom Rep reports to").select_option(label="Manager")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_have_text("Rep's manager saved.")
    expect(page.get_by_label("Whom Rep reports to")).to_have_value(str(people["manager"]))
    admin.assert_no_console_errors()

    manager = sessions.new()
    manager.page.set_viewport_size(size)
    page = manager.login("manager@x.test")
    follow_menu_link(page, "Pipeline")
    page.get_by_role("navigation", name="Whose deals").get_by_role("link", name="My team").click()
    expect(page.locator(".card-item", has_text="Team deal")).to_be_visible()
