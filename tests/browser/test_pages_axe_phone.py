"""axe-core finds no serious or critical violation on any page, for any role, on a phone (390x844), in English and
in Norwegian, and no page scrolls sideways; see axe_walk.py for the pages and the checks."""

from __future__ import annotations

import pytest

from tests.browser.axe_walk import PHONE, walk

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_every_page_passes_axe_on_a_phone(browser, live_server, lang):
    walk(browser, live_server, lang, PHONE)
