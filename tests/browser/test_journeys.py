"""Browser journeys through Debian's Chromium: log in, create a deal, work the tasks, drag cards on the board."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_login(sessions, live_server):
    me = sessions.new()
    page = me.login("csr@x.test", "wrong-password")
    expect(page.get_by_role("status")).to_have_text("Wrong e-mail or password.")
    me.login("csr@x.test")
    expect(page).to_have_url(re.compile(r"/opportunities$"))
    expect(page.get_by_role("heading", name="Opportunities")).to_be_visible()
    print(me.errors)
