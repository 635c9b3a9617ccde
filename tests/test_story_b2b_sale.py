"""Stories 2, 3, 5 and 9 through the JSON API: a standard sale, a rep's own probability, a lost deal, a race."""

from __future__ import annotations

import pytest

from tests.helpers import Api, make_customer, make_user


@pytest.fixture
def people(app):
    make_user("manager@x.test", "manager")
    rep = make_user("rep@x.test", "rep")
    make_user("csr@x.test", "csr")
    customer = make_customer("Northwind Traders")
    return {"rep": rep, "customer": customer}


def office_and_rep(client) -> Api:
    """The manager stands in for the office and the rep doing the stage's required tasks."""
    return Api(client, "manager@x.test")


def _new_deal(api: Api, people, **extra) -> dict:
    body = {"title": "CRM licenses", "customer_id": people["customer"].id, "kind": "standard-sale",
            "amount": "50000.00", "currency": "USD", "sales_rep": people["rep"].id, **extra}
    r = api.post("/opportunities", body)
    assert r.status_code == 201, r.json
    return r.json


def test_a_50000_deal_walks_the_standard_stages_and_is_won(client, people):
    rep = Api(client, "rep@x.test")
    deal = _new_deal(Api(client, "csr@x.test"), people)
    assert (deal["stage"], deal["probability"], deal["amount"]) == ("lead", 10, "50000.00")
    assert deal["allowed_stages"] == ["qualification"]

    skipped = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "proposal"})
    assert skipped.status_code == 409
    assert skipped.mimetype == "application/problem+json"
    assert "Qualification" in skipped.json["detail"]

    expected = {"qualification": 20, "proposal": 50, "negotiation": 80}
    for stage, probability in expected.items():
        office_and_rep(client).finish_required_tasks(deal["id"])
        moved = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": stage})
        assert moved.status_code == 200, moved.json
        assert (moved.json["stage"], moved.json["probability"]) == (stage, probability)

    won = rep.post(f"/opportunities/{deal['id']}/win", {"reason": "relationship"})
    assert won.status_code == 200, won.json
    assert (won.json["status"], won.json["closed"], won.json["probability"]) == ("won", True, 100)
    assert won.json["resolved_date"] == "2026-03-02"

    history = rep.history(deal['id'])
    moves = [(e["data"]["from"], e["data"]["to"]) for e in history if e["type"] == "stage_changed"]
    assert moves == [(None, "lead"), ("lead", "qualification"), ("qualification", "proposal"),
                     ("proposal", "negotiation")]
    assert all(e["at"] for e in history)
    assert {e["actor"] for e in history if e["type"] in ("stage_changed", "won")} >= {"Rep"}
    assert history[-1]["type"] == "won"


def test_a_probability_set_by_hand_survives_the_next_stage_change(client, people):
    rep = Api(client, "rep@x.test")
    deal = _new_deal(rep, people)
    r = rep.patch(f"/opportunities/{deal['id']}", {"probability": 22})
    assert r.status_code == 200, r.json
    office_and_rep(client).finish_required_tasks(deal["id"])
    moved = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"})
    assert moved.json["stage"] == "qualification"
    assert moved.json["probability"] == 22
    assert moved.json["probability_set_by_hand"] is True


def test_a_deal_lost_on_price_stays_and_counts_in_the_history(client, people):
    rep = Api(client, "rep@x.test")
    deal = _new_deal(rep, people)
    office_and_rep(client).finish_required_tasks(deal["id"])
    rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"})
    bad = rep.post(f"/opportunities/{deal['id']}/lose", {"reason": "too-expensive"})
    assert bad.status_code == 422 and "reason" in bad.json["errors"]
    lost = rep.post(f"/opportunities/{deal['id']}/lose", {"reason": "price", "explanation": "Competitor 20% lower"})
    assert lost.status_code == 200, lost.json
    assert (lost.json["status"], lost.json["closed"], lost.json["probability"]) == ("lost", True, 0)
    assert lost.json["reason"] == "price" and lost.json["stage"] == "qualification"
    again = rep.get(f"/opportunities/{deal['id']}")
    assert again.status_code == 200 and again.json["explanation"] == "Competitor 20% lower"
    refused = rep.post("/appointments", {"opportunity_id": deal["id"], "title": "Visit",
                                         "start": "2026-03-03T10:00:00+00:00", "end": "2026-03-03T11:00:00+00:00"})
    assert refused.status_code == 409


def test_two_reps_drag_the_same_card_and_one_move_happens(client, people):
    rep = Api(client, "rep@x.test")
    manager = Api(client, "manager@x.test")
    deal = _new_deal(rep, people)
    office_and_rep(client).finish_required_tasks(deal["id"])
    seen = rep.get(f"/opportunities/{deal['id']}").json["version"]
    first = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification", "version": seen})
    second = manager.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification", "version": seen})
    assert first.status_code == 200
    assert second.status_code == 409
    assert "changed" in second.json["detail"]
    history = rep.history(deal['id'])
    assert [e["data"]["to"] for e in history if e["type"] == "stage_changed"] == ["lead", "qualification"]


def test_a_stale_if_match_is_refused_and_nothing_changes(client, people):
    rep = Api(client, "rep@x.test")
    deal = _new_deal(rep, people)
    r = rep.patch(f"/opportunities/{deal['id']}", {"title": "New title"}, headers={"If-Match": '"999"'})
    assert r.status_code == 412
    assert rep.get(f"/opportunities/{deal['id']}").json["title"] == "CRM licenses"


def test_a_move_with_a_stale_if_match_is_a_412_and_moves_nothing(client, people):
    """API.md: 412 for an `If-Match` version mismatch, on a move as on an edit (the 409 is for a version in the body
    or another writer)."""
    rep = Api(client, "rep@x.test")
    deal = _new_deal(rep, people)
    office_and_rep(client).finish_required_tasks(deal["id"])
    seen = rep.get(f"/opportunities/{deal['id']}").json["version"]
    rep.patch(f"/opportunities/{deal['id']}", {"title": "Renamed"})  # someone's edit moves the version on
    r = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"}, headers={"If-Match": f'"{seen}"'})
    assert r.status_code == 412, r.json
    assert r.headers["Content-Type"] == "application/problem+json" and "changed" in r.json["detail"]
    assert rep.get(f"/opportunities/{deal['id']}").json["stage"] == "lead"
    now = rep.get(f"/opportunities/{deal['id']}").json["version"]
    r = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"}, headers={"If-Match": f'"{now}"'})
    assert r.status_code == 200 and r.json["stage"] == "qualification"


def test_a_bulk_actions_refusals_are_problems_in_the_callers_language(client, people):
    """API.md: `failed: {id: problem}`, each with its type, title, status, detail and the fields it names."""
    rep = Api(client, "rep@x.test")
    deal = _new_deal(rep, people)
    r = rep.post("/opportunities/bulk", {"ids": [deal["id"]], "action": "lose"})
    assert r.status_code == 200 and r.json["done"] == []
    refused = r.json["failed"][str(deal["id"])]
    assert (refused["type"], refused["title"], refused["status"]) == ("about:blank", "Unprocessable entity", 422)
    assert list(refused["errors"]) == ["reason"]
    norwegian = rep.post("/opportunities/bulk", {"ids": [deal["id"]], "action": "lose"},
                         headers={"Accept-Language": "nb-NO"}).json["failed"][str(deal["id"])]
    assert norwegian["title"] not in ("", "Unprocessable entity") and norwegian["errors"]["reason"] != ["Missing."]
    assert rep.get(f"/opportunities/{deal['id']}").json["status"] == "in_progress"


def test_a_deals_history_comes_a_page_at_a_time_oldest_first(client, people):
    """API.md: a deal's history grows with the business, so it is `{items, total, page, per_page}`."""
    rep = Api(client, "rep@x.test")
    deal = _new_deal(rep, people)
    for n in range(3):
        assert rep.patch(f"/opportunities/{deal['id']}", {"title": f"Title {n}"}).status_code == 200
    whole = rep.get(f"/opportunities/{deal['id']}/history").json
    assert (whole["page"], whole["per_page"], whole["total"]) == (1, 50, len(whole["items"]))
    titles = [e["data"]["new"] for e in whole["items"]
              if e["type"] == "field_changed" and e["data"]["field"] == "title"]
    assert titles == ["Title 0", "Title 1", "Title 2"]
    pages = [rep.get(f"/opportunities/{deal['id']}/history?per_page=2&page={p}").json
             for p in range(1, whole["total"] // 2 + 2)]
    assert all(p["total"] == whole["total"] and p["per_page"] == 2 for p in pages)
    assert [e for p in pages for e in p["items"]] == whole["items"]
    assert rep.get(f"/opportunities/{deal['id']}/history?page=99").json == {
        "items": [], "total": whole["total"], "page": 99, "per_page": 50}
    refused = rep.get(f"/opportunities/{deal['id']}/history?per_page=500")
    assert refused.status_code == 422 and "per_page" in refused.json["errors"]
