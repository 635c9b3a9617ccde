"""Issue #13 item 6 in Chromium: a rep whose browser asks for Norwegian bokmål (Accept-Language nb-NO) works a deal
in Norwegian — the deal page's tabs and forms, a task added there, the task list — at desktop and phone size; the
same pages in an English browser stay English."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS
from tests.browser.deals import make_deal
from tests.helpers import PASSWORD

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _login(browser, base_url: str, locale: str, size: dict):
    """A browser context speaking `locale`; logs the rep in by the form's field names (the login page's own words
    are the design system's to translate)."""
    context = browser.new_context(base_url=base_url, locale=locale, viewport=size)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.locator("input[name=email]").fill("rep@x.test")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit], form button:not([type])").first.click()
    page.wait_for_url(lambda url: "/login" not in url)
    return context, page


@pytest.mark.parametrize("size", SIZES)
def test_a_norwegian_rep_works_a_deal_in_norwegian(browser, live_server, size):
    _, base_url, _ = live_server
    opp_id = make_deal(live_server, "Varmepumpe")
    context, page = _login(browser, base_url, "nb-NO", SIZES[size])
    try:
        page.goto(f"/opportunities/{opp_id}")
        expect(page.get_by_role("tablist", name="Detaljer om salgsmuligheten")).to_be_visible()
        for tab in ("Info", "Profil", "Oppgaver", "Avtaler", "Tilbud", "Parter og behov", "Historikk"):
            expect(page.get_by_role("tab", name=tab)).to_be_visible()
        expect(page.get_by_role("button", name="Vunnet …")).to_be_visible()

        page.get_by_role("tab", name="Oppgaver").click()
        form = page.locator("#panel-tasks form.add-task")
        expect(form.get_by_role("group", name="Legg til en oppgave")).to_be_visible()
        form.get_by_label("Tittel").fill("Ring om budsjettet")
        form.get_by_label("Instruksjoner").fill("Spør etter tallene for Q3")
        form.get_by_role("button", name="Legg til oppgave").click()
        expect(page.locator("#deal-tasks")).to_contain_text("Ring om budsjettet")
        expect(page.locator("#deal-tasks")).to_contain_text("åpne i Mine oppgaver")

        page.goto("/tasks")
        expect(page.get_by_role("heading", name="Kø for mine roller")).to_be_visible()
        expect(page.locator("#my-tasks")).to_contain_text("Ring om budsjettet")
        expect(page.get_by_role("button", name="Utfør", exact=True)).to_be_visible()  # the bulk form
        row = page.locator("#my-tasks tr", has_text="Ring om budsjettet")
        expect(row).to_contain_text("ingen dato")
        expect(row.get_by_role("button", name="Utført")).to_be_visible()
        assert page.evaluate("document.documentElement.lang") == "nb"
    finally:
        context.close()


def test_an_english_browser_sees_the_same_deal_in_english(browser, live_server):
    _, base_url, _ = live_server
    opp_id = make_deal(live_server, "Heat pump")
    context, page = _login(browser, base_url, "en-GB", SIZES["desktop"])
    try:
        page.goto(f"/opportunities/{opp_id}")
        for tab in ("Tasks", "Appointments", "Estimates", "Parties & demand", "History"):
            expect(page.get_by_role("tab", name=tab)).to_be_visible()
        expect(page.get_by_role("tab", name="Oppgaver")).to_have_count(0)
        page.goto("/tasks")
        expect(page.get_by_role("heading", name="Pool for my roles")).to_be_visible()
    finally:
        context.close()
