"""A BPMN service task's operation has its effect: set_probability sets the deal's probability, notify notifies
the rep or a role; each once, with an event. An operation that is not registered is refused at upload."""

from __future__ import annotations

from sqlalchemy import select

from som_flow.extensions import db
from som_flow.models import Event, Notification
from som_flow.processes import build_kind_bpmn
from tests.helpers import Api, make_customer, make_user


def _kind_with_service_tasks(*operators: str) -> str:
    """A two-stage custom kind whose Lead runs the given service tasks before its gate."""
    xml = build_kind_bpmn(key="ops", name="Ops", type="custom",
                          stages=[{"key": "lead", "name": "Lead"}, {"key": "proposal", "name": "Proposal"}])
    chain, previous = "", "start_lead"
    flows = ""
    for index, operator in enumerate(operators):
        chain += (f'<bpmn:serviceTask id="op{index}"><bpmn:extensionElements>{operator}'
                  "</bpmn:extensionElements></bpmn:serviceTask>")
        flows += f'<bpmn:sequenceFlow id="flow_op{index}" sourceRef="{previous}" targetRef="op{index}"/>'
        previous = f"op{index}"
    xml = xml.replace('<bpmn:startEvent id="start_lead"/>', '<bpmn:startEvent id="start_lead"/>' + chain)
    return xml.replace('<bpmn:sequenceFlow id="flow_lead_gate" sourceRef="start_lead" targetRef="gate_lead"/>',
                       flows + f'<bpmn:sequenceFlow id="flow_ops_gate" sourceRef="{previous}" targetRef="gate_lead"/>')


SET_PROBABILITY = ('<spiffworkflow:serviceTaskOperator id="set_probability"><spiffworkflow:parameters>'
                   '<spiffworkflow:parameter id="percent" type="int" value="amount // 100"/>'
                   "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>")
NOTIFY_MANAGERS = ('<spiffworkflow:serviceTaskOperator id="notify"><spiffworkflow:parameters>'
                   '<spiffworkflow:parameter id="to" type="str" value="\'manager\'"/>'
                   '<spiffworkflow:parameter id="message" type="str" value="\'A big lead came in\'"/>'
                   "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>")


def test_service_tasks_set_the_probability_and_notify_the_managers_once(client):
    make_user("admin@x.test", "admin")
    rep_user = make_user("rep@x.test", "rep")
    manager = make_user("manager@x.test", "manager")
    admin, rep = Api(client, "admin@x.test"), Api(client, "rep@x.test")
    xml = _kind_with_service_tasks(SET_PROBABILITY, NOTIFY_MANAGERS)
    assert "flow_ops_gate" in xml, "the test's BPMN edit found the start flow"
    r = admin.put("/kinds/ops/bpmn", xml.encode())
    assert r.status_code == 201, r.json
    r = rep.post("/opportunities", {"title": "Big roof", "customer_id": make_customer().id, "kind": "ops",
                                    "sales_rep": rep_user.id, "amount": "4200.00"})
    assert r.status_code == 201, r.json
    deal = r.json
    assert (deal["probability"], deal["probability_source"]) == (42, "process")
    notes = list(db.session.scalars(select(Notification).where(Notification.opportunity_id == deal["id"])))
    assert [(n.user_id, n.body) for n in notes] == [(manager.id, "A big lead came in")]
    events = list(db.session.scalars(select(Event).where(Event.opportunity_id == deal["id"]).order_by(Event.id)))
    assert [e.type for e in events].count("process_notified") == 1
    changes = [e.data for e in events if e.type == "field_changed"]
    assert changes[-1] == {"field": "probability", "old": 10, "new": 42, "by": "op0"}  # after Lead's default

    # later steps do not perform them again
    assert rep.patch(f"/opportunities/{deal['id']}", {"title": "Big roof, slate"}).status_code == 200
    assert rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "proposal"}).status_code == 200
    assert db.session.scalar(select(db.func.count()).select_from(Notification)
                             .where(Notification.opportunity_id == deal["id"])) == 1


def test_an_operation_that_is_not_registered_is_refused_at_upload_naming_the_task(client):
    make_user("admin@x.test", "admin")
    admin = Api(client, "admin@x.test")
    booking = '<spiffworkflow:serviceTaskOperator id="create_appointment"/>'
    r = admin.put("/kinds/ops/bpmn", _kind_with_service_tasks(booking).encode())
    assert r.status_code == 422
    assert "create_appointment" in r.json["errors"]["op0"][0]
    assert admin.get("/kinds/ops").status_code == 404
