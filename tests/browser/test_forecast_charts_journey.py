"""A manager reads the forecast's charts in Chromium: Chart.js draws each one (legend, series, axes in the currency)
over its table; on a phone the charts fit the screen and the page does not scroll sideways."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from som_flow.clock import FixedClock
from tests.browser.conftest import follow_menu_link
from tests.browser.test_phone_width import MEASURE

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 850}
CHARTS = ("forecast-chart", "compare-chart", "funnel-chart")

# what Chart.js holds for a canvas, and whether anything was painted on it
READ_CHART = """(id) => {
  const canvas = document.getElementById(id);
  const chart = Chart.getChart(canvas);
  if (!chart) return null;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted++;
  const value = chart.options.indexAxis === 'y' ? chart.scales.x : chart.scales.y;
  return {labels: chart.data.labels, series: chart.data.datasets.map((d) => d.label),
          legend: chart.legend.legendItems.map((i) => i.text), painted,
          valueTitle: value.options.title.text, ticks: value.ticks.map((t) => t.label),
          categoryTitle: (chart.options.indexAxis === 'y' ? chart.scales.y : chart.scales.x).options.title.text,
          width: canvas.getBoundingClientRect().width};
}"""


@pytest.fixture
def forecast_deals(live_server):
    """The served app fixed at 2 March 2026; two of the rep's deals closing in April and May, one in NOK."""
    from som_flow.extensions import db
    from som_flow.models import Customer, User
    from som_flow.services import catalogs, opportunities

    app, _, people = live_server
    app.extensions["som_clock"] = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with app.app_context():
        catalogs.set_exchange_rate("NOK", "USD", Decimal("0.1"), date(2026, 1, 1))
        csr = db.session.get(User, people["csr"])
        customer = db.session.query(Customer).filter_by(name="Northwind Traders").one()
        for title, amount, currency, close in [("Heat pumps", "50000.00", "USD", date(2026, 4, 20)),
                                               ("Fjord office", "100000.00", "NOK", date(2026, 5, 10))]:
            opportunities.create_opportunity(csr, {"title": title, "customer_id": customer.id, "kind": "standard-sale",
                                                   "amount": Decimal(amount), "currency": currency,
                                                   "sales_rep": people["rep"], "anticipated_close_date": close})
        db.session.remove()


def _chart(page, chart_id: str) -> dict:
    page.wait_for_function("(id) => window.Chart && Chart.getChart(document.getElementById(id))", arg=chart_id)
    return page.evaluate(READ_CHART, chart_id)


def test_a_manager_reads_the_forecast_charts_with_legend_axes_and_currency(sessions, forecast_deals, tmp_path):
    manager = sessions.new()
    page = manager.login("manager@x.test")
    page.set_viewport_size(DESKTOP)
    follow_menu_link(page, "Forecast")
    page.get_by_label("Currency").select_option("USD")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#weighted-total")).to_have_text("$6,000.00")

    forecast = _chart(page, "forecast-chart")
    assert forecast["labels"] == ["2026-04", "2026-05"]
    assert forecast["series"] == forecast["legend"] == ["Unweighted", "Weighted"]
    assert forecast["valueTitle"] == "Amount in USD" and forecast["categoryTitle"] == "Close month"
    assert all(t.startswith("$") for t in forecast["ticks"]), forecast["ticks"]  # the currency in the ticks
    assert forecast["painted"] > 1000  # drawn, not a blank canvas
    # the table beside it says the same figures
    table = page.locator("#forecast-table")
    expect(table.get_by_role("row", name="2026-04")).to_contain_text("$50,000.00")
    expect(table.get_by_role("row", name="2026-05")).to_contain_text("$1,000.00")
    expect(page.get_by_role("img", name="Bar chart of the open amount, unweighted and weighted, by close month"))\
        .to_be_visible()

    compare = _chart(page, "compare-chart")
    assert compare["legend"] == ["Forecast, unweighted", "Forecast, weighted", "Won"]
    assert compare["labels"][-1] == "2026-Q1"
    assert compare["categoryTitle"] == "Quarter" and compare["painted"] > 0

    funnel = _chart(page, "funnel-chart")
    assert funnel["legend"] == ["Entered", "Advanced"] and funnel["labels"][0] == "Lead"
    assert funnel["valueTitle"] == "Deals" and funnel["painted"] > 0

    page.screenshot(path=str(tmp_path / "forecast-desktop.png"), full_page=True)
    # a tooltip names the series and gives the figure as the table does
    box = page.locator("#forecast-chart").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    page.wait_for_function("() => Chart.getChart(document.getElementById('forecast-chart')).tooltip.opacity > 0")
    tooltip = page.evaluate("() => Chart.getChart(document.getElementById('forecast-chart')).tooltip.body"
                            ".map((b) => b.lines.join(' '))")
    assert tooltip in (["Unweighted: $50,000.00", "Weighted: $5,000.00"], ["Unweighted: $50,000.00"],
                       ["Weighted: $5,000.00"]), tooltip
    manager.assert_no_console_errors()


def test_on_a_phone_the_forecast_charts_fit_the_screen(sessions, forecast_deals, tmp_path):
    rep = sessions.new()
    page = rep.login("rep@x.test")
    page.set_viewport_size(PHONE)
    follow_menu_link(page, "Forecast")
    expect(page.get_by_role("heading", name="Forecast", level=1)).to_be_visible()
    for chart_id in CHARTS:
        chart = _chart(page, chart_id)
        assert 0 < chart["width"] <= PHONE["width"], (chart_id, chart["width"])
        assert chart["painted"] > 0, chart_id
    measured = page.evaluate(MEASURE)
    assert measured["scroll"] <= PHONE["width"], measured["wide"]
    page.screenshot(path=str(tmp_path / "forecast-phone.png"), full_page=True)
    rep.assert_no_console_errors()


def test_in_norwegian_the_charts_speak_bokmal(sessions, forecast_deals):
    manager = sessions.new()
    page = manager.login("manager@x.test")  # the login form's labels are English; the pages after it bokmål
    manager.page.set_extra_http_headers({"Accept-Language": "nb-NO,nb;q=0.9"})
    page.set_viewport_size(DESKTOP)
    page.goto("/forecast?group_by=month&currency=USD")
    expect(page.get_by_role("heading", name="Prognose", level=1)).to_be_visible()
    forecast = _chart(page, "forecast-chart")
    assert forecast["legend"] == ["Uvektet", "Vektet"]
    assert forecast["valueTitle"] == "Beløp i USD" and forecast["categoryTitle"] == "Avslutningsmåned"
    # ticks in Norwegian number format with the currency, as the table's cells
    assert any("USD" in t and "\u00a0" in t for t in forecast["ticks"][1:]), forecast["ticks"]
    assert _chart(page, "compare-chart")["legend"] == ["Prognose, uvektet", "Prognose, vektet", "Vunnet"]
    manager.assert_no_console_errors()
