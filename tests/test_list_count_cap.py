"""The deal list page counts the matching deals only up to a cap (issue #17 item 3: at 100,000 deals the exact
count was the manager's list's slowest statement, on every page): beyond it the page says "N+ found" and keeps
offering the next page; a page past the cap counts up to its own rows. The API's `total` stays exact (API.md)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from som_flow.extensions import db
from som_flow.services import opportunities
from som_flow.web.ui import pages
from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def office(app, client, monkeypatch):
    monkeypatch.setattr(pages, "LIST_COUNT_CAP", 30)
    csr = make_user("csr@x.test", "csr")
    customer = make_customer("Northwind Traders")
    for n in range(35):
        opportunities.create_opportunity(csr, {"title": f"Deal {n:03d}", "customer_id": customer.id,
                                               "kind": "standard-sale"})
    return login(client, "csr@x.test")


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_a_list_longer_than_the_cap_says_more_than_it_counted_and_pages_on(office):
    first = _page(office, "/opportunities?per_page=25")
    assert "30+ found" in first and "Page 1 of 2+" in first
    assert 'page=2" rel="next"' in first
    assert len(re.findall(r'<tr data-id="\d+"', first)) == 25
    # the last page is past the cap: it counts up to its own rows, so it knows it is the last
    last = _page(office, "/opportunities?per_page=25&page=2")
    assert "35 found" in last and "Page 2 of 2" in last and 'rel="next"' not in last
    assert len(re.findall(r'<tr data-id="\d+"', last)) == 10
    # a filter that matches fewer than the cap is counted exactly
    few = _page(office, "/opportunities?q=deal+00")
    assert "10 found" in few and "Page 1 of 1" in few and "+ found" not in few


def test_the_api_total_stays_exact(office):
    r = Api(office, "csr@x.test").get("/opportunities?per_page=25")
    assert r.status_code == 200 and r.json["total"] == 35


def test_the_capped_count_reads_no_more_rows_than_the_cap_and_one(office):
    seen = []

    def record(conn, cursor, statement, parameters, *_args):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        _page(office, "/opportunities?per_page=25")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    [(count, parameters)] = [(s, p) for s, p in seen if s.lstrip().lower().startswith("select count(*)")
                             and "FROM opportunity" in s]
    assert "LIMIT" in count
    assert 31 in (parameters.values() if isinstance(parameters, dict) else parameters)
