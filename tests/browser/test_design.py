"""The design system as a person sees it, at desktop and phone size: the login page says what the product is, the
menu marks the page you are on, a control focused from the keyboard shows an outline, and on a phone the controls
a rep works with by thumb (the task list's buttons, the deal page's edit and "log a call" forms, the booking form)
are at least 44 px tall, the inputs as wide as their form, and no page scrolls sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.deals import make_deal

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 850}
PHONE = {"width": 390, "height": 844}
SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
THUMB = 44  # px: the smallest comfortable target for a thumb (WCAG 2.5.5, Apple's and Google's guides)

# a control's look: what changes when the menu marks a link as the current page
LOOK = """el => { const s = getComputedStyle(el);
  return [s.backgroundColor, s.color, s.fontWeight, s.boxShadow].join('|'); }"""
# the focused element, and its outline as drawn
FOCUSED = """() => { const el = document.activeElement; const s = getComputedStyle(el);
  return {tag: el.tagName.toLowerCase(), text: (el.textContent || el.value || '').trim(), style: s.outlineStyle,
          width: parseFloat(s.outlineWidth), type: el.type || '', visible: el.matches(':focus-visible')}; }"""

# the width a control has room for: its fieldset's or form's content box
ROOM = """el => { const box = el.closest('fieldset') || el.form; const s = getComputedStyle(box);
  return box.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight); }"""


def _no_sideways_scroll(page) -> None:
    width = page.viewport_size["width"]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width, page.url


def _tall_enough(controls, what: str, full_width=False) -> int:
    """Every visible control is at least THUMB px tall (with `full_width`, as wide as the box it sits in: its
    fieldset or form, less their padding)."""
    checked = 0
    for i in range(controls.count()):
        control = controls.nth(i)
        if not control.is_visible():
            continue
        box = control.bounding_box()
        name = control.get_attribute("name") or control.inner_text()[:30]
        assert box["height"] >= THUMB, f"{what}: {name!r} is {box['height']:.0f} px tall"
        if full_width:
            room = control.evaluate(ROOM)
            assert box["width"] >= room - 2, f"{what}: {name!r} is {box['width']:.0f} of {room:.0f} px wide"
        checked += 1
    return checked


@SIZES
def test_the_login_page_shows_the_product_identity(sessions, size):
    me = sessions.new()
    page = me.page
    page.set_viewport_size(size)
    page.goto("/login")
    identity = page.locator(".identity")
    expect(identity.get_by_role("heading", name="som_flow", level=1)).to_be_visible()
    expect(identity).to_contain_text("Every deal on its path, every next step on time.")
    logo = identity.locator("img")
    expect(logo).to_be_visible()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", logo.element_handle())  # the mark loads
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    _no_sideways_scroll(page)

    # a wrong password keeps the e-mail typed
    page.get_by_label("E-mail").fill("rep@x.test")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("status")).to_have_text("Wrong e-mail or password.")
    expect(page.get_by_label("E-mail")).to_have_value("rep@x.test")
    me.assert_no_console_errors(r"status of 401")


@SIZES
def test_the_menu_marks_the_current_page_and_keyboard_focus_shows_an_outline(sessions, live_server, size):
    make_deal(live_server, "Design check")
    me = sessions.new()
    page = me.page
    page.set_viewport_size(size)
    me.login("rep@x.test")
    page.goto("/tasks")
    menu = page.get_by_role("button", name="Menu")
    if size is PHONE:
        menu.click()
    nav = page.get_by_role("navigation", name="Main")
    current = nav.get_by_role("link", name="My tasks", exact=True)
    expect(current).to_have_attribute("aria-current", "page")
    other = nav.get_by_role("link", name="Customers", exact=True)
    expect(other).to_be_visible()
    assert current.evaluate(LOOK) != other.evaluate(LOOK)  # marked for the eye too, not only for screen readers
    if size is PHONE:
        page.keyboard.press("Escape")

    # from the keyboard, every control on the way shows an outline, the first button among them
    page.locator("body").click(position={"x": 1, "y": 200})
    seen = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["tag"] == "body":
            continue
        if "date" in focused["type"] and not focused["visible"]:
            continue  # Tab is on the browser's own calendar button inside a date input: Chromium rings that one
        assert focused["style"] != "none" and focused["width"] >= 2, focused
        seen.add(focused["tag"])
        if "button" in seen and "input" in seen and "a" in seen:
            break
    assert {"a", "input", "button"} <= seen, seen
    me.assert_no_console_errors()


def test_on_a_phone_the_rep_works_by_thumb_without_sideways_scrolling(sessions, live_server):
    opp_id = make_deal(live_server, "Heat pump by thumb")
    me = sessions.new()
    page = me.page
    page.set_viewport_size(PHONE)
    me.login("rep@x.test")

    # the task list: each task's buttons
    page.goto("/tasks")
    _no_sideways_scroll(page)
    tasks = page.locator("#my-tasks")
    expect(tasks.get_by_role("button", name="Done").first).to_be_visible()
    assert _tall_enough(tasks.locator("button, summary"), "task list") >= 1
    add = page.locator("#add-task")
    assert _tall_enough(add.locator("input:not([type=hidden]), select"), "add a task", full_width=True) >= 3

    # the deal page: its edit form, and logging a call
    page.goto(f"/opportunities/{opp_id}")
    _no_sideways_scroll(page)
    panel = page.locator(".tab-panel:visible").first
    panel.locator("details.edit > summary").first.click()
    form = panel.locator("form.edit-form").first
    expect(form).to_be_visible()
    assert _tall_enough(form.locator("input:not([type=hidden]):not([type=checkbox]), select, button"),
                        "deal edit form") >= 2
    assert _tall_enough(form.locator("input:not([type=hidden]):not([type=checkbox]), select"), "deal edit form",
                        full_width=True) >= 1
    _no_sideways_scroll(page)
    page.get_by_role("tab", name="History").click()
    log = page.get_by_role("tabpanel", name="History").get_by_role("form", name="Log activity")
    expect(log).to_be_visible()
    assert _tall_enough(log.locator("input:not([type=hidden]):not([type=checkbox]), select, button"),
                        "log a call") >= 3
    assert _tall_enough(log.locator("input:not([type=hidden]):not([type=checkbox]), select"), "log a call",
                        full_width=True) >= 2
    _no_sideways_scroll(page)

    # booking an appointment on the schedule
    page.goto("/schedule")
    _no_sideways_scroll(page)
    booking = page.locator("#new form")
    assert _tall_enough(booking.locator("input:not([type=hidden]):not([type=checkbox]), select"), "booking",
                        full_width=True) >= 4
    assert _tall_enough(booking.get_by_role("button", name="Book"), "booking") == 1
    me.assert_no_console_errors()


def test_the_login_page_speaks_norwegian_to_a_norwegian_browser(browser, live_server):
    _, base_url, _ = live_server
    context = browser.new_context(base_url=base_url, locale="nb-NO", viewport=PHONE)
    try:
        page = context.new_page()
        page.goto("/login")
        expect(page.locator("html")).to_have_attribute("lang", "nb")
        expect(page.locator(".identity")).to_contain_text("Hver salgsmulighet på sporet, hvert neste steg i tide.")
        expect(page.get_by_role("heading", name="Logg inn")).to_be_visible()
        page.get_by_label("E-post").fill("rep@x.test")
        page.get_by_label("Passord").fill("secret-password")
        page.get_by_role("button", name="Logg inn").click()
        page.get_by_role("button", name="Meny").click()  # the header's menu and its sections in bokmål
        nav = page.get_by_role("navigation", name="Hovedmeny")
        for name in ("Salgsmuligheter", "Salgstrakt", "Mine oppgaver", "Kunder", "Kalender", "Prognose"):
            expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Logg ut")).to_be_visible()
        _no_sideways_scroll(page)
    finally:
        context.close()
