"""Every main page, for each role, fits a phone's 390 px width (no sideways scroll of the page; wide tables scroll
inside their own box), the header's menu folds behind a "Menu" button that Escape closes, and a desktop still
shows the whole menu."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.deals import make_deal

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 850}
MAIN_LINKS = {"csr": ["Opportunities", "Pipeline", "My tasks", "Customers", "Schedule"],
              "rep": ["Opportunities", "Pipeline", "My tasks", "Customers", "Schedule", "Forecast"],
              "manager": ["Opportunities", "Pipeline", "My tasks", "Customers", "Schedule", "Forecast"],
              "admin": ["Opportunities", "Pipeline", "My tasks", "Customers", "Schedule", "Forecast", "Admin"]}
ADMIN_PAGES = ["/admin/", "/admin/kinds", "/admin/kinds/standard-sale", "/admin/kinds/new", "/admin/stages",
               "/admin/catalogs", "/admin/catalogs/lost_reasons", "/admin/fields", "/admin/questions",
               "/admin/required-fields", "/admin/users", "/admin/rates", "/admin/reminders",
               "/admin/kinds/standard-sale/design"]

# The page's own scroll width, and the elements sticking out past the screen's right edge (the leaves only, and
# not those inside a box that scrolls by itself), so a failure names what to fix.
MEASURE = """() => {
  const width = window.innerWidth;
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') return true;
    }
    return false;
  };
  const wide = [...document.body.querySelectorAll('*')].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1 && !clipped(el)
      && ![...el.children].some((c) => c.getBoundingClientRect().right > width + 1);
  }).slice(0, 5).map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}`
      + `${el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\\s+/g, '.') : ''}`
      + ` right=${Math.round(el.getBoundingClientRect().right)}`);
  return {scroll: document.scrollingElement.scrollWidth, wide};
}"""


SECTIONS = {"/admin": "Admin", "/forecast": "Forecast", "/schedule": "Schedule", "/customers": "Customers",
            "/tasks": "My tasks", "/pipeline": "Pipeline", "/opportunities": "Opportunities"}


def _section(path: str) -> str | None:
    """The main menu's entry a page belongs to."""
    if path == "/":  # the home page is the opportunity list
        return "Opportunities"
    return next((label for prefix, label in SECTIONS.items() if path.startswith(prefix)), None)


def sample_records(live_server) -> tuple[int, int, int]:
    """A real deal, its customer and a site visit tomorrow, for the page walks to show: (deal, customer,
    appointment) ids."""
    from som_flow.extensions import db
    from som_flow.models import Customer, User
    from som_flow.services import appointments

    app, _, people = live_server
    opp_id = make_deal(live_server, "Heat pump for the whole warehouse and the office building beside it")
    with app.app_context():
        customer_id = db.session.query(Customer).filter_by(name="Northwind Traders").one().id
        rep = db.session.get(User, people["rep"])
        start = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
        appt_id = appointments.create_appointment(rep, {
            "opportunity_id": opp_id, "title": "Site visit", "start": start, "end": start + timedelta(hours=1),
            "attendees": [rep.id], "location": "Customer site", "timezone": "UTC"}).id
        db.session.remove()
    return opp_id, customer_id, appt_id


def _pages(live_server) -> dict[str, list[str]]:
    """The main pages each role opens, with a real deal, customer and appointment to show."""
    opp_id, customer_id, appt_id = sample_records(live_server)
    common = ["/", "/opportunities", "/opportunities/new", f"/opportunities/{opp_id}",
              f"/opportunities/{opp_id}/activities", "/pipeline", "/tasks", "/schedule",
              f"/schedule/appointments/{appt_id}", "/customers", f"/customers/{customer_id}",
              f"/customers/{customer_id}/activities", "/notifications"]
    return {"csr": common, "rep": [*common, "/forecast"], "manager": [*common, "/forecast"],
            "admin": [*common, "/forecast", *ADMIN_PAGES]}


@pytest.mark.parametrize("role", ["csr", "rep", "manager", "admin"])
def test_every_main_page_fits_a_phone_and_the_menu_folds(sessions, live_server, role):
    pages = _pages(live_server)[role]
    me = sessions.new()
    page = me.page
    page.set_viewport_size(PHONE)
    page.goto("/login")
    assert page.evaluate(MEASURE)["scroll"] <= PHONE["width"]
    me.login(f"{role}@x.test")

    too_wide = {}
    for path in pages:
        response = page.goto(path)
        assert response.status == 200, path
        measured = page.evaluate(MEASURE)
        if measured["scroll"] > PHONE["width"]:
            too_wide[path] = measured
    assert not too_wide, json.dumps(too_wide, indent=1)  # names the elements sticking out

    # the links hide behind "Menu"; it opens them, Escape closes it and leaves focus on the button
    menu = page.get_by_role("button", name="Menu")
    links = page.get_by_role("navigation", name="Main")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(links).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    for name in MAIN_LINKS[role]:
        expect(links.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert page.evaluate(MEASURE)["scroll"] <= PHONE["width"]  # the open menu fits too
    page.keyboard.press("Escape")
    expect(links).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()

    # the bell's list fits the screen too, and Escape closes it
    page.locator("#bell summary").click()
    expect(page.locator("#bell .bell-menu")).to_be_visible()
    assert page.evaluate(MEASURE)["scroll"] <= PHONE["width"]
    page.keyboard.press("Escape")
    expect(page.locator("#bell .bell-menu")).to_be_hidden()
    menu.focus()

    # by keyboard alone: Enter opens it, a link in it takes you there
    page.keyboard.press("Enter")
    links.get_by_role("link", name="My tasks", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page).to_have_url(f"{page.url.split('/tasks')[0]}/tasks")
    expect(page.locator("nav[aria-label=Main] a[aria-current=page]")).to_have_text("My tasks")  # folded, still marked
    me.assert_no_console_errors()


def test_a_desktop_shows_the_whole_menu_on_every_page(sessions, live_server):
    pages = _pages(live_server)["admin"]
    me = sessions.new()
    page = me.page
    page.set_viewport_size(DESKTOP)
    me.login("admin@x.test")
    for path in pages:
        page.goto(path)
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        nav = page.get_by_role("navigation", name="Main")
        for name in MAIN_LINKS["admin"]:
            expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        current = nav.locator("[aria-current=page]")
        if _section(path):  # the menu marks the section the page belongs to, and only that one
            expect(current).to_have_text(_section(path))
        else:
            expect(current).to_have_count(0)
        measured = page.evaluate(MEASURE)
        assert measured["scroll"] <= DESKTOP["width"], (path, measured)
    me.assert_no_console_errors()
