"""Story 6, the manager's Monday: a currency-correct forecast, the pipeline report, forecast vs actual — and
the suggested probability beside the rep's own."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from som_flow.services import catalogs
from som_flow.services.forecast import take_snapshot
from tests.helpers import Api, make_customer, make_user


@pytest.fixture
def people(app):
    make_user("manager@x.test", "manager")
    rep = make_user("rep@x.test", "rep")
    other = make_user("ola@x.test", "rep")
    make_user("csr@x.test", "csr")
    customer = make_customer("Northwind Traders")
    catalogs.set_exchange_rate("NOK", "USD", Decimal("0.095"), date(2026, 1, 1))
    catalogs.set_exchange_rate("EUR", "USD", Decimal("1.08"), date(2026, 1, 1))
    # a later rate, not yet in force on the story's Monday: must not be used
    catalogs.set_exchange_rate("EUR", "USD", Decimal("2.00"), date(2026, 12, 1))
    return {"rep": rep, "other": other, "customer": customer}


def deal(api: Api, people, amount: str, currency: str = "USD", rep: str = "rep", **extra) -> dict:
    body = {"title": f"{amount} {currency}", "customer_id": people["customer"].id, "kind": "standard-sale",
            "amount": amount, "currency": currency, "sales_rep": people[rep].id, **extra}
    r = api.post("/opportunities", body)
    assert r.status_code == 201, r.json
    return r.json


def move(api: Api, opp_id: int, *stages: str) -> None:
    for stage in stages:
        api.finish_required_tasks(opp_id)
        r = api.post(f"/opportunities/{opp_id}/stage", {"stage": stage})
        assert r.status_code == 200, r.json


def test_next_quarters_forecast_sums_amount_times_probability_in_one_currency(client, people):
    manager = Api(client, "manager@x.test")
    deal(manager, people, "50000.00", anticipated_close_date="2026-04-15")  # lead 10% -> 5,000 USD
    nok = deal(manager, people, "200000.00", "NOK", anticipated_close_date="2026-05-20")
    move(manager, nok["id"], "qualification")  # 20% of 200,000 NOK = 40,000 NOK = 3,800 USD
    deal(manager, people, "10000.00", "EUR", rep="other", anticipated_close_date="2026-06-30")  # 1,000 EUR
    deal(manager, people, "99999.00", anticipated_close_date="2026-07-01")  # next-next quarter
    won = deal(manager, people, "7000.00", anticipated_close_date="2026-04-02")
    assert manager.post(f"/opportunities/{won['id']}/win", {"reason": "relationship"}).status_code == 200

    r = manager.get("/forecast?group_by=quarter&currency=USD&from=2026-04-01&to=2026-06-30")
    assert r.status_code == 200, r.json
    assert r.json["currency"] == "USD"
    assert (r.json["total_amount"], r.json["weighted_total"]) == ("79800.00", "9880.00")
    assert [(g["key"], g["count"], g["weighted"]) for g in r.json["groups"]] == [("2026-Q2", 3, "9880.00")]

    by_month = manager.get("/forecast?group_by=month&from=2026-04-01&to=2026-06-30").json
    assert [(g["key"], g["amount"], g["weighted"]) for g in by_month["groups"]] == [
        ("2026-04", "50000.00", "5000.00"), ("2026-05", "19000.00", "3800.00"), ("2026-06", "10800.00", "1080.00")]

    by_rep = manager.get("/forecast?group_by=rep&from=2026-04-01&to=2026-06-30").json
    assert {g["label"]: g["weighted"] for g in by_rep["groups"]} == {"Rep": "8800.00", "Ola": "1080.00"}

    by_stage = manager.get("/forecast?group_by=stage&from=2026-04-01&to=2026-06-30").json
    assert [(g["key"], g["label"], g["count"]) for g in by_stage["groups"]] == [
        ("lead", "Lead", 2), ("qualification", "Qualification", 1)]

    in_nok = manager.get("/forecast?group_by=quarter&currency=NOK&from=2026-04-01&to=2026-06-30").json
    assert in_nok["weighted_total"] == "104000.00"  # 5,000/0.095 + 40,000 + 1,000×1.08/0.095

    # a rep alone sees only their own deals; the office does not read the forecast
    mine = Api(client, "rep@x.test").get("/forecast?group_by=quarter&from=2026-04-01&to=2026-06-30").json
    assert mine["weighted_total"] == "8800.00"
    assert Api(client, "csr@x.test").get("/forecast").status_code == 403


def test_a_missing_exchange_rate_is_an_error_naming_the_pair_not_a_zero(client, people):
    manager = Api(client, "manager@x.test")
    deal(manager, people, "1000.00", anticipated_close_date="2026-04-15")
    deal(manager, people, "1000.00", "GBP", anticipated_close_date="2026-04-15")
    r = manager.get("/forecast?currency=USD")
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert "GBP→USD" in r.json["errors"]["currency"][0]

    added = manager.post("/exchange-rates", {"currency": "GBP", "base": "USD", "rate": "1.25",
                                              "valid_from": "2026-03-01"})
    assert added.status_code == 403  # rates are an admin's
    make_user("admin@x.test", "admin")
    admin = Api(client, "admin@x.test")
    assert admin.post("/exchange-rates", {"currency": "GBP", "base": "USD", "rate": "1.25",
                                          "valid_from": "2026-03-01"}).status_code == 201
    assert manager.get("/forecast?currency=USD").json["weighted_total"] == "225.00"


def test_the_pipeline_report_shows_the_funnel_stuck_and_overdue_deals(client, clock, people):
    manager = Api(client, "manager@x.test")
    stuck = deal(manager, people, "30000.00", anticipated_close_date="2026-06-01")
    planned = deal(manager, people, "20000.00", anticipated_close_date="2026-06-01")
    late = deal(manager, people, "5000.00", anticipated_close_date="2026-03-10")
    lost = deal(manager, people, "8000.00", "EUR")
    won = deal(manager, people, "12000.00", marketing_source="customer_referral")
    move(manager, stuck["id"], "qualification", "proposal")
    move(manager, planned["id"], "qualification", "proposal")
    move(manager, lost["id"], "qualification")
    assert manager.post(f"/opportunities/{lost['id']}/lose", {"reason": "price"}).status_code == 200
    assert manager.post(f"/opportunities/{won['id']}/win", {"reason": "relationship"}).status_code == 200

    clock.advance(days=10)
    assert manager.patch(f"/opportunities/{planned['id']}", {"follow_up_date": "2026-03-25"}).status_code == 200
    clock.advance(days=10)  # Monday 22 March: Proposal's SLA is 14 days

    r = manager.get("/reports/pipeline")
    assert r.status_code == 200, r.json
    report = r.json
    assert report["stuck"] == [stuck["id"]]  # the other has a follow-up planned
    assert report["overdue"] == [late["id"]]
    assert (report["won"], report["lost"], report["win_rate"]) == (1, 1, 0.5)
    assert report["average_won_amount"] == "12000.00"
    assert report["lost_reasons"] == [{"reason": "price", "count": 1}]
    funnel = {row["stage"]: row for row in report["funnel"]}
    assert [row["stage"] for row in report["funnel"]][:4] == ["lead", "qualification", "proposal", "negotiation"]
    assert (funnel["lead"]["entered"], funnel["lead"]["advanced"], funnel["lead"]["conversion"]) == (5, 4, 0.8)
    assert (funnel["qualification"]["entered"], funnel["qualification"]["advanced"]) == (3, 2)
    assert funnel["qualification"]["conversion"] == pytest.approx(0.6667)
    assert (funnel["proposal"]["entered"], funnel["proposal"]["advanced"]) == (2, 0)
    assert funnel["proposal"]["average_days_in_stage"] == 20.0
    sources = {row["source"]: row["win_rate"] for row in report["win_rate_by"]["source"]}
    assert sources == {"customer_referral": 1.0, None: 0.0}

    # filtered to the other rep's deals: nothing decided, nothing stuck
    other = manager.get(f"/reports/pipeline?rep={people['other'].id}").json
    assert (other["won"], other["lost"], other["win_rate"], other["stuck"]) == (0, 0, 0.0, [])
    assert Api(client, "csr@x.test").get("/reports/pipeline").status_code == 403


def test_a_deal_that_goes_back_and_forth_counts_once_per_stage_in_the_funnel(client, clock, people):
    manager = Api(client, "manager@x.test")
    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    steady = deal(manager, people, "100.00", kind="service-contract")["id"]
    wavering = deal(manager, people, "100.00", kind="service-contract")["id"]
    for stage in ("proposal", "negotiation"):
        clock.advance(days=2)
        move(manager, steady, stage)
    for stage in ("proposal", "lead", "proposal", "negotiation"):  # back to Lead once, then on again
        clock.advance(days=1)
        move(manager, wavering, stage)
    clock.advance(days=1)
    report = manager.get("/reports/pipeline?kind=service-contract").json
    funnel = {row["stage"]: row for row in report["funnel"]}
    # two deals entered each stage once, however often they came back; both left Lead and Proposal forward
    assert [(funnel[s]["entered"], funnel[s]["advanced"]) for s in ("lead", "proposal", "negotiation")] == [
        (2, 2), (2, 2), (2, 0)]
    # days per visit (steady moves on days 2 and 4, wavering on days 5, 6, 7, 8; the report on day 9):
    # Lead 2, 5, 1; Proposal 2, 1, 1; Negotiation still open in both, counted up to now: 5 and 1
    assert [funnel[s]["average_days_in_stage"] for s in ("lead", "proposal", "negotiation")] == [2.7, 1.3, 3.0]


def test_last_quarters_snapshot_stands_beside_what_was_actually_won(client, clock, people):
    manager = Api(client, "manager@x.test")
    first = deal(manager, people, "10000.00", anticipated_close_date="2026-04-20")
    deal(manager, people, "20000.00", anticipated_close_date="2026-05-20")
    taken = manager.post("/forecast/snapshots", {"currency": "USD"})
    assert taken.status_code == 201, taken.json
    assert taken.json["weighted_total"] == "3000.00"

    clock.set(datetime(2026, 5, 10, 9, 0, tzinfo=UTC))
    assert manager.post(f"/opportunities/{first['id']}/win", {"reason": "relationship"}).status_code == 200
    clock.set(datetime(2026, 7, 6, 9, 0, tzinfo=UTC))

    rows = manager.get("/forecast/compare?period=quarter&currency=USD&periods=2").json
    by_period = {row["period"]: row for row in rows}
    assert list(by_period) == ["2026-Q1", "2026-Q2", "2026-Q3"]
    q2 = by_period["2026-Q2"]
    assert (q2["forecast_weighted"], q2["forecast_amount"], q2["won"]) == ("3000.00", "30000.00", "10000.00")
    assert q2["snapshot_taken_at"].startswith("2026-03-02T09:00")
    assert by_period["2026-Q1"]["forecast_weighted"] is None  # no snapshot was taken before Q1 began


def test_the_scheduler_snapshots_once_a_week(app, clock, people):
    clock.set(datetime(2026, 3, 2, 6, 0, tzinfo=UTC))  # a Monday
    assert take_snapshot() is not None
    clock.advance(days=3)
    assert take_snapshot() is None  # same week
    clock.advance(days=4)
    assert take_snapshot() is not None


def test_a_suggested_probability_comes_from_history_and_never_overwrites(client, people):
    manager = Api(client, "manager@x.test")
    current = deal(manager, people, "1000.00")
    move(manager, current["id"], "qualification")
    r = manager.get(f"/opportunities/{current['id']}/probability-suggestion")
    assert r.status_code == 200
    assert (r.json["percent"], r.json["sample"]) == (None, 0)  # no history yet: no suggestion, no guess

    for outcome in ("win", "win", "win", "lose", "lose", "lose"):
        past = deal(manager, people, "1000.00")
        move(manager, past["id"], "qualification")
        body = {"reason": "relationship" if outcome == "win" else "price"}
        assert manager.post(f"/opportunities/{past['id']}/{outcome}", body).status_code == 200
    suggestion = manager.get(f"/opportunities/{current['id']}/probability-suggestion").json
    assert (suggestion["percent"], suggestion["sample"]) == (50, 6)
    assert (suggestion["probability"], suggestion["probability_source"]) == (20, "stage_default")
    assert manager.get(f"/opportunities/{current['id']}").json["probability"] == 20


def test_the_cli_takes_a_snapshot_and_names_a_missing_rate(app, runner, people):
    manager = Api(app.test_client(), "manager@x.test")
    deal(manager, people, "10000.00", anticipated_close_date="2026-04-20")
    result = runner.invoke(args=["forecast", "snapshot", "--currency", "usd"])
    assert result.exit_code == 0, result.output
    assert "weighted 1000.00 USD for 2026-03-01..2027-02-28" in result.output
    again = runner.invoke(args=["forecast", "snapshot"])
    assert "exists already" in again.output

    deal(manager, people, "10.00", "GBP", anticipated_close_date="2026-04-20")
    failed = runner.invoke(args=["forecast", "snapshot", "--force"])
    assert failed.exit_code == 1
    assert "GBP→USD" in failed.output
