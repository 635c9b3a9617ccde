"""Reading what modelers write (processes/modeler.py), one rule at a time: properties from camunda:/zeebe:properties,
forms from Camunda and Zeebe, bare ISO timers, and the pipeline's plumbing added to a drawing that leaves it out."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from som_flow.engine import parse_xml, som_properties
from som_flow.engine import profile as p
from som_flow.errors import InvalidProcess
from som_flow.processes import SHIPPED, read_modeler_bpmn, shipped_bpmn, validate_bpmn, validate_follow_on_bpmn
from som_flow.processes.kinds import shipped_follow_on_bpmn

FIXTURES = Path(__file__).parent.parent / "bpmn_camunda"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
B = f"{{{p.BPMN_NS}}}"


def _doc(process: str, *, extra: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{p.BPMN_NS}" xmlns:camunda="{CAMUNDA}" xmlns:zeebe="{ZEEBE}"
    xmlns:spiffworkflow="{p.SPIFF_NS}" xmlns:xsi="{p.XSI_NS}" id="defs" targetNamespace="http://x.test">
  {extra}
  <bpmn:process id="proc" isExecutable="true">{process}</bpmn:process>
</bpmn:definitions>"""


def _task(inner: str, task_id: str = "Task_1") -> str:
    return f'<bpmn:userTask id="{task_id}" name="Call"><bpmn:extensionElements>{inner}</bpmn:extensionElements>' \
           "</bpmn:userTask>"


def _props_of(xml: str, element_id: str) -> dict[str, str]:
    root = parse_xml(xml)
    return som_properties(next(el for el in root.iter() if el.get("id") == element_id))


def _camunda_as_spiff(xml: str) -> str:
    """The shipped text with every spiffworkflow:properties written as Camunda Modeler's properties panel does."""
    return (xml.replace(f'xmlns:spiffworkflow="{p.SPIFF_NS}"', f'xmlns:spiffworkflow="{p.SPIFF_NS}" '
                                                            f'xmlns:camunda="{CAMUNDA}"')
            .replace("spiffworkflow:properties", "camunda:properties")
            .replace("spiffworkflow:property ", "camunda:property "))


# -- properties ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_a_shipped_kind_with_its_properties_written_as_camunda_properties_gives_the_same_stages(key):
    original = validate_bpmn(shipped_bpmn(key))
    xml, notes = read_modeler_bpmn(_camunda_as_spiff(shipped_bpmn(key)))
    read = validate_bpmn(xml)
    assert [(s.key, s.name, s.probability, s.required_fields, s.sla) for s in read.stages] == \
        [(s.key, s.name, s.probability, s.required_fields, s.sla) for s in original.stages]
    assert (read.allow_back, read.allow_early_win, read.required_tasks) == \
        (original.allow_back, original.allow_early_win, original.required_tasks)
    assert notes == [notes[0]] and notes[0].startswith("Read camunda:properties as som properties on pipeline")
    assert "camunda:property" not in xml  # one source is kept: the engine's


@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_the_shipped_kinds_come_back_unchanged_with_nothing_to_say(key):
    assert read_modeler_bpmn(shipped_bpmn(key)) == (shipped_bpmn(key), [])


@pytest.mark.parametrize("ns_prefix", ["camunda", "zeebe"])
def test_camunda_and_zeebe_properties_are_read_as_som_properties(ns_prefix):
    xml = _doc(_task(f'<{ns_prefix}:properties><{ns_prefix}:property name="som.role" value="csr"/>'
                     f'<{ns_prefix}:property name="som.due" value="P2D"/>'
                     f'<{ns_prefix}:property name="colour" value="blue"/></{ns_prefix}:properties>'))
    out, notes = read_modeler_bpmn(xml)
    assert _props_of(out, "Task_1") == {"som.role": "csr", "som.due": "P2D"}
    assert notes == [f"Read {ns_prefix}:properties as som properties on Task_1"]
    assert 'name="colour"' in out  # the modeler's own settings stay where it wrote them


def test_the_same_value_from_two_sources_is_not_a_conflict():
    xml = _doc(_task('<camunda:properties><camunda:property name="som.role" value="csr"/></camunda:properties>'
                     '<spiffworkflow:properties><spiffworkflow:property name="som.role" value="csr"/>'
                     "</spiffworkflow:properties>"))
    out, _ = read_modeler_bpmn(xml)
    assert _props_of(out, "Task_1") == {"som.role": "csr"}
    assert out.count('name="som.role"') == 1


def test_two_sources_that_disagree_are_refused_naming_the_element_and_both_values():
    xml = _doc(_task('<camunda:properties><camunda:property name="som.role" value="csr"/></camunda:properties>'
                     '<zeebe:properties><zeebe:property name="som.role" value="manager"/></zeebe:properties>'))
    with pytest.raises(InvalidProcess) as refused:
        read_modeler_bpmn(xml)
    assert list(refused.value.errors) == ["Task_1"]
    reason = refused.value.errors["Task_1"][0]
    assert "som.role" in reason and "'csr'" in reason and "'manager'" in reason


@pytest.mark.parametrize(("attributes", "inner", "role"), [
    ('camunda:candidateGroups="manager"', "", "manager"),
    ('camunda:candidateGroups=" CSR "', "", "csr"),
    ("", '<zeebe:assignmentDefinition candidateGroups="scheduler"/>', "scheduler"),
])
def test_a_candidate_group_that_is_a_role_becomes_the_tasks_role(attributes, inner, role):
    xml = _doc(f'<bpmn:userTask id="Task_1" {attributes}><bpmn:extensionElements>{inner}</bpmn:extensionElements>'
               "</bpmn:userTask>")
    out, notes = read_modeler_bpmn(xml)
    assert _props_of(out, "Task_1") == {p.ROLE: role}
    assert notes == [f"Read the candidate group as the som.role of Task_1 ({role})"]


@pytest.mark.parametrize("groups", ["sales, manager", "accounting", ""])
def test_candidate_groups_that_are_not_one_role_decide_nothing(groups):
    xml = _doc(f'<bpmn:userTask id="Task_1" camunda:candidateGroups="{groups}"/>')
    assert read_modeler_bpmn(xml) == (xml, [])


def test_a_som_role_wins_over_the_candidate_group():
    xml = _doc('<bpmn:userTask id="Task_1" camunda:candidateGroups="manager"><bpmn:extensionElements>'
               '<camunda:properties><camunda:property name="som.role" value="csr"/></camunda:properties>'
               "</bpmn:extensionElements></bpmn:userTask>")
    out, _ = read_modeler_bpmn(xml)
    assert _props_of(out, "Task_1") == {p.ROLE: "csr"}


# -- forms -----------------------------------------------------------------------------------------------------
CAMUNDA_FORM = """<camunda:formData>
  <camunda:formField id="budget" label="Budget" type="long"/>
  <camunda:formField id="decided_on" label="Decided on" type="date"/>
  <camunda:formField id="qualified" label="Is it &quot;qualified&quot;?" type="boolean"/>
  <camunda:formField id="step" label="Next step" type="enum">
    <camunda:value id="call" name="Call"/><camunda:value id="visit" name="Visit"/>
  </camunda:formField>
  <camunda:formField id="notes" type="string"/>
  <camunda:formField id="colour" type="customColour"/>
</camunda:formData>"""


def test_camunda_form_fields_define_the_som_form_with_their_types():
    out, notes = read_modeler_bpmn(_doc(_task(CAMUNDA_FORM)))
    assert _props_of(out, "Task_1")[p.FORM] == (
        "budget:number \"Budget\", decided_on:date \"Decided on\", qualified:yesno \"Is it 'qualified'?\", "
        "step:choice(call|visit) \"Next step\", notes, colour")
    assert notes == ["Read Camunda form fields as the som.form of Task_1"]


def test_a_task_that_has_a_som_form_keeps_it():
    inner = CAMUNDA_FORM + ('<spiffworkflow:properties><spiffworkflow:property name="som.form" value="reason"/>'
                            "</spiffworkflow:properties>")
    out, notes = read_modeler_bpmn(_doc(_task(inner)))
    assert _props_of(out, "Task_1")[p.FORM] == "reason" and notes == []


def test_a_task_done_by_an_assignment_leaves_its_camunda_form_as_the_modelers_data():
    inner = CAMUNDA_FORM + ('<spiffworkflow:properties><spiffworkflow:property name="som.done_by" value="assignment"/>'
                            "</spiffworkflow:properties>")
    out, notes = read_modeler_bpmn(_doc(_task(inner)))
    assert p.FORM not in _props_of(out, "Task_1") and notes == []


def test_a_camunda_form_field_som_flow_cannot_name_is_refused_naming_the_task():
    form = '<camunda:formData><camunda:formField id="1st-choice" type="string"/></camunda:formData>'
    with pytest.raises(InvalidProcess) as refused:
        read_modeler_bpmn(_doc(_task(form, "Task_form")))
    assert list(refused.value.errors) == ["Task_form"]
    assert "1st-choice" in refused.value.errors["Task_form"][0]


ZEEBE_FORM = ('<bpmn:extensionElements><zeebe:userTaskForm id="form_1">{"components": ['
              '{"key": "units", "label": "Units", "type": "number"},'
              '{"key": "ok", "label": "OK?", "type": "checkbox"},'
              '{"type": "group", "components": [{"key": "size", "type": "radio", '
              '"values": [{"label": "S", "value": "s"}, {"label": "L", "value": "l"}]}]},'
              '{"key": "at", "type": "datetime", "subtype": "datetime"},'
              '{"type": "text", "text": "Hello"}]}</zeebe:userTaskForm></bpmn:extensionElements>')


def test_an_inline_zeebe_form_defines_the_som_form():
    task = _task('<zeebe:formDefinition formKey="camunda-forms:bpmn:form_1"/>')
    out, notes = read_modeler_bpmn(_doc(ZEEBE_FORM + task))
    assert _props_of(out, "Task_1")[p.FORM] == 'units:number "Units", ok:yesno "OK?", size:choice(s|l), at'
    assert notes == ["Read the Zeebe form as the som.form of Task_1"]


def test_a_linked_zeebe_form_is_left_alone():
    xml = _doc(ZEEBE_FORM + _task('<zeebe:formDefinition formId="invoice-form"/>'))
    assert read_modeler_bpmn(xml) == (xml, [])


def test_an_inline_zeebe_form_that_is_not_json_is_refused_naming_the_task():
    broken = '<bpmn:extensionElements><zeebe:userTaskForm id="form_1">{"components": [</zeebe:userTaskForm>' \
             "</bpmn:extensionElements>"
    with pytest.raises(InvalidProcess) as refused:
        read_modeler_bpmn(_doc(broken + _task('<zeebe:formDefinition formKey="camunda-forms:bpmn:form_1"/>')))
    assert list(refused.value.errors) == ["Task_1"]


# -- timers ----------------------------------------------------------------------------------------------------
def _timer(kind: str, text: str) -> str:
    return (f'<bpmn:intermediateCatchEvent id="Wait_1"><bpmn:timerEventDefinition id="Def_1">'
            f'<bpmn:{kind} xsi:type="bpmn:tFormalExpression">{text}</bpmn:{kind}>'
            "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>")


@pytest.mark.parametrize(("kind", "bare"), [
    ("timeDuration", "P14D"), ("timeDuration", "PT5M"), ("timeDuration", "P1Y2M3DT4H"), ("timeDuration", "PT1.5H"),
    ("timeDate", "2026-01-01T09:00:00Z"), ("timeDate", "2026-01-01T09:00:00+01:00"), ("timeDate", "2026-01-01"),
    ("timeCycle", "R3/P1D"), ("timeCycle", "R/PT1S"), ("timeCycle", "R5/2026-01-01T09:00:00Z/PT2H"),
])
def test_a_timer_written_bare_is_read_as_iso_text(kind, bare):
    out, notes = read_modeler_bpmn(_doc(_timer(kind, f"  {bare}\n")))
    assert parse_xml(out).find(f".//{B}{kind}").text == f'"{bare}"'
    assert notes == [f"Read the timers written bare as ISO 8601 text: Wait_1 ({bare})"]


@pytest.mark.parametrize("text", ['"P14D"', "'PT5M'", "close_date", "${dueDate}", "P14D + x", "PT"])
def test_a_timer_that_is_not_a_bare_iso_value_is_left_for_the_checks(text):
    xml = _doc(_timer("timeDuration", text))
    assert read_modeler_bpmn(xml) == (xml, [])


# -- the pipeline's plumbing -----------------------------------------------------------------------------------
def _stage(key: str, name: str, x: int) -> str:
    return f"""<bpmn:subProcess id="Stage_{key}" name="{name}">
      <bpmn:extensionElements><camunda:properties><camunda:property name="som.stage" value="{key}"/>
      </camunda:properties></bpmn:extensionElements>
      <bpmn:startEvent id="S_{key}"/>
      <bpmn:userTask id="Gate_{key}" name="Done"><bpmn:extensionElements><camunda:properties>
        <camunda:property name="som.gate" value="true"/></camunda:properties></bpmn:extensionElements></bpmn:userTask>
      <bpmn:endEvent id="E_{key}"/>
      <bpmn:sequenceFlow id="F1_{key}" sourceRef="S_{key}" targetRef="Gate_{key}"/>
      <bpmn:sequenceFlow id="F2_{key}" sourceRef="Gate_{key}" targetRef="E_{key}"/>
    </bpmn:subProcess>"""


TWO_STAGES = (
    '<bpmn:startEvent id="pipeline"/>'  # a drawing may use any id, ours included
    + _stage("lead", "Lead", 100) + _stage("proposal", "Proposal", 400)
    + '<bpmn:endEvent id="Done"/>'
    '<bpmn:sequenceFlow id="A" sourceRef="pipeline" targetRef="Stage_lead"/>'
    '<bpmn:sequenceFlow id="Bf" sourceRef="Stage_lead" targetRef="Stage_proposal"/>'
    '<bpmn:sequenceFlow id="C" sourceRef="Stage_proposal" targetRef="Done"/>'
)
DIAGRAM = """<bpmndi:BPMNDiagram id="D" xmlns:bpmndi="{di}" xmlns:dc="{dc}" xmlns:di="{ddi}">
  <bpmndi:BPMNPlane id="P" bpmnElement="{owner}">{pool}
    <bpmndi:BPMNShape id="pipeline_di" bpmnElement="pipeline"><dc:Bounds x="100" y="182" width="36" height="36"/>
    </bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="Stage_lead_di" bpmnElement="Stage_lead" isExpanded="true">
      <dc:Bounds x="200" y="100" width="300" height="200"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="Stage_proposal_di" bpmnElement="Stage_proposal" isExpanded="true">
      <dc:Bounds x="560" y="100" width="300" height="200"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="Done_di" bpmnElement="Done"><dc:Bounds x="920" y="182" width="36" height="36"/>
    </bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="A_di" bpmnElement="A"><di:waypoint x="136" y="200"/><di:waypoint x="200" y="200"/>
    </bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane>
</bpmndi:BPMNDiagram>"""


def _diagram(owner: str = "proc", pool: str = "") -> str:
    return DIAGRAM.format(di=p.BPMNDI_NS, dc=p.DC_NS, ddi=p.DI_NS, owner=owner, pool=pool)


def _with_diagram(process: str, diagram: str, extra: str = "") -> str:
    return _doc(process, extra=extra).replace("</bpmn:definitions>", diagram + "</bpmn:definitions>")


def test_stages_drawn_without_the_pipeline_get_it_with_its_boundaries_outcomes_and_shapes():
    out, notes = read_modeler_bpmn(_with_diagram(TWO_STAGES, _diagram()))
    definition = validate_bpmn(out)
    assert [s.key for s in definition.stages] == ["lead", "proposal"]
    assert notes[-3:] == [
        "Added the pipeline subprocess around the stages Lead, Proposal, with a start event before it and the Won "
        "end after it",
        "Added the boundary message som.lose on the pipeline (lose from any stage), ending in the Lost outcome",
        "Added the boundary message som.win on the pipeline (win from any stage), ending in the Won outcome",
    ]
    root = parse_xml(out)
    process = root.find(f"{B}process")
    pipeline = next(sp for sp in process.iterfind(f"{B}subProcess") if som_properties(sp).get(p.PIPELINE))
    assert pipeline.get("id") == "pipeline_2"  # "pipeline" was the drawing's own start event
    assert {el.get("id") for el in pipeline} >= {"pipeline", "Stage_lead", "Stage_proposal", "Done", "A", "Bf", "C"}
    assert {m.get("name") for m in root.iter(f"{B}message")} == {p.MESSAGE_LOSE, p.MESSAGE_WIN}
    outcomes = sorted(som_properties(e).get(p.OUTCOME, "") for e in process.iterfind(f"{B}endEvent"))
    assert outcomes == ["lost", "won", "won"]
    # every added element is drawn, the pipeline around what it holds
    shapes = {s.get("bpmnElement"): s.find(f"{{{p.DC_NS}}}Bounds") for s in root.iter(f"{{{p.BPMNDI_NS}}}BPMNShape")}
    edges = {e.get("bpmnElement") for e in root.iter(f"{{{p.BPMNDI_NS}}}BPMNEdge")}
    added = [el.get("id") for el in process if el.get("id") and el.tag != f"{B}sequenceFlow"]
    assert set(added) <= set(shapes)
    assert {el.get("id") for el in process.iterfind(f"{B}sequenceFlow")} <= edges
    box = {k: float(shapes["pipeline_2"].get(k)) for k in ("x", "y", "width", "height")}
    assert box["x"] < 100 and box["x"] + box["width"] > 956 and box["y"] < 100 and box["y"] + box["height"] > 300
    assert shapes["pipeline_2"].getparent().get("isExpanded") == "true"


def test_the_stored_text_of_an_added_pipeline_reads_again_with_nothing_more_to_add():
    out, _ = read_modeler_bpmn(_with_diagram(TWO_STAGES, _diagram()))
    assert read_modeler_bpmn(out) == (out, [])


def test_a_drawn_pipeline_without_boundaries_gets_only_the_boundaries():
    xml = shipped_bpmn("standard-sale")
    root = parse_xml(xml)
    for boundary in list(root.iter(f"{B}boundaryEvent")):
        if boundary.get("attachedToRef") == "pipeline":
            flow = next(f for f in root.iter(f"{B}sequenceFlow") if f.get("sourceRef") == boundary.get("id"))
            end = next(e for e in root.iter(f"{B}endEvent") if e.get("id") == flow.get("targetRef"))
            for el in (boundary, flow, end):
                el.getparent().remove(el)
                drawn = next(d for d in root.iter(f"{{{p.BPMNDI_NS}}}*") if d.get("bpmnElement") == el.get("id"))
                drawn.getparent().remove(drawn)
    for ref in list(root.iter(f"{B}flowNodeRef")):
        if ref.text in ("end_lost_lose", "end_won_win"):
            ref.getparent().remove(ref)
    stripped = etree.tostring(root, encoding="unicode")
    with pytest.raises(InvalidProcess):
        validate_bpmn(stripped)
    out, notes = read_modeler_bpmn(stripped)
    assert [n.split(" on ")[0] for n in notes] == ["Added the boundary message som.lose",
                                                   "Added the boundary message som.win"]
    assert [s.key for s in validate_bpmn(out).stages] == [s.key for s in validate_bpmn(xml).stages]
    assert sum(1 for s in parse_xml(out).iter(f"{B}subProcess") if som_properties(s).get(p.PIPELINE)) == 1
    drawn = [d.get("bpmnElement") for d in parse_xml(out).iter(f"{{{p.BPMNDI_NS}}}BPMNShape")]
    assert drawn.count("on_lose") == drawn.count("on_win") == 1


def test_the_added_shapes_fit_inside_a_drawn_pool_and_its_lanes():
    collaboration = '<bpmn:collaboration id="Collab"><bpmn:participant id="Pool" processRef="proc"/>' \
                    "</bpmn:collaboration>"
    lanes = '<bpmn:laneSet id="LS"><bpmn:lane id="Lane_a" name="rep"><bpmn:flowNodeRef>Done</bpmn:flowNodeRef>' \
            '</bpmn:lane><bpmn:lane id="Lane_b" name="manager"/></bpmn:laneSet>'
    pool = ('<bpmndi:BPMNShape id="Pool_di" bpmnElement="Pool" isHorizontal="true">'
            '<dc:Bounds x="60" y="60" width="960" height="300"/></bpmndi:BPMNShape>'
            '<bpmndi:BPMNShape id="Lane_a_di" bpmnElement="Lane_a" isHorizontal="true">'
            '<dc:Bounds x="90" y="60" width="930" height="150"/></bpmndi:BPMNShape>'
            '<bpmndi:BPMNShape id="Lane_b_di" bpmnElement="Lane_b" isHorizontal="true">'
            '<dc:Bounds x="90" y="210" width="930" height="150"/></bpmndi:BPMNShape>')
    out, _ = read_modeler_bpmn(_with_diagram(lanes + TWO_STAGES, _diagram("Collab", pool), extra=collaboration))
    validate_bpmn(out)
    root = parse_xml(out)
    bounds = {s.get("bpmnElement"): {k: float(s.find(f"{{{p.DC_NS}}}Bounds").get(k))
                                     for k in ("x", "y", "width", "height")}
              for s in root.iter(f"{{{p.BPMNDI_NS}}}BPMNShape")}
    pool_box = bounds.pop("Pool")
    lane_a, lane_b = bounds.pop("Lane_a"), bounds.pop("Lane_b")
    for element, box in bounds.items():
        assert pool_box["x"] <= box["x"] and box["x"] + box["width"] <= pool_box["x"] + pool_box["width"], element
        assert pool_box["y"] <= box["y"] and box["y"] + box["height"] <= pool_box["y"] + pool_box["height"], element
    assert lane_a["y"] == pool_box["y"] and lane_b["y"] + lane_b["height"] == pool_box["y"] + pool_box["height"]
    assert lane_a["x"] + lane_a["width"] == pool_box["x"] + pool_box["width"]


def test_an_end_drawn_lost_beside_the_stages_is_refused_rather_than_won():
    lost_end = ('<bpmn:endEvent id="Lost_end"><bpmn:extensionElements><camunda:properties>'
                '<camunda:property name="som.outcome" value="lost"/></camunda:properties></bpmn:extensionElements>'
                "</bpmn:endEvent>")
    with pytest.raises(InvalidProcess) as refused:
        read_modeler_bpmn(_doc(TWO_STAGES + lost_end))
    assert list(refused.value.errors) == ["Lost_end"]
    assert "som.lose" in refused.value.errors["Lost_end"][0]


def test_a_process_without_stages_is_not_given_a_pipeline():
    xml = _doc('<bpmn:startEvent id="S"/><bpmn:userTask id="T"/><bpmn:endEvent id="E"/>'
               '<bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="T"/>'
               '<bpmn:sequenceFlow id="F2" sourceRef="T" targetRef="E"/>')
    assert read_modeler_bpmn(xml) == (xml, [])


def test_the_follow_on_reading_takes_properties_but_adds_no_plumbing():
    _, notes = read_modeler_bpmn(_doc(TWO_STAGES), plumbing=False)
    assert notes == ["Read camunda:properties as som properties on Stage_lead, Gate_lead, Stage_proposal, "
                     "Gate_proposal"]
    follow_on, _ = read_modeler_bpmn(_camunda_as_spiff(shipped_follow_on_bpmn("job-order")), plumbing=False)
    assert validate_follow_on_bpmn(follow_on).stageless


def test_the_camunda_modeler_fixture_is_translated_whole():
    out, notes = read_modeler_bpmn((FIXTURES / "sales.bpmn").read_text())
    definition = validate_bpmn(out)
    assert [s.name for s in definition.stages] == ["Lead", "Offer", "Order"]
    assert [s.sla for s in definition.stages] == [None, "P14D", None]
    assert len(notes) == 7 and "Read the candidate group as the som.role of Task_lead_review (manager)" in notes


# -- what a hostile or broken file cannot do: a 500, a hang, or a refusal larger than needed ----------------------
def test_a_zeebe_form_nested_beyond_reason_is_refused_naming_the_task():
    nested = "[" * 5000 + "]" * 5000
    form = f'<bpmn:extensionElements><zeebe:userTaskForm id="form_1">{nested}</zeebe:userTaskForm>' \
           "</bpmn:extensionElements>"
    with pytest.raises(InvalidProcess) as refused:
        read_modeler_bpmn(_doc(form + _task('<zeebe:formDefinition formKey="camunda-forms:bpmn:form_1"/>')))
    assert list(refused.value.errors) == ["Task_1"]


@pytest.mark.parametrize("body", ['{"components": 5}', '{"components": "abc"}', "[1, 2]", '{"components": [7]}'])
def test_a_zeebe_form_of_the_wrong_shape_defines_nothing(body):
    form = f'<bpmn:extensionElements><zeebe:userTaskForm id="form_1">{body}</zeebe:userTaskForm>' \
           "</bpmn:extensionElements>"
    xml = _doc(form + _task('<zeebe:formDefinition formKey="camunda-forms:bpmn:form_1"/>'))
    assert read_modeler_bpmn(xml) == (xml, [])


def test_shapes_with_coordinates_that_are_not_numbers_do_not_break_the_added_diagram():
    diagram = _diagram().replace('x="200" y="100"', 'x="NaN" y="INF"').replace('x="136"', 'x="1e999"')
    out, notes = read_modeler_bpmn(_with_diagram(TWO_STAGES, diagram))
    assert any("pipeline" in n for n in notes)
    shape = next(s for s in parse_xml(out).iter(f"{{{p.BPMNDI_NS}}}BPMNShape") if s.get("bpmnElement") == "pipeline_2")
    bounds = shape.find(f"{{{p.DC_NS}}}Bounds")
    assert all(bounds.get(k).lstrip("-").isdigit() for k in ("x", "y", "width", "height"))


def test_a_refusal_quotes_long_values_and_ids_shortened():
    long_id, long_value = "T" * 300, "x" * 5000
    xml = _doc(_task(f'<camunda:properties><camunda:property name="som.role" value="{long_value}"/>'
                     '</camunda:properties><zeebe:properties><zeebe:property name="som.role" value="csr"/>'
                     "</zeebe:properties>", long_id))
    with pytest.raises(InvalidProcess) as refused:
        read_modeler_bpmn(xml)
    (element, reasons), = refused.value.errors.items()
    assert len(element) < 100 and len(reasons[0]) < 400 and len(refused.value.detail) < 600
