"""PATCH /opportunities/{id} merges `answers` and `custom` (JSON merge patch, RFC 7396): the keys named change, a
key set to null goes, every other answer, value and field of the deal stays as it was."""

from __future__ import annotations

import pytest

from tests.helpers import Api, make_customer, make_user

UNTOUCHED = ("title", "description", "amount", "currency", "probability", "probability_source", "stage",
             "sales_rep", "follow_up_date", "anticipated_close_date", "product", "priority", "customer_id")


@pytest.fixture
def deal(client):
    """A deal with two answers and two user-defined values, and the rep working it."""
    make_user("admin@x.test", "admin")
    rep_user = make_user("rep@x.test", "rep")
    admin, rep = Api(client, "admin@x.test"), Api(client, "rep@x.test")
    for body in ({"key": "roof", "label": "Roof type", "type": "text"},
                 {"key": "floors", "label": "Floors", "type": "number"},
                 {"key": "built", "label": "Built on", "type": "date"}):
        assert admin.post("/custom-fields", body).status_code == 201
    from som_flow.services import catalogs

    catalogs.create_question("budget", "qualification", "Has a budget?", answer_type="bool", required=True)
    catalogs.create_question("owner", "qualification", "Talking to the owner?", answer_type="bool")
    catalogs.create_question("size", "profile", "House size (m²)", answer_type="number")
    catalogs.create_question("heating", "profile", "Heating", answer_type="choice", choices=["gas", "oil", "heat pump"])
    catalogs.create_question("visit", "profile", "Last service visit", answer_type="date")
    r = rep.post("/opportunities", {
        "title": "New roof", "customer_id": make_customer().id, "kind": "standard-sale", "amount": "1200.00",
        "sales_rep": rep_user.id, "product": "furnace", "anticipated_close_date": "2026-06-30",
        "answers": {"budget": True, "owner": False}, "custom": {"roof": "tile", "floors": 2}})
    assert r.status_code == 201, r.json
    return rep, r.json


def _same_except(before: dict, after: dict, *changed: str) -> None:
    for name in UNTOUCHED:
        if name not in changed:
            assert after[name] == before[name], name


def test_patching_one_answer_keeps_the_other_answers_and_every_field(deal):
    rep, before = deal
    r = rep.patch(f"/opportunities/{before['id']}", {"answers": {"owner": True}})
    assert r.status_code == 200, r.json
    assert r.json["answers"] == {"budget": True, "owner": True}
    assert r.json["custom"] == {"roof": "tile", "floors": 2}
    _same_except(before, r.json)
    assert rep.get(f"/opportunities/{before['id']}").json["answers"] == {"budget": True, "owner": True}


def test_an_answer_set_to_null_is_removed_and_the_others_stay(deal):
    rep, before = deal
    r = rep.patch(f"/opportunities/{before['id']}", {"answers": {"owner": None}})
    assert r.status_code == 200, r.json
    assert r.json["answers"] == {"budget": True}
    _same_except(before, r.json)


def test_patching_one_user_defined_value_keeps_the_others(deal):
    rep, before = deal
    r = rep.patch(f"/opportunities/{before['id']}", {"custom": {"built": "1998-05-01"}})
    assert r.status_code == 200, r.json
    assert r.json["custom"] == {"roof": "tile", "floors": 2, "built": "1998-05-01"}
    r = rep.patch(f"/opportunities/{before['id']}", {"custom": {"roof": None}})
    assert r.json["custom"] == {"floors": 2, "built": "1998-05-01"}
    _same_except(before, r.json)


def test_each_changed_answer_is_its_own_entry_in_the_history(deal):
    rep, before = deal
    rep.patch(f"/opportunities/{before['id']}", {"answers": {"owner": True, "size": 140}})
    changes = [e["data"] for e in rep.history(before['id'])
               if e["type"] == "field_changed"]
    assert {"field": "answers.owner", "label": "Talking to the owner?", "old": False, "new": True} in changes
    assert {"field": "answers.size", "label": "House size (m²)", "old": None, "new": 140} in changes
    assert not any(c["field"] == "answers.budget" for c in changes)


@pytest.mark.parametrize(("answers", "field", "words"), [
    ({"size": "big"}, "answers.size", "Enter a number."),
    ({"size": float("nan")}, "answers.size", "Enter a number."),
    ({"visit": "last spring"}, "answers.visit", "Enter a date (YYYY-MM-DD)."),
    ({"heating": "wood"}, "answers.heating", "Choose one of gas, oil, heat pump."),
    ({"budget": "yes"}, "answers.budget", "Answer yes or no."),
])
def test_an_answer_of_the_wrong_type_is_refused_naming_it_and_nothing_changes(deal, answers, field, words):
    rep, before = deal
    r = rep.patch(f"/opportunities/{before['id']}", {"answers": {"owner": True, **answers}})
    assert r.status_code == 422
    assert r.json["errors"] == {field: [words]}
    after = rep.get(f"/opportunities/{before['id']}").json
    assert after["answers"] == {"budget": True, "owner": False}
    assert after["version"] == before["version"]


def test_probability_goes_back_to_the_stage_default(deal):
    rep, before = deal
    assert before["probability_source"] == "stage_default"
    r = rep.patch(f"/opportunities/{before['id']}", {"probability": 55})
    assert (r.json["probability"], r.json["probability_source"]) == (55, "manual")
    r = rep.patch(f"/opportunities/{before['id']}", {"probability_source": "stage_default"})
    assert r.status_code == 200, r.json
    assert (r.json["probability"], r.json["probability_source"]) == (before["probability"], "stage_default")
    _same_except(before, r.json)


def test_a_named_probability_level_sets_its_percent(deal):
    rep, before = deal
    r = rep.patch(f"/opportunities/{before['id']}", {"probability_level": "hot"})
    assert r.status_code == 200, r.json
    assert (r.json["probability_level"], r.json["probability"], r.json["probability_source"]) == ("hot", 80, "manual")
    r = rep.patch(f"/opportunities/{before['id']}", {"probability_level": "lukewarm"})
    assert r.status_code == 422 and set(r.json["errors"]) == {"probability_level"}


def test_terms_of_sale_employee_lead_and_date_are_edited_alone(deal, client):
    rep, before = deal
    lead = make_user("lead@x.test", "csr")
    r = rep.patch(f"/opportunities/{before['id']}", {"terms_of_sale": "30 days net", "employee_lead": lead.id,
                                                     "date": "2026-02-27"})
    assert r.status_code == 200, r.json
    assert (r.json["terms_of_sale"], r.json["employee_lead"], r.json["date"]) == ("30 days net", lead.id, "2026-02-27")
    _same_except(before, r.json)


def test_a_job_must_belong_to_the_deals_customer(deal):
    rep, before = deal
    from som_flow.services import customers

    own_job = customers.create_customer(None, {"kind": "organization", "name": "Roof 2026",
                                               "parent_id": before["customer_id"]})
    other = make_customer("Other Ltd")
    r = rep.patch(f"/opportunities/{before['id']}", {"job_id": other.id})
    assert r.status_code == 422 and set(r.json["errors"]) == {"job_id"}
    r = rep.patch(f"/opportunities/{before['id']}", {"job_id": own_job.id})
    assert r.status_code == 200 and r.json["job_id"] == own_job.id
    # another customer takes the old customer's job off the deal
    r = rep.patch(f"/opportunities/{before['id']}", {"customer_id": other.id})
    assert (r.json["customer_id"], r.json["job_id"]) == (other.id, None)


def test_a_non_numeric_id_is_a_422_naming_the_field(deal):
    rep, before = deal
    for field in ("employee_lead", "job_id", "customer_id", "sales_rep"):
        r = rep.patch(f"/opportunities/{before['id']}", {field: "abc"})
        assert r.status_code == 422 and field in r.json["errors"], (field, r.json)
