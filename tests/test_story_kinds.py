"""Stories 4 and 8: the kinds of seed 002 and the admin's design day, through the API."""

from __future__ import annotations

import pytest

from tests.helpers import Api, make_customer, make_user

GOOD_UPLOAD_STAGES = ["lead", "qualification", "proposal"]


@pytest.fixture
def admin(app, client):
    make_user("admin@x.test", "admin")
    make_user("rep@x.test", "rep")
    make_user("manager@x.test", "manager")
    return Api(client, "admin@x.test")


def _deal(api: Api, kind: str, **extra) -> dict:
    customer = make_customer(f"Customer for {kind}")
    r = api.post("/opportunities", {"title": f"{kind} deal", "customer_id": customer.id, "kind": kind, **extra})
    assert r.status_code == 201, r.json
    return r.json


def test_admin_designs_a_custom_kind_and_running_deals_keep_their_version(admin, client):
    design = {"key": "field-sale", "name": "Field sale", "type": "custom", "stages": GOOD_UPLOAD_STAGES,
              "allow_skip": True,
              "stage_tasks": {"qualification": [{"title": "Qualify budget", "role": "rep", "required": True}]},
              "stage_sla": {"proposal": "P14D"}}
    r = admin.post("/kinds", design)
    assert r.status_code == 201, r.json
    assert r.json["current_version"] == 1
    assert [s["key"] for s in r.json["stages"]] == GOOD_UPLOAD_STAGES

    bpmn = admin.get("/kinds/field-sale/bpmn")
    assert bpmn.status_code == 200 and bpmn.mimetype == "application/xml"
    assert b"bpmndi:BPMNDiagram" in bpmn.data and b"Qualify budget" in bpmn.data

    manager = Api(client, "manager@x.test")
    old = _deal(manager, "field-sale")
    assert old["kind_version"] == 1

    design["stage_tasks"]["qualification"].append({"title": "Meet the decision maker", "role": "rep"})
    assert admin.post("/kinds", design).status_code == 422  # creating never overwrites: a redesign is a PUT
    r = client.put("/api/v1/kinds/field-sale", json=design, headers=admin.headers)
    assert r.status_code == 200, r.json
    assert r.json["current_version"] == 2
    new = _deal(manager, "field-sale")
    assert new["kind_version"] == 2
    assert manager.get(f"/opportunities/{old['id']}").json["kind_version"] == 1

    # a required task in Qualification blocks leaving it, with its name
    moved = manager.post(f"/opportunities/{new['id']}/stage", {"stage": "qualification"})
    assert moved.status_code == 200, moved.json
    blocked = manager.post(f"/opportunities/{new['id']}/stage", {"stage": "proposal"})
    assert blocked.status_code == 422
    assert "Qualify budget" in blocked.json["detail"]


def test_a_custom_kind_allows_exactly_the_declared_skips(admin, client):
    admin.post("/kinds", {"key": "quick", "name": "Quick", "type": "custom", "stages": GOOD_UPLOAD_STAGES,
                          "allow_skip": True})
    admin.post("/kinds", {"key": "strict", "name": "Strict", "type": "custom", "stages": GOOD_UPLOAD_STAGES})
    manager = Api(client, "manager@x.test")
    quick, strict = _deal(manager, "quick"), _deal(manager, "strict")
    assert set(quick["allowed_stages"]) == {"qualification", "proposal"}
    assert manager.post(f"/opportunities/{quick['id']}/stage", {"stage": "proposal"}).status_code == 200
    refused = manager.post(f"/opportunities/{strict['id']}/stage", {"stage": "proposal"})
    assert refused.status_code == 409 and "Qualification" in refused.json["detail"]
    back = manager.post(f"/opportunities/{quick['id']}/stage", {"stage": "lead"})
    assert back.status_code == 409


def test_a_standard_kind_cannot_be_designed_with_skips(admin):
    r = admin.post("/kinds", {"key": "std", "name": "Std", "type": "standard", "stages": GOOD_UPLOAD_STAGES,
                              "allow_skip": True})
    assert r.status_code == 422 and "type" in r.json["errors"]


def test_a_stageless_kind_has_no_stage_and_no_funnel(admin, client):
    manager = Api(client, "manager@x.test")
    deal = _deal(manager, "stageless")
    assert deal["stage"] is None and deal["allowed_stages"] == []
    assert manager.post(f"/opportunities/{deal['id']}/stage", {"stage": "lead"}).status_code == 409
    won = manager.post(f"/opportunities/{deal['id']}/win", {})
    assert won.status_code == 200 and won.json["status"] == "won"


def test_a_kind_not_allowed_cannot_be_chosen_for_a_new_opportunity(admin, client):
    assert admin.patch("/kinds/service-contract", {"allowed": False}).json["allowed"] is False
    customer = make_customer()
    r = Api(client, "manager@x.test").post("/opportunities", {"title": "x", "customer_id": customer.id,
                                                              "kind": "service-contract"})
    assert r.status_code == 422 and "kind" in r.json["errors"]


def test_a_good_uploaded_bpmn_becomes_a_new_version(admin):
    xml = admin.get("/kinds/service-contract/bpmn").data
    r = admin.put("/kinds/service-contract/bpmn", xml)
    assert r.status_code == 201, r.json
    assert r.json["number"] == 2
    assert admin.get("/kinds/service-contract").json["current_version"] == 2


HOSTILE = {
    "billion laughs": (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
                       b'<definitions>&lol2;</definitions>'),
    "external entity": (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                        b'<definitions>&xxe;</definitions>'),
    "not xml": b"this is not xml <",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_upload_is_refused_and_nothing_changes(admin, name):
    before = admin.get("/kinds/standard-sale").json
    r = admin.put("/kinds/standard-sale/bpmn", HOSTILE[name])
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json" and r.json["errors"]
    assert admin.get("/kinds/standard-sale").json == before


def test_a_script_task_is_refused_with_its_element_id(admin):
    xml = admin.get("/kinds/standard-sale/bpmn").data.decode()
    hostile = xml.replace("</bpmn:process>", '<bpmn:scriptTask id="evil"><bpmn:script>'
                          "__import__('os').system('id')</bpmn:script></bpmn:scriptTask></bpmn:process>", 1)
    assert hostile != xml
    r = admin.put("/kinds/standard-sale/bpmn", hostile.encode())
    assert r.status_code == 422
    assert "evil" in r.json["errors"]
    assert admin.get("/kinds/standard-sale").json["current_version"] == 1


def test_only_admins_change_kinds(admin, client):
    rep = Api(client, "rep@x.test")
    assert rep.post("/kinds", {"key": "k", "name": "K", "type": "stageless"}).status_code == 403
    assert client.put("/api/v1/kinds/stageless", json={"key": "stageless", "name": "K", "type": "stageless"},
                      headers=rep.headers).status_code == 403
    assert rep.put("/kinds/standard-sale/bpmn", b"<x/>").status_code == 403
    assert client.get("/api/v1/kinds").status_code == 401
