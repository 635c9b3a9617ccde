"""axe-core finds no serious or critical violation on any page, for any role, on a desktop (1366x850), in English
and in Norwegian (the browser asks by Accept-Language); see axe_walk.py for the pages and the checks."""

from __future__ import annotations

import pytest

from tests.browser.axe_walk import DESKTOP, walk

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_every_page_passes_axe_on_a_desktop(browser, live_server, lang):
    walk(browser, live_server, lang, DESKTOP)
