"""The opportunity list: filters that never 500, and bulk actions with a result per row."""

from __future__ import annotations

import pytest

from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def deals(app, client):
    make_user("csr@x.test", "csr")
    rep = make_user("rep@x.test", "rep")
    northwind = make_customer("Northwind Traders")
    fjord = make_customer("Fjord Fisheries")
    api = Api(client, "csr@x.test")
    made = {}
    for title, customer, close in [("CRM licenses", northwind, "2026-04-01"), ("Boat sensors", fjord, "2026-05-01"),
                                   ("Support plan", northwind, "2026-06-01")]:
        r = api.post("/opportunities", {"title": title, "customer_id": customer.id,
                                        "kind": "standard-sale", "amount": "1000.00",
                                        "anticipated_close_date": close})
        assert r.status_code == 201, r.json
        made[title] = r.json
    return {"rep": rep, **made}


def rows(html: str) -> list[str]:
    return [t for t in ("CRM licenses", "Boat sensors", "Support plan") if f">{t}</a>" in html]


def test_the_list_filters_by_text_customer_close_date_and_sorts(client, deals):
    login(client, "csr@x.test")
    assert rows(client.get("/opportunities?q=fjord").get_data(as_text=True)) == ["Boat sensors"]
    html = client.get("/opportunities?close_from=2026-04-15&sort=anticipated_close_date").get_data(as_text=True)
    assert rows(html) == ["Boat sensors", "Support plan"] and "2 found" in html
    # malformed filters are a 422 naming each of them, not a 500
    refused = client.get("/opportunities?assignee=x&close_to=soon&sort=password_hash")
    assert refused.status_code == 422
    assert all(f"{name}:" in refused.text for name in ("assignee", "close to", "sort"))


def test_bulk_assign_and_stage_report_each_row(client, deals):
    login(client, "csr@x.test")
    ids = [deals[t]["id"] for t in ("CRM licenses", "Boat sensors")]
    r = client.post("/opportunities", data={"ids": [str(i) for i in ids], "action": "assign",
                                            "user_id": str(deals["rep"].id)})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Assign to: 2 done, 0 refused." in html
    api = Api(client, "csr@x.test")
    assert {api.get(f"/opportunities/{i}").json["sales_rep"] for i in ids} == {deals["rep"].id}

    # skipping stages is refused per deal, with the process's reason on that row; nothing moves
    r = client.post("/opportunities", data={"ids": [str(i) for i in ids], "action": "stage", "stage": "proposal"})
    html = r.get_data(as_text=True)
    assert "Move to stage: 0 done, 2 refused." in html
    assert html.count('<span class="error">') == 2 and "Qualification" in html
    assert {api.get(f"/opportunities/{i}").json["stage"] for i in ids} == {"lead"}


def test_bulk_needs_a_role_that_may_change_deals(client, deals):
    make_user("sched@x.test", "scheduler")
    login(client, "sched@x.test")
    page = client.get("/opportunities").get_data(as_text=True)
    assert 'id="bulk-form"' in page and 'name="ids"' not in page
    r = client.post("/opportunities", data={"ids": [str(deals["Support plan"]["id"])], "action": "hold"})
    assert "0 done, 1 refused." in r.get_data(as_text=True)
    assert Api(client, "csr@x.test").get(f"/opportunities/{deals['Support plan']['id']}").json["status"] == \
        "in_progress"
