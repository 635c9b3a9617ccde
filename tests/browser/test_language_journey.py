"""A rep on a phone switches their language to Norsk bokmål in Settings: from then on the pages say lang="nb", the
header's menu and the task list's messages are Norwegian, whatever the browser asks for; "As my browser asks" goes
back to English for an English browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import open_menu
from tests.browser.deals import make_deal

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_a_rep_on_a_phone_switches_to_norwegian_and_back(browser, live_server):
    _, base_url, _ = live_server
    make_deal(live_server, "Varmepumpe til hytta")
    context = browser.new_context(base_url=base_url, viewport=PHONE, locale="en-US", has_touch=True)
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("E-mail").fill("rep@x.test")
        page.get_by_label("Password").fill("secret-password")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")

        open_menu(page)
        page.get_by_role("link", name="Settings").click()
        expect(page).to_have_url(f"{base_url}/settings")
        page.get_by_label("Norsk bokmål").check()
        page.get_by_role("button", name="Save").click()

        expect(page.locator("html")).to_have_attribute("lang", "nb")
        expect(page.get_by_role("status")).to_have_text("Lagret: sidene dine er nå på Norsk bokmål.")
        expect(page.get_by_label("Norsk bokmål")).to_be_checked()
        open_menu(page)
        expect(page.get_by_role("link", name="Innstillinger")).to_be_visible()

        # the task list, in Norwegian though the browser asks for English: completing a task says so in bokmål
        page.goto("/tasks")
        expect(page.locator("html")).to_have_attribute("lang", "nb")
        row = page.locator("#my-tasks tr", has_text="Varmepumpe til hytta").first
        row.locator("form[action$='/complete'] button").first.click()
        expect(page.get_by_role("status")).to_have_text("Oppgaven er utført.")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"] + 1

        # back to "as my browser asks": this browser asks for English
        page.goto("/settings")
        page.get_by_label("Som nettleseren min ber om").check()
        page.locator("form.settings-language button").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_role("status")).to_have_text("Saved: your pages follow your browser's language.")
    finally:
        context.close()
