"""Lanes are a picture of roles (API, both backends): an upload with the pipeline, a stage or a boundary event in a
lane — as bpmn-js writes it after an edit — is a new version, and who does a task is its som.role alone (the rep
when it has none), whatever lane lists it. A lane naming an element that does not exist is still refused."""

from __future__ import annotations

from som_flow.processes import shipped_bpmn
from tests.helpers import Api, make_customer, make_user

CSR_LANE = '<bpmn:lane id="lane_csr" name="csr">'


def _as_a_modeler_leaves_it() -> str:
    """The standard sale after an edit in bpmn-js: the pipeline, a stage and a boundary event listed in lanes, and a
    "Contact the prospect" that lost its som.role and is listed in the csr lane."""
    xml = shipped_bpmn("standard-sale")
    xml = xml.replace(CSR_LANE, CSR_LANE + "<bpmn:flowNodeRef>pipeline</bpmn:flowNodeRef>"
                      "<bpmn:flowNodeRef>stage_lead</bpmn:flowNodeRef><bpmn:flowNodeRef>on_lose</bpmn:flowNodeRef>"
                      "<bpmn:flowNodeRef>task_lead_2</bpmn:flowNodeRef>")
    contact = xml.index('name="Contact the prospect"')
    role = xml.index('<spiffworkflow:property name="som.role" value="rep"/>', contact)
    return xml[:role] + xml[role + len('<spiffworkflow:property name="som.role" value="rep"/>'):]


def test_an_upload_with_the_pipeline_in_a_lane_is_a_new_version_whose_roles_come_from_som_role(client):
    make_user("admin@x.test", "admin")
    rep = make_user("rep@x.test", "rep")
    customer = make_customer()
    api = Api(client, "admin@x.test")
    before = api.get("/kinds/standard-sale").json["current_version"]

    r = api.put("/kinds/standard-sale/bpmn", _as_a_modeler_leaves_it().encode())
    assert r.status_code == 201, r.json
    assert r.json["number"] == before + 1

    deal = api.post("/opportunities", {"title": "Lanes", "customer_id": customer.id, "kind": "standard-sale",
                                       "sales_rep": rep.id})
    assert deal.status_code == 201, deal.json
    tasks = api.get(f"/tasks?opportunity={deal.json['id']}&status=open").json["items"]
    contact = next(t for t in tasks if t["title"] == "Contact the prospect")
    assert contact["role"] == "rep"  # listed in the csr lane, but without som.role it is the rep's
    assert contact["assignee"] == rep.id


def test_a_lane_naming_an_element_that_does_not_exist_is_refused_and_nothing_is_stored(client):
    make_user("admin@x.test", "admin")
    api = Api(client, "admin@x.test")
    before = api.get("/kinds/standard-sale").json["current_version"]
    xml = shipped_bpmn("standard-sale").replace(CSR_LANE, CSR_LANE + "<bpmn:flowNodeRef>nowhere</bpmn:flowNodeRef>")

    r = api.put("/kinds/standard-sale/bpmn", xml.encode())
    assert r.status_code == 422
    assert any("nowhere" in message for messages in r.json["errors"].values() for message in messages)
    assert api.get("/kinds/standard-sale").json["current_version"] == before
