"""English and Norwegian bokmål: the language a request is answered in (the person's preference, else the
browser's Accept-Language, else the site's LOCALE), and values formatted in it. English stays the default."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from som_flow.extensions import db
from som_flow.web import formatting
from tests.helpers import login, make_user

NBSP = "\u00a0"


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


@pytest.fixture
def rep(app):
    return make_user("rep@x.test", "rep")


def test_pages_are_english_when_nothing_asks_for_norwegian(client, rep):
    login(client, rep)
    assert _lang(client.get("/tasks").get_data(as_text=True)) == "en"
    assert _lang(client.get("/tasks", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)) == "en"
    assert _lang(client.get("/tasks", headers={"Accept-Language": "de-DE,fr"}).get_data(as_text=True)) == "en"


@pytest.mark.parametrize("header", ["nb-NO,nb;q=0.9,en;q=0.5", "nb", "no", "nn-NO", "de;q=0.9,nb-NO;q=0.8"])
def test_a_browser_asking_for_norwegian_gets_norwegian_pages(client, rep, header):
    login(client, rep)
    assert _lang(client.get("/tasks", headers={"Accept-Language": header}).get_data(as_text=True)) == "nb"


def test_the_browsers_order_of_preference_counts(client, rep):
    login(client, rep)
    html = client.get("/tasks", headers={"Accept-Language": "en;q=0.9,nb;q=0.4"}).get_data(as_text=True)
    assert _lang(html) == "en"


def test_the_persons_preference_overrides_the_browser(client, rep):
    rep.locale = "nb"
    db.session.commit()
    login(client, rep)
    assert _lang(client.get("/tasks", headers={"Accept-Language": "en-US"}).get_data(as_text=True)) == "nb"
    rep.locale = "en"
    db.session.commit()
    assert _lang(client.get("/tasks", headers={"Accept-Language": "nb-NO"}).get_data(as_text=True)) == "en"


def test_the_site_locale_is_the_fallback(app, client, rep):
    app.config["LOCALE"] = "nb_NO"
    login(client, rep)
    assert _lang(client.get("/tasks").get_data(as_text=True)) == "nb"
    assert _lang(client.get("/tasks", headers={"Accept-Language": "en"}).get_data(as_text=True)) == "en"


def test_money_and_statuses_in_norwegian(app):
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "nb-NO"}):
        assert formatting.money(Decimal("58663.00"), "NOK") == f"58{NBSP}663,00{NBSP}kr"
        assert formatting.label("status", "in_progress") == "pågår"
        assert formatting.label("status", "won") == "vunnet"
    with app.app_context(), app.test_request_context("/"):
        assert formatting.money(Decimal("58663.00"), "NOK") == f"NOK{NBSP}58,663.00"
        assert formatting.label("status", "in_progress") == "in progress"
