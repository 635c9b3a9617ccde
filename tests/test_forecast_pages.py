"""The /forecast page and the pipeline board's totals, as a manager, a rep and the office see them."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from som_flow.services import catalogs
from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def deals(app, client):
    make_user("manager@x.test", "manager")
    rep = make_user("rep@x.test", "rep")
    make_user("csr@x.test", "csr")
    customer = make_customer("Northwind Traders")
    catalogs.set_exchange_rate("NOK", "USD", Decimal("0.1"), date(2026, 1, 1))
    api = Api(client, "manager@x.test")
    made = []
    for amount, currency, title in [("50000.00", "USD", "=HYPERLINK(\"http://evil\")"), ("100000.00", "NOK", "Fjord")]:
        r = api.post("/opportunities", {"title": title, "customer_id": customer.id, "kind": "standard-sale",
                                        "amount": amount, "currency": currency, "sales_rep": rep.id,
                                        "anticipated_close_date": "2026-02-20"})
        assert r.status_code == 201, r.json
        made.append(r.json)
    return made


def test_a_manager_reads_the_forecast_in_one_currency_with_chart_and_report(client, deals):
    login(client, "manager@x.test")
    page = client.get("/forecast?group_by=month&currency=USD")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # 50,000 USD + 100,000 NOK (10,000 USD), both in Lead at 10%
    assert "$60,000.00" in html and "$6,000.00" in html
    assert 'id="forecast-chart"' in html and 'id="chart-data"' in html and "2026-02" in html
    assert 'id="funnel"' in html and "Lead" in html
    # both close dates (20 Feb) have passed on 2 March: both listed as overdue, linked
    assert html.count("was due 2026-02-20") == 2

    exported = client.get("/forecast/forecast.csv?group_by=month&currency=NOK")
    assert exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert rows == [["key", "label", "count", "amount", "weighted", "currency"],
                    ["2026-02", "2026-02", "2", "600000.00", "60000.00", "NOK"]]
    overdue = list(csv.reader(io.StringIO(client.get("/forecast/overdue.csv").get_data(as_text=True))))
    assert overdue[1][2] == "'=HYPERLINK(\"http://evil\")"  # not run as a formula by a spreadsheet
    assert client.get("/forecast/nothing.csv").status_code == 404


def test_a_missing_rate_is_named_on_the_page_and_the_board(client, deals):
    login(client, "manager@x.test")
    page = client.get("/forecast?currency=EUR")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "USD→EUR" in html or "NOK→EUR" in html
    assert "weighted-total" not in html  # no half-converted total shown

    board = client.get("/pipeline?kind=standard-sale&currency=EUR").get_data(as_text=True)
    assert "Column totals need exchange rates" in board
    usd = client.get("/pipeline?kind=standard-sale&currency=USD").get_data(as_text=True)
    assert "$60,000.00 · weighted $6,000.00" in usd


def test_the_office_may_not_read_the_forecast_and_a_manager_takes_a_snapshot(client, deals):
    login(client, "csr@x.test")
    assert client.get("/forecast").status_code == 403
    assert client.post("/forecast/snapshot").status_code == 403
    client.post("/logout")
    login(client, "manager@x.test")
    r = client.post("/forecast/snapshot", data={"currency": "USD"})
    assert r.status_code == 302
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    # both deals were due in February, before the snapshot's first month (March): nothing forecast ahead
    assert "Snapshot taken: weighted $0.00." in html


def test_the_deal_page_shows_the_suggested_probability_beside_its_own(client, deals):
    login(client, "manager@x.test")
    html = client.get(f"/opportunities/{deals[0]['id']}").get_data(as_text=True)
    assert "Suggested from history" in html
    assert "too few decided" in html  # no history yet: no number is invented
    assert "10%" in html  # the deal's own probability is still the stage default
