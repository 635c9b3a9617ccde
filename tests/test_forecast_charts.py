"""The forecast page's charts draw the very figures of its tables and of the API: the page embeds them as a JSON
block (#chart-data) for static/charts.js, with the words of the series and axes."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from som_flow.services import catalogs
from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def deals(app, client, clock):
    """Two of the rep's deals and one of another rep's, closing in April and May; a USD snapshot taken on
    2 March, read on 2 April (the second quarter's forecast vs actual)."""
    make_user("manager@x.test", "manager")
    rep = make_user("rep@x.test", "rep")
    other = make_user("other@x.test", "rep")
    customer = make_customer("Northwind Traders")
    catalogs.set_exchange_rate("NOK", "USD", Decimal("0.1"), date(2026, 1, 1))
    api = Api(client, "manager@x.test")
    for amount, currency, close, owner in [("50000.00", "USD", "2026-04-20", rep),
                                           ("100000.00", "NOK", "2026-05-10", rep),
                                           ("7000.00", "USD", "2026-05-15", other)]:
        r = api.post("/opportunities", {"title": f"Deal {amount}", "customer_id": customer.id, "kind": "standard-sale",
                                        "amount": amount, "currency": currency, "sales_rep": owner.id,
                                        "anticipated_close_date": close})
        assert r.status_code == 201, r.json
    assert api.post("/forecast/snapshots", {"currency": "USD"}).status_code == 201
    clock.set(datetime(2026, 4, 2, 9, 0, tzinfo=UTC))
    return api


def chart_data(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)
    assert block, "no chart data on the page"
    return json.loads(block.group(1))


def figures(values) -> list:
    """Money as the API gives it (strings or numbers), comparable with the chart's JSON numbers."""
    return [None if v is None else Decimal(str(v)).quantize(Decimal("0.01")) for v in values]


def test_the_charts_draw_the_figures_of_the_forecast_the_comparison_and_the_funnel(client, deals):
    login(client, "manager@x.test")
    page = client.get("/forecast?group_by=month&currency=USD")
    assert page.status_code == 200
    html = page.text
    data = chart_data(html)
    assert data["currency"] == "USD" and data["locale"] == "en"

    api = deals.get("/forecast?group_by=month&currency=USD").json
    assert data["forecast"]["labels"] == [g["label"] for g in api["groups"]] == ["2026-04", "2026-05"]
    assert figures(data["forecast"]["amount"]) == figures(g["amount"] for g in api["groups"]) \
        == [Decimal("50000.00"), Decimal("17000.00")]
    assert figures(data["forecast"]["weighted"]) == figures(g["weighted"] for g in api["groups"]) \
        == [Decimal("5000.00"), Decimal("1700.00")]

    compare = deals.get("/forecast/compare?currency=USD").json
    assert data["compare"]["labels"] == [r["period"] for r in compare]
    assert figures(data["compare"]["amount"]) == figures(r["forecast_amount"] for r in compare)
    assert figures(data["compare"]["weighted"]) == figures(r["forecast_weighted"] for r in compare)
    assert figures(data["compare"]["won"]) == figures(r["won"] for r in compare)
    # the quarters before the snapshot have no forecast (a gap in the chart, not a zero); Q2 has the snapshot's
    assert data["compare"]["labels"][-1] == "2026-Q2"
    assert data["compare"]["amount"][0] is None and data["compare"]["amount"][-1] == 67000.0

    funnel = deals.get("/reports/pipeline?currency=USD").json["funnel"]
    assert data["funnel"]["labels"] == [r["name"] for r in funnel]
    assert data["funnel"]["entered"] == [r["entered"] for r in funnel]
    assert data["funnel"]["advanced"] == [r["advanced"] for r in funnel]
    assert data["funnel"]["entered"][0] == 3  # all three deals entered the first stage

    # the words the charts show come from the page, not from the script
    assert data["texts"]["weighted"] == "Weighted" and data["texts"]["unweighted"] == "Unweighted"
    assert data["texts"]["amount"] == "Amount in USD" and data["texts"]["group"] == "Close month"
    # each chart is an image with a summary, its table beside it
    assert 'role="img" aria-label="Bar chart of the open amount, unweighted and weighted, by close month, in USD: ' \
           '$67,000.00 unweighted, $6,700.00 weighted.' in html
    assert 'id="forecast-table"' in html and 'id="compare-table"' in html and 'id="funnel"' in html
    assert "/assets/vendor/chartjs/chart.umd.min.js" in html and "/assets/charts.js" in html


def test_a_rep_charts_only_their_own_deals_by_stage_and_the_grouping_reads_as_words(client, deals):
    login(client, "rep@x.test")
    html = client.get("/forecast?group_by=stage&currency=USD").text
    data = chart_data(html)
    assert data["forecast"]["labels"] == ["Lead"]
    assert data["forecast"]["amount"] == [60000.0] and data["forecast"]["weighted"] == [6000.0]
    assert data["texts"]["group"] == "Stage"
    assert '<option value="stage" selected>Stage</option>' in html  # the grouping by its label, not its key


def test_no_chart_is_drawn_from_a_total_that_lacks_a_rate(client, deals):
    login(client, "manager@x.test")
    page = client.get("/forecast?currency=EUR")
    assert page.status_code == 422
    assert 'id="chart-data"' not in page.text and "charts.js" not in page.text


def test_in_norwegian_the_charts_speak_bokmal_and_format_as_nb_no(client, deals):
    login(client, "manager@x.test")
    html = client.get("/forecast?group_by=month&currency=USD", headers={"Accept-Language": "nb-NO,nb;q=0.9"}).text
    data = chart_data(html)
    assert data["locale"] == "nb-NO"  # what charts.js formats ticks and tooltips with, as the tables are
    assert data["texts"]["weighted"] == "Vektet" and data["texts"]["unweighted"] == "Uvektet"
    assert data["texts"]["amount"] == "Beløp i USD" and data["texts"]["group"] == "Avslutningsmåned"
    assert data["texts"]["forecast_weighted"] == "Prognose, vektet" and data["texts"]["won"] == "Vunnet"
    assert "<h1>Prognose</h1>" in html and "Stolpediagram over åpent beløp" in html
