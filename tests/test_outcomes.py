"""Outcomes as dialogs that ask (won: reason, explanation, resolved date, a job; lost: a reason nobody chose for
you) and a resolved date before the deal's own date refused — on the API and the deal page, both backends."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from som_flow.extensions import db
from som_flow.models import Appointment
from som_flow.services import appointments
from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def world(app, client, clock):
    rep = make_user("rep@x.test", "rep", timezone="Pacific/Auckland")
    make_user("manager@x.test", "manager")
    buyer = make_customer("Northwind Traders")
    api = Api(client, "rep@x.test")
    deal = api.post("/opportunities", {"title": "Heat pumps", "customer_id": buyer.id, "kind": "standard-sale",
                                       "sales_rep": rep.id}).json
    return {"rep": rep, "buyer": buyer, "deal": deal["id"], "api": api}


def _book(world):
    return appointments.create_appointment(world["rep"], {
        "title": "Site survey", "opportunity_id": world["deal"],
        "start": datetime(2026, 3, 4, 13, 0, tzinfo=UTC), "end": datetime(2026, 3, 4, 14, 0, tzinfo=UTC)})


def test_won_with_a_reason_and_a_job_moves_the_estimate_and_the_appointment_to_the_job(world):
    api, deal = world["api"], world["deal"]
    estimate = api.post(f"/opportunities/{deal}/estimates",
                        {"lines": [{"description": "Heat pump", "quantity": "1", "price": "9000"}]}).json
    visit = _book(world)
    won = api.post(f"/opportunities/{deal}/win", {"reason": "relationship", "explanation": "Knew us",
                                                  "resolved_date": "2026-03-02", "create_job": True,
                                                  "job_name": "Heat pumps, Oslo"})
    assert won.status_code == 200, won.json
    assert (won.json["status"], won.json["reason"], won.json["resolved_date"]) == ("won", "relationship",
                                                                                   "2026-03-02")
    job = api.get(f"/customers/{won.json['job_id']}").json
    assert (job["name"], job["parent_id"]) == ("Heat pumps, Oslo", world["buyer"].id)
    assert estimate["customer_id"] == world["buyer"].id
    assert api.get(f"/opportunities/{deal}/estimates").json[0]["customer_id"] == job["id"]
    db.session.expire_all()
    assert db.session.get(Appointment, visit.id).customer_id == job["id"]


@pytest.mark.parametrize("outcome", ["win", "lose"])
def test_a_resolved_date_before_the_deals_date_is_refused_naming_it(world, outcome):
    api, deal = world["api"], world["deal"]
    body = {"resolved_date": "2026-03-01", **({"reason": "price"} if outcome == "lose" else {})}
    r = api.post(f"/opportunities/{deal}/{outcome}", body)
    assert r.status_code == 422, r.json
    assert "resolved_date" in r.json["errors"] and "2026-03-02" in r.json["errors"]["resolved_date"][0]
    assert api.get(f"/opportunities/{deal}").json["status"] == "in_progress"  # nothing was decided
    same_day = api.post(f"/opportunities/{deal}/{outcome}", {**body, "resolved_date": "2026-03-02"})
    assert same_day.status_code == 200 and same_day.json["resolved_date"] == "2026-03-02"


def test_the_dialogs_ask_without_choosing_for_the_user(client, world, app):
    login(client, "rep@x.test")
    page = client.get(f"/opportunities/{world['deal']}").get_data(as_text=True)
    won = page[page.index('data-dialog="win"'):page.index('data-dialog="lose"')]
    lost = page[page.index('data-dialog="lose"'):page.index('data-dialog="hold"')]
    assert re.search(r'<select name="reason"><option value="">— choose a reason —</option>', won)
    assert re.search(r'<select name="reason" required><option value="">— choose a reason —</option>', lost)
    assert "selected" not in won.split('name="reason"')[1].split("</select>")[0]
    assert "selected" not in lost.split('name="reason"')[1].split("</select>")[0]
    # today in the rep's own zone (09:00 UTC is 22:00 in Auckland, still 2 March) and the pattern's job name
    assert 'name="resolved_date" value="2026-03-02"' in won
    assert 'name="job_name" value="Northwind Traders - Heat pumps 2026"' in won
    for confirm in ("Yes, put on hold", "Yes, unassign"):
        assert confirm in page
    assert "cannot be moved until someone resumes it" in page


def test_won_on_the_page_with_a_reason_and_a_job(client, world):
    deal = world["deal"]
    login(client, "rep@x.test")
    r = client.post(f"/opportunities/{deal}/win", data={"reason": "relationship", "explanation": "Knew us",
                                                        "resolved_date": "2026-03-02", "create_job": "1",
                                                        "job_name": "Heat pumps job"})
    assert r.status_code == 302
    opp = world["api"].get(f"/opportunities/{deal}").json
    assert (opp["status"], opp["reason"], opp["explanation"]) == ("won", "relationship", "Knew us")
    assert world["api"].get(f"/customers/{opp['job_id']}").json["name"] == "Heat pumps job"
    page = client.get(f"/opportunities/{deal}").get_data(as_text=True)
    assert "Reopen…" in page and "Yes, reopen" in page and "the deal goes back in progress at" in page

    # a second click (a stale tab): nothing typed was wrong, so it is told in words on the deal page
    again = client.post(f"/opportunities/{deal}/win", data={"reason": "price"}, follow_redirects=True)
    assert "is closed (won); reopen it to win it." in again.get_data(as_text=True)
    assert world["api"].get(f"/opportunities/{deal}").json["reason"] == "relationship"


def test_a_refused_outcome_keeps_what_was_typed_beside_the_message(client, world):
    deal = world["deal"]
    login(client, "rep@x.test")
    lost = client.post(f"/opportunities/{deal}/lose", data={"reason": "", "explanation": "They went quiet",
                                                            "resolved_date": "2026-03-05"})
    assert lost.status_code == 422
    page = lost.get_data(as_text=True)
    dialog = page[page.index('data-dialog="lose"'):page.index('data-dialog="hold"')]
    assert 'data-dialog="lose" open' in dialog
    assert ">They went quiet</textarea>" in dialog and 'value="2026-03-05"' in dialog
    assert '<span class="field-error" id="err-reason">Choose a reason.</span>' in dialog

    early = client.post(f"/opportunities/{deal}/win", data={"reason": "relationship", "explanation": "Early bird",
                                                            "resolved_date": "2026-02-27", "create_job": "1",
                                                            "job_name": "My job"})
    assert early.status_code == 422
    dialog = early.get_data(as_text=True)
    dialog = dialog[dialog.index('data-dialog="win"'):dialog.index('data-dialog="lose"')]
    assert '<option value="relationship" selected>' in dialog and ">Early bird</textarea>" in dialog
    assert 'value="2026-02-27"' in dialog and 'value="My job"' in dialog
    assert 'name="create_job" value="1" checked' in dialog
    assert "Must be on or after the deal&#39;s date, 2026-03-02." in dialog
    assert world["api"].get(f"/opportunities/{deal}").json["status"] == "in_progress"


def test_hold_resume_and_unassign_still_act_from_their_confirm_forms(client, world):
    deal = world["deal"]
    login(client, "rep@x.test")
    client.post(f"/opportunities/{deal}/hold")
    assert world["api"].get(f"/opportunities/{deal}").json["status"] == "on_hold"
    assert "Yes, resume" in client.get(f"/opportunities/{deal}").get_data(as_text=True)
    client.post(f"/opportunities/{deal}/resume")
    client.post(f"/opportunities/{deal}/unassign")
    assert world["api"].get(f"/opportunities/{deal}").json["sales_rep"] is None
