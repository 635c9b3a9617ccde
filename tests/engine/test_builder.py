"""The kind designer's builder: valid profile BPMN, drawn for bpmn-js, reproducible."""

from __future__ import annotations

from uuid import UUID

import pytest
from lxml import etree

from som_flow.engine import parse_xml
from som_flow.engine import profile as p
from som_flow.errors import ValidationFailed
from som_flow.processes import build_kind_bpmn, validate_bpmn

STAGES = [
    {"key": "lead", "name": "Lead", "probability": 10},
    {"key": "deal", "name": "Deal", "probability": 60},
]
NS = {"bpmn": p.BPMN_NS, "bpmndi": p.BPMNDI_NS, "dc": p.DC_NS, "di": p.DI_NS}


def _kwargs(**extra):
    return {"key": "k", "name": "K", "type": "custom", "stages": STAGES, **extra}


def test_builder_output_is_reproducible_and_valid():
    first = build_kind_bpmn(**_kwargs(allow_skip=True, stage_sla={"lead": "PT4H"}))
    assert first == build_kind_bpmn(**_kwargs(allow_skip=True, stage_sla={"lead": "PT4H"}))
    definition = validate_bpmn(first)
    assert [(s.key, s.name, s.probability, s.sla) for s in definition.stages] == [
        ("lead", "Lead", 10, "PT4H"),
        ("deal", "Deal", 60, None),
    ]


@pytest.mark.parametrize("kind", ["standard-sale", "service-contract", "stageless"])
def test_every_element_and_flow_is_drawn(kind):
    from som_flow.processes import shipped_bpmn

    root = parse_xml(shipped_bpmn(kind))
    drawn = {el.get("bpmnElement") for el in root.iterfind(".//bpmndi:BPMNShape", NS)}
    drawn |= {el.get("bpmnElement") for el in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    process = root.find("bpmn:process", NS)
    for el in process.iterdescendants():
        if not isinstance(el.tag, str) or not el.get("id"):
            continue
        local = etree.QName(el).localname
        if local.endswith("EventDefinition") or local == "laneSet":
            continue
        assert el.get("id") in drawn, f"{el.get('id')} has no shape"
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        assert len(edge.findall("di:waypoint", NS)) >= 2
    for expanded in ("pipeline",):
        shape = root.find(f".//bpmndi:BPMNShape[@bpmnElement='{expanded}']", NS)
        assert shape.get("isExpanded") == "true"


def test_a_task_without_som_role_is_reps_whatever_lane_draws_it(engine):
    """Lanes are a picture: a modeler moves shapes between lanes, so only som.role says who does the work."""
    xml = build_kind_bpmn(**_kwargs(stage_tasks={"lead": [{"title": "Call back", "role": "csr"}]}))
    assert "<bpmn:flowNodeRef>task_lead_1</bpmn:flowNodeRef>" in xml.split('id="lane_csr"')[1].split("</bpmn:lane>")[0]
    xml = xml.replace('<spiffworkflow:property name="som.role" value="csr"/>', "")
    definition = engine.definition(4242, xml)
    run = engine.start(definition, {})
    (task,) = [t for t in engine.snapshot(run).ready_tasks if not t.gate]
    assert (task.title, task.role) == ("Call back", "rep")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"stages": [{"key": "Bad Key", "name": "x"}]}, "stages"),
        ({"stages": STAGES + [STAGES[0]]}, "stages"),
        ({"stage_tasks": {"nowhere": [{"title": "x"}]}}, "stage_tasks"),
        ({"stage_tasks": {"lead": [{"title": "x", "role": "pilot"}]}}, "stage_tasks"),
        ({"stage_sla": {"lead": "two weeks"}}, "stage_sla"),
        ({"type": "weird"}, "type"),
    ],
)
def test_builder_refuses_bad_input(change, field):
    with pytest.raises(ValidationFailed) as refused:
        build_kind_bpmn(**{**_kwargs(), **change})
    assert field in refused.value.errors


def test_standard_kind_ignores_skip_and_back_flags():
    definition = validate_bpmn(build_kind_bpmn(**_kwargs(type="standard", allow_skip=True, allow_back=True)))
    assert definition.allow_back is False


def test_service_task_with_a_registered_operation_runs(engine):
    xml = build_kind_bpmn(**_kwargs())
    service = (
        '<bpmn:serviceTask id="set_prob"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="set_probability"><spiffworkflow:parameters>'
        '<spiffworkflow:parameter id="percent" type="int" value="amount // 100"/>'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>"
        "</bpmn:serviceTask>"
    )
    xml = xml.replace('<bpmn:startEvent id="start_lead"/>', '<bpmn:startEvent id="start_lead"/>' + service)
    xml = xml.replace(
        'sourceRef="start_lead" targetRef="gate_lead"/>',
        'sourceRef="start_lead" targetRef="set_prob"/>'
        '<bpmn:sequenceFlow id="flow_sp" sourceRef="set_prob" targetRef="gate_lead"/>',
    )
    definition = engine.definition(4343, xml)
    run = engine.start(definition, {"amount": 4200})
    gate = engine.snapshot(run).ready_tasks[0]
    assert gate.gate
    assert run.workflow.get_task_from_id(UUID(gate.id)).data["spiff__set_prob_result"] == {
        "effect": "set_probability",
        "percent": 42,
    }
