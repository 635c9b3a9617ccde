"""Lists that reach every row: paging with filters and sort in the URL, a rep's "my open deals", amounts sorted
in one currency, bulk actions over a whole filter, and the row's quick-action menu — on the page and the API."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from som_flow.services import catalogs, opportunities
from som_flow.web.ui import pages
from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def office(app, client):
    csr = make_user("csr@x.test", "csr")
    rep = make_user("rep@x.test", "rep")
    return {"csr": csr, "rep": rep, "customer": make_customer("Northwind Traders"), "client": client}


def _deals(office, count: int, title: str = "Deal", **extra) -> list[int]:
    return [opportunities.create_opportunity(office["csr"], {
        "title": f"{title} {n:03d}", "customer_id": office["customer"].id, "kind": "standard-sale", **extra}).id
        for n in range(count)]


def _rows(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', html)]


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_the_second_page_of_150_deals_shows_the_next_rows_and_keeps_filters_and_sort(office):
    ids = _deals(office, 150, amount="100.00")
    client = login(office["client"], "csr@x.test")

    first = _page(client, "/opportunities?q=deal&sort=title")
    assert "150 found" in first and "Page 1 of 3" in first
    assert _rows(first) == ids[:50]  # by title, 000 first
    # the next link keeps the search and the sort; there is no previous page
    assert 'href="/opportunities?q=deal&amp;sort=title&amp;page=2" rel="next"' in first and 'rel="prev"' not in first

    second = _page(client, "/opportunities?q=deal&sort=title&page=2")
    assert _rows(second) == ids[50:100] and "Page 2 of 3" in second
    assert 'page=1" rel="prev"' in second and 'page=3" rel="next"' in second
    last = _page(client, "/opportunities?q=deal&sort=title&page=3&per_page=50")
    assert _rows(last) == ids[100:] and 'rel="next"' not in last
    assert _rows(_page(client, "/opportunities?q=deal&sort=title&per_page=200")) == ids

    beyond = _page(client, "/opportunities?q=deal&page=9")
    assert _rows(beyond) == [] and "go to the first page" in beyond

    api = Api(client, "csr@x.test")
    one, two = (api.get(f"/opportunities?sort=title&per_page=100&page={p}").json for p in (1, 2))
    assert (one["total"], two["page"], two["per_page"]) == (150, 2, 100)
    assert [o["id"] for o in one["items"] + two["items"]] == ids


def test_paging_parameters_that_are_no_numbers_are_refused_not_a_500(office):
    client = login(office["client"], "csr@x.test")
    for bad in ("page=two", "page=0", "per_page=500", "per_page=x"):
        refused = client.get(f"/opportunities?{bad}")
        assert refused.status_code == 422, bad
        assert ("page:" in refused.text or "per page:" in refused.text), refused.text[:300]
        assert Api(client, "csr@x.test").get(f"/opportunities?{bad}").status_code == 422
    assert client.get("/customers?page=two").status_code == 422


def test_a_rep_lands_on_my_open_deals_and_can_see_everyone_s(office):
    rep, csr = office["rep"], office["csr"]
    mine = _deals(office, 2, "Mine", sales_rep=rep.id)
    won = _deals(office, 1, "Won", sales_rep=rep.id)[0]
    opportunities.win(csr, won)
    others = _deals(office, 2, "Theirs")
    client = login(office["client"], "rep@x.test")

    html = _page(client, "/opportunities")
    assert "My open deals" in html and sorted(_rows(html)) == sorted(mine)
    # the landing is a filter like any other: its links carry it on
    assert '<option value="me" selected>' in html and '<option value="open" selected>' in html
    assert 'href="/opportunities?assignee=me&amp;status=open&amp;stage=lead"' in html
    assert sorted(_rows(_page(client, "/opportunities?assignee=me&status=open"))) == sorted(mine)
    everyone = _page(client, "/opportunities?all=1")
    assert sorted(_rows(everyone)) == sorted(mine + [won] + others)

    api = Api(client, "rep@x.test")
    assert sorted(o["id"] for o in api.get("/opportunities?assignee=me&status=open").json["items"]) == sorted(mine)
    # the office opens the whole list
    csr_client = login(office["client"].application.test_client(), "csr@x.test")
    assert csr_client.get("/opportunities").status_code == 200


def test_sorting_by_amount_converts_currencies_as_the_forecast_does(office):
    for currency, rate in (("EUR", "1.10"), ("NOK", "0.10")):
        catalogs.set_exchange_rate(currency, "USD", Decimal(rate), date(2000, 1, 1))
    nok = _deals(office, 1, "Oslo", amount="89528.00", currency="NOK")[0]      # 8,952.80 USD
    eur = _deals(office, 1, "Berlin", amount="10000.00", currency="EUR")[0]    # 11,000 USD
    usd = _deals(office, 1, "Boston", amount="9000.00", currency="USD")[0]     # 9,000 USD
    gbp = _deals(office, 1, "London", amount="99999.00", currency="GBP")[0]   # no rate: last either way
    client = login(office["client"], "csr@x.test")
    api = Api(client, "csr@x.test")

    assert [o["id"] for o in api.get("/opportunities?sort=-amount").json["items"]] == [eur, usd, nok, gbp]
    assert [o["id"] for o in api.get("/opportunities?sort=amount").json["items"]] == [nok, usd, eur, gbp]
    html = _page(client, "/opportunities?sort=-amount")
    assert _rows(html) == [eur, usd, nok, gbp] and "a currency with no rate is listed last" in html


def test_bulk_acts_on_every_deal_matching_the_filter_not_only_the_page(office):
    matching = _deals(office, 30, "Boat")
    others = _deals(office, 3, "Crane")
    client = login(office["client"], "csr@x.test")

    done = client.post("/opportunities?q=boat&per_page=25", data={"scope": "filter", "action": "hold"})
    assert done.status_code == 200 and "Put on hold: 30 done, 0 refused." in done.text
    api = Api(client, "csr@x.test")
    statuses = {o["id"]: o["status"] for o in api.get("/opportunities?per_page=200").json["items"]}
    assert {statuses[i] for i in matching} == {"on_hold"} and {statuses[i] for i in others} == {"in_progress"}

    # a refused row says why, also when it is not on the page shown
    again = client.post("/opportunities?q=boat&status=on_hold&per_page=10",
                        data={"scope": "filter", "action": "lose", "reason": "no-such-reason"})
    assert "Mark lost: 0 done, 30 refused." in again.text and "30 refused</summary>" in again.text


def test_bulk_over_a_filter_is_capped_and_says_so(office, monkeypatch):
    monkeypatch.setattr(pages, "BULK_CAP", 5)
    ids = _deals(office, 6, "Boat")
    client = login(office["client"], "csr@x.test")
    refused = client.post("/opportunities?q=boat", data={"scope": "filter", "action": "hold"})
    assert refused.status_code == 422
    assert "6 deals match this filter; a bulk action takes at most 5. Narrow the filter." in refused.text
    assert "at most 5 at a time" in refused.text
    nothing_ticked = client.post("/opportunities", data={"scope": "ticked", "action": "hold"})
    assert nothing_ticked.status_code == 422 and "Tick at least one row" in nothing_ticked.text
    no_number = client.post("/opportunities", data={"ids": [str(ids[0])], "action": "assign", "user_id": "abc"})
    assert no_number.status_code == 422 and "user id: Not a valid integer." in no_number.text
    assert {opportunities.get_opportunity(i).status for i in ids} == {"in_progress"}


def test_the_row_menu_offers_the_quick_actions_and_comes_back_to_the_list(office):
    [deal] = _deals(office, 1, "Boat")
    client = login(office["client"], "rep@x.test")

    def menu(html: str) -> str:
        start = html.index('<details class="row-menu">')
        return html[start:html.index("</details>", start)]

    # a free deal: the rep may only claim it ("assign to me")
    offered = menu(_page(client, "/opportunities?q=boat"))
    assert ">Open<" in offered and ">Assign to me<" in offered and ">Hold<" not in offered
    # each action comes back to the list it was chosen on
    claimed = client.post(f"/opportunities/{deal}/claim", data={"next": "/opportunities?q=boat"})
    assert claimed.status_code == 302 and claimed.headers["Location"] == "/opportunities?q=boat"
    offered = menu(_page(client, "/opportunities?q=boat"))
    for item in ("Open", "Move to Qualification", "Hold", "Mark lost"):
        assert f">{item}<" in offered, item
    assert ">Assign to me<" not in offered
    held = client.post(f"/opportunities/{deal}/hold", data={"next": "/opportunities?q=boat"})
    assert held.headers["Location"] == "/opportunities?q=boat"
    opp = opportunities.get_opportunity(deal)
    assert opp.status == "on_hold" and opp.sales_rep_id == office["rep"].id
    after = menu(_page(client, "/opportunities?q=boat"))
    assert ">Assign to me<" not in after and ">Hold<" not in after and ">Mark lost<" in after

    # the office is no sales rep: nothing to assign to itself; a scheduler reads the list but acts on nothing
    csr = login(office["client"].application.test_client(), "csr@x.test")
    office_menu = menu(_page(csr, "/opportunities?q=boat"))
    assert ">Assign to me<" not in office_menu and ">Mark lost<" in office_menu
    make_user("sched@x.test", "scheduler")
    sched = login(office["client"].application.test_client(), "sched@x.test")
    seen = menu(_page(sched, "/opportunities?q=boat"))
    assert ">Open<" in seen and ">Mark lost<" not in seen
