"""Pages show values as people read them: money by locale with its currency, statuses and stages by their
labels (as badges), catalog names instead of keys, durations in words; never a raw decimal or internal key."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from som_flow.services import catalogs
from som_flow.web import formatting
from tests.helpers import Api, login, make_customer, make_user

NBSP = "\u00a0"


@pytest.fixture
def deals(app, client):
    make_user("admin@x.test", "admin")
    make_user("manager@x.test", "manager")
    rep = make_user("rep@x.test", "rep")
    customer = make_customer("Fjordline AS")
    catalogs.set_exchange_rate("NOK", "USD", Decimal("0.1"), date(2026, 1, 1))
    api = Api(client, "manager@x.test")
    made = {}
    for amount, currency, title in [("57706.00", "USD", "Roof"), ("58663.00", "NOK", "Heat pump"),
                                    ("590969.03", "USD", "Warehouse")]:
        r = api.post("/opportunities", {"title": title, "customer_id": customer.id, "kind": "standard-sale",
                                        "amount": amount, "currency": currency, "sales_rep": rep.id,
                                        "anticipated_close_date": "2026-04-20"})
        assert r.status_code == 201, r.json
        made[title] = r.json
    assert api.post(f"/opportunities/{made['Heat pump']['id']}/hold").status_code == 200
    lost = api.post(f"/opportunities/{made['Warehouse']['id']}/lose", {"reason": "no_budget"})
    assert lost.status_code == 200, lost.json
    return {"customer": customer, **made}


def _text(html: str) -> str:
    """What a reader sees: the page's text without its tags (option values, ids and classes are not shown) and
    without its scripts (the figures a chart draws from are embedded as JSON, not shown as text)."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<script\b[^>]*>.*?</script>", " ", html, flags=re.S))


def _no_raw_values(text: str) -> None:
    for raw in ("in_progress", "on_hold", "no_budget", "57706.00", "58663.00", "590969.03", "P14D"):
        assert raw not in text, raw


def test_the_deal_list_shows_money_by_locale_and_statuses_and_stages_by_label(client, deals):
    login(client, "manager@x.test")
    html = client.get("/opportunities?all=1").get_data(as_text=True)
    text = _text(html)
    assert "$57,706.00" in text and f"NOK{NBSP}58,663.00" in text and "$590,969.03" in text
    assert '<span class="badge badge-in-progress">in progress</span>' in html
    assert '<span class="badge badge-on-hold">on hold</span>' in html
    assert '<span class="badge badge-lost">lost</span>' in html
    assert '<span class="badge badge-stage">Lead</span>' in html
    assert re.search(r">\s*lead\s*<", html) is None  # the stage key is not shown as text
    _no_raw_values(text)


def test_the_board_and_the_forecast_show_money_with_the_currency(client, deals):
    login(client, "manager@x.test")
    board = _text(client.get("/pipeline?kind=standard-sale&currency=USD").get_data(as_text=True))
    # the open deals (Roof 57,706 USD and Heat pump 58,663 NOK = 5,866.30 USD) in Lead at 10%
    assert "$63,572.30 · weighted $6,357.23" in board
    assert "$57,706.00" in board and f"NOK{NBSP}58,663.00" in board and "On hold" in board  # the card's signal
    _no_raw_values(board)

    forecast = _text(client.get("/forecast?group_by=stage&currency=USD").get_data(as_text=True))
    assert "$63,572.30" in forecast and "$6,357.23" in forecast
    assert "No budget" in forecast  # the lost reason by its catalog name
    assert "63572.30" not in forecast and "6357.23" not in forecast
    _no_raw_values(forecast)


def test_the_deal_page_and_the_customer_s_deals_show_labels_and_money(client, deals):
    login(client, "manager@x.test")
    held = _text(client.get(f"/opportunities/{deals['Heat pump']['id']}").get_data(as_text=True))
    assert f"NOK{NBSP}58,663.00" in held and "on hold" in held and "Lead" in held
    assert f"weighted NOK{NBSP}5,866.30" in held
    _no_raw_values(held)
    lost = _text(client.get(f"/opportunities/{deals['Warehouse']['id']}").get_data(as_text=True))
    assert "$590,969.03" in lost and "No budget" in lost
    _no_raw_values(lost)

    page = client.get(f"/customers/{deals['customer'].id}").get_data(as_text=True)
    assert '<span class="badge badge-on-hold">on hold</span>' in page
    text = _text(page)
    assert "$57,706.00" in text and f"NOK{NBSP}58,663.00" in text and "$590,969.03" in text
    _no_raw_values(text)


def test_the_kind_page_tells_the_stage_sla_in_words(client, deals):
    login(client, "admin@x.test")
    text = _text(client.get("/admin/kinds/standard-sale").get_data(as_text=True))
    assert "14 days" in text
    assert "P14D" not in text


def test_formatting_follows_the_site_locale(app):
    with app.test_request_context():
        assert formatting.money(Decimal("57706"), "USD") == "$57,706.00"
        assert formatting.money(None, "USD") == "—"
        assert formatting.duration("P14D") == "14 days"
        assert formatting.duration("PT5M") == "5 minutes"
        assert formatting.duration("P1DT4H") == "1 day 4 hours"
        assert formatting.duration("due_date") == "due_date"  # a date field, not a duration: as it came
        assert formatting.percent(40) == "40%"
        assert formatting.label("status", "in_progress") == "in progress"
        assert formatting.label("priority", "high") == "High"
    app.config["LOCALE"] = "nb_NO"  # the language is chosen once per request: a new one reads the new setting
    with app.app_context(), app.test_request_context():
        assert formatting.money(Decimal("58663"), "NOK") == f"58{NBSP}663,00{NBSP}kr"
        assert formatting.number(Decimal("1234.5"), digits=1) == f"1{NBSP}234,5"
