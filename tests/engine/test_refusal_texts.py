"""Every refusal names an element and says how to fix it, in the admin's words (issue #14, item 3).

What a modeler writes as data (vendor settings, ids of its own vocabulary, retry counts) is ignored; what another
engine would run (scripts, listeners) is refused; library and schema messages reach the admin as sentences about
the element; one cause is one row.
"""

from __future__ import annotations

import re

import pytest

from som_flow.errors import InvalidProcess
from som_flow.processes import validate_bpmn
from som_flow.services.kinds import prepare_bpmn
from tests.engine.hostile import LIBRARY_WORDS, STANDARD, refused, swap

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
START_LEAD_FLOW = '<bpmn:sequenceFlow id="flow_lead_split" sourceRef="start_lead" targetRef="split_lead"/>'


def plain(error: InvalidProcess) -> InvalidProcess:
    """The refusal's text carries no library or schema wording."""
    said = error.detail + " " + " ".join(r for reasons in error.errors.values() for r in reasons)
    for word in LIBRARY_WORDS:
        assert word not in said, (word, said)
    return error


def with_namespace(xml: str, declaration: str) -> str:
    return xml.replace("<bpmn:definitions ", f"<bpmn:definitions {declaration} ", 1)


def in_lead_stage(elements: str, xml: str = STANDARD) -> str:
    """`xml` with `elements` drawn in the Lead stage, after its start event (they receive the flow from it)."""
    return swap(START_LEAD_FLOW, elements, xml)


def minimal(process: str, *, executable: str = "true", extra: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" '
        f'targetNamespace="http://example.com">{extra}\n'
        f'<bpmn:process id="Process_1" isExecutable="{executable}">{process}</bpmn:process>\n'
        "</bpmn:definitions>"
    )


# -- "not executable" names the process and says what to set ---------------------------------------------------------

def test_a_process_not_marked_executable_is_named_with_the_fix():
    error = plain(refused(swap('isExecutable="true"', 'isExecutable="false"')))
    assert list(error.errors) == ["som_standard_sale"]
    assert 'set isExecutable="true" on the process' in error.errors["som_standard_sale"][0]


def test_a_process_without_the_executable_flag_at_all_is_named_too():
    error = plain(refused(minimal('<bpmn:startEvent id="s"/>').replace(' isExecutable="true"', "")))
    assert list(error.errors) == ["Process_1"]
    assert 'isExecutable="true"' in error.errors["Process_1"][0]


def test_several_processes_say_which_one_runs_and_blame_the_others():
    other = '<bpmn:process id="Process_other" isExecutable="false"><bpmn:startEvent id="s2"/></bpmn:process>'
    error = plain(refused(swap("</bpmn:definitions>", other + "</bpmn:definitions>")))
    assert list(error.errors) == ["Process_other"]
    assert "2 processes" in error.errors["Process_other"][0]
    assert "the executable 'som_standard_sale'" in error.errors["Process_other"][0]


def test_several_processes_none_executable_say_how_many_and_what_to_set():
    second = '<bpmn:process id="Process_2" isExecutable="false"><bpmn:startEvent id="s2"/></bpmn:process>'
    xml = minimal('<bpmn:startEvent id="s"/>', executable="false").replace("</bpmn:definitions>",
                                                                           second + "</bpmn:definitions>")
    error = plain(refused(xml))
    assert set(error.errors) == {"Process_1", "Process_2"}
    assert "2 processes (Process_1, Process_2), 0 marked executable" in error.errors["Process_1"][0]
    assert 'isExecutable="true"' in error.errors["Process_1"][0]


def test_an_empty_pool_beside_the_process_is_a_picture_not_a_second_process():
    """Camunda Modeler writes a process for every pool, the customer's empty one too: it does not count."""
    pool = '<bpmn:participant id="Participant_customer" name="Customer" processRef="Process_customer"/>'
    xml = swap('<bpmn:participant id="pool"', pool + '<bpmn:participant id="pool"')
    xml = swap("<bpmndi:BPMNDiagram", '<bpmn:process id="Process_customer" isExecutable="false"/><bpmndi:BPMNDiagram',
               xml)
    assert validate_bpmn(xml).process_id == "som_standard_sale"


def test_only_empty_processes_say_nothing_is_drawn():
    error = plain(refused(minimal("")))
    assert error.errors == {"Process_1": ["nothing is drawn in the process: draw a start event, the tasks and an end "
                                          "event in it"]}


def test_a_file_without_a_process_is_blamed_on_the_document_it_is():
    xml = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_9" '
           'targetNamespace="http://example.com"/>')
    error = plain(refused(xml))
    assert error.errors == {"Definitions_9": [
        "the file has no process: draw a start event, the tasks and an end event in a process"]}


# -- library and schema messages become sentences about the element -------------------------------------------------

def test_a_boundary_event_without_its_task_is_named_in_plain_words():
    boundary = re.search(r'<bpmn:boundaryEvent id="sla_proposal"[^>]*>', STANDARD).group(0)
    error = plain(refused(swap(boundary, boundary.replace(' attachedToRef="stage_proposal"', ""))))
    assert list(error.errors) == ["sla_proposal"]
    reason = error.errors["sla_proposal"][0]
    assert reason.startswith("this boundary event is not attached to a task: draw it on the border of the task")
    assert re.search(r"\(line \d+\)$", reason)


def test_a_flow_without_its_target_is_named_in_plain_words():
    error = plain(refused(swap(START_LEAD_FLOW, START_LEAD_FLOW.replace(' targetRef="split_lead"', ""))))
    assert list(error.errors) == ["flow_lead_split"]
    assert error.errors["flow_lead_split"][0].startswith("this sequence flow has no end: connect it to the element")


@pytest.mark.parametrize(
    ("old", "new", "element", "says"),
    [
        ('cancelActivity="false"', 'cancelActivity="maybe"', "sla_proposal",
         "this boundary event has a bad value 'maybe' for its cancelActivity: correct it in your modeler"),
        ('<bpmn:startEvent id="start_lead"/>', '<bpmn:startEvent id="start_lead" colour="red"/>', "start_lead",
         "this start event has a setting BPMN does not know (colour): delete it"),
        ('<bpmn:startEvent id="start_lead"/>', '<bpmn:startEvent id="start_lead"><bpmn:outgoing>flow_lead_split'
         "</bpmn:outgoing><bpmn:documentation>x</bpmn:documentation></bpmn:startEvent>", "start_lead",
         "this documentation is in a place BPMN does not allow"),
    ],
)
def test_other_schema_complaints_are_sentences_about_the_element(old, new, element, says):
    error = plain(refused(swap(old, new)))
    assert list(error.errors) == [element]
    assert error.errors[element][0].startswith(says)


def test_a_process_without_a_start_event_is_named_with_the_fix():
    error = plain(refused(minimal('<bpmn:userTask id="Task_1"/>')))
    assert error.errors == {"Process_1": ["the process has no start event: draw one start event where the process "
                                          "begins"]}


def test_a_gateway_flow_without_a_condition_is_named_with_the_fix():
    flows = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/>'
             '<bpmn:exclusiveGateway id="g"/><bpmn:sequenceFlow id="Flow_a" sourceRef="g" targetRef="e1"/>'
             '<bpmn:sequenceFlow id="Flow_b" sourceRef="g" targetRef="e2"/>'
             '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>')
    error = plain(refused(minimal(flows)))
    (element, reasons), = error.errors.items()
    assert element in ("Flow_a", "Flow_b")
    assert reasons == ["this flow leaves an exclusive gateway without a condition: give it a condition, or make it "
                       "the gateway's default flow"]


# -- one cause, one row -----------------------------------------------------------------------------------------------

def test_fourteen_unreachable_elements_are_one_row_naming_them():
    orphans = "".join(f'<bpmn:userTask id="orphan_{i}" name="Orphan {i}"/>' for i in range(14))
    error = plain(refused(swap('<bpmn:startEvent id="start_lead"/>', '<bpmn:startEvent id="start_lead"/>' + orphans)))
    assert error.errors == {"orphan_0": [
        "14 elements are not reachable from a start event: orphan_0, orphan_1, orphan_2, orphan_3, orphan_4, "
        "orphan_5, orphan_6, orphan_7, orphan_8, orphan_9, orphan_10, orphan_11 and 2 more. Connect each with a "
        "sequence flow, or delete it"]}


def test_two_unreachable_elements_keep_a_row_each():
    orphans = '<bpmn:userTask id="orphan_a"/><bpmn:userTask id="orphan_b"/>'
    error = plain(refused(swap('<bpmn:startEvent id="start_lead"/>', '<bpmn:startEvent id="start_lead"/>' + orphans)))
    assert set(error.errors) == {"orphan_a", "orphan_b"}
    assert error.errors["orphan_a"] == ["not reachable from a start event: connect it with a sequence flow, or "
                                        "delete it"]


def test_many_refused_elements_of_one_kind_are_one_row():
    flows = "".join(f'<bpmn:sendTask id="Send_{i}"/>' for i in range(4))
    error = plain(refused(swap('<bpmn:startEvent id="start_lead"/>', '<bpmn:startEvent id="start_lead"/>' + flows)))
    assert list(error.errors) == ["Send_0"]
    assert error.errors["Send_0"][0].startswith("4 elements (Send_0, Send_1, Send_2, Send_3): send tasks are not "
                                                "supported: draw a service task")


# -- what a modeler draws that som_flow does not run says what to draw instead ----------------------------------------

@pytest.mark.parametrize(
    ("element", "says"),
    [
        ('<bpmn:sendTask id="X"/>', "draw a service task"),
        ('<bpmn:receiveTask id="X"/>', "draw a user task"),
        ('<bpmn:scriptTask id="X"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>', "draw a service task"),
        ('<bpmn:businessRuleTask id="X"/>', "draw an exclusive gateway"),
        ('<bpmn:callActivity id="X" calledElement="other"/>', "draw the called process inline"),
        ('<bpmn:complexGateway id="X"/>', "draw an inclusive or exclusive gateway"),
        ('<bpmn:eventBasedGateway id="X"/>', "draw an exclusive gateway"),
        ('<bpmn:transaction id="X"/>', "draw an ordinary expanded subprocess"),
        ('<bpmn:adHocSubProcess id="X"/>', "draw an expanded subprocess"),
        ('<bpmn:dataObjectReference id="X" dataObjectRef="D"/>', "keep the data in the deal's fields"),
        ('<bpmn:dataStoreReference id="X"/>', "keep the data in the deal's fields"),
        ('<bpmn:intermediateThrowEvent id="X"/>', "draw a service task"),
        ('<bpmn:intermediateCatchEvent id="X"><bpmn:signalEventDefinition id="S"/></bpmn:intermediateCatchEvent>',
         "draw a message event"),
        ('<bpmn:intermediateCatchEvent id="X"><bpmn:conditionalEventDefinition id="C">'
         "<bpmn:condition>a</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>",
         "draw an exclusive gateway"),
        ('<bpmn:userTask id="X"><bpmn:multiInstanceLoopCharacteristics/></bpmn:userTask>', "draw a single task"),
        ('<bpmn:userTask id="X"><bpmn:standardLoopCharacteristics/></bpmn:userTask>', "restarting a stage"),
        ('<bpmn:userTask id="X"><bpmn:potentialOwner id="O"/></bpmn:userTask>', "set som.role"),
        ('<bpmn:subProcess id="X" triggeredByEvent="true"/>', "draw a boundary event"),
        ('<bpmn:teleport id="X"/>', "a teleport is not something som_flow runs: delete it, or draw a user task"),
    ],
)
def test_an_unsupported_element_says_what_to_draw_instead(element, says):
    error = plain(refused(swap('<bpmn:startEvent id="start_lead"/>', '<bpmn:startEvent id="start_lead"/>' + element)))
    assert list(error.errors) == ["X"], error.errors
    assert len(error.errors["X"]) == 1  # one reason for the element, not one per part of it
    assert says in error.errors["X"][0]


def test_message_flows_between_pools_say_what_to_do():
    flow = ('<bpmn:participant id="Other_pool" name="Customer"/>'
            '<bpmn:messageFlow id="MessageFlow_1" sourceRef="Other_pool" targetRef="task_lead_1"/>')
    error = plain(refused(swap('<bpmn:participant id="pool"', flow + '<bpmn:participant id="pool"')))
    assert list(error.errors) == ["MessageFlow_1"]
    assert "delete the message flow" in error.errors["MessageFlow_1"][0]


# -- ids inside extension elements are not element ids --------------------------------------------------------------

def test_form_field_ids_repeated_across_tasks_are_not_duplicate_ids():
    fields = ('<camunda:formData><camunda:formField id="details" label="Details" type="string"/></camunda:formData>'
              '<camunda:properties><camunda:property id="p1" name="x" value="y"/></camunda:properties>')
    xml = with_namespace(STANDARD, CAMUNDA)
    for task in ("task_lead_1", "task_lead_3"):
        opening = re.search(rf'<bpmn:userTask id="{task}"[^>]*>\s*<bpmn:extensionElements>', xml).group(0)
        xml = swap(opening, opening + fields, xml)
    assert validate_bpmn(xml).process_id == "som_standard_sale"


def test_an_operation_used_by_two_service_tasks_is_not_a_duplicate_id():
    def service(task_id: str, then: str) -> str:
        return (f'<bpmn:serviceTask id="{task_id}" name="Tell the office"><bpmn:extensionElements>'
                '<spiffworkflow:serviceTaskOperator id="notify"><spiffworkflow:parameters>'
                '<spiffworkflow:parameter id="to" type="str" value="&quot;office&quot;"/>'
                "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>"
                f'</bpmn:serviceTask><bpmn:sequenceFlow id="flow_{task_id}" sourceRef="{task_id}" targetRef="{then}"/>')
    xml = in_lead_stage('<bpmn:sequenceFlow id="flow_lead_split" sourceRef="start_lead" targetRef="tell_1"/>'
                        + service("tell_1", "tell_2") + service("tell_2", "split_lead"))
    assert validate_bpmn(xml).has_service_tasks


def test_a_vendor_element_with_a_task_s_id_is_not_a_duplicate():
    vendor = ('<bpmn:extensionElements><caseagile:principal xmlns:caseagile="http://caseagile.example/bpmn" '
              'id="task_lead_1"/></bpmn:extensionElements>')
    xml = swap('<bpmn:process id="som_standard_sale" name="Standard sale" isExecutable="true">',
               '<bpmn:process id="som_standard_sale" name="Standard sale" isExecutable="true">' + vendor)
    assert validate_bpmn(xml).process_id == "som_standard_sale"


def test_a_real_duplicate_id_is_still_refused_once():
    error = plain(refused(swap('<bpmn:userTask id="task_lead_3"', '<bpmn:userTask id="task_lead_1"')))
    assert list(error.errors) == ["task_lead_1"]
    assert re.fullmatch(r"duplicate id: 2 elements have it \(the first on line \d+\); give each element its own id",
                        error.errors["task_lead_1"][0])


# -- data in extensions is ignored; executable content is refused ----------------------------------------------------

def test_retry_counts_extensions_and_grid_settings_are_ignored():
    xml = with_namespace(STANDARD, 'xmlns:yaoqiang="http://bpmn.sourceforge.net"')
    xml = swap("<bpmn:collaboration ",
               '<bpmn:extension definition="yaoqiang:settings" mustUnderstand="false"/>'
               '<bpmn:itemDefinition id="ItemDefinition_1" structureRef="String"/>'
               '<bpmn:signal id="Signal_1" name="unused"/>'
               '<yaoqiang:pageFormat height="841.9" width="595.3"/><yaoqiang:page background="#FFFFFF" '
               'horizontalCount="1" verticalCount="1"/><bpmn:collaboration ', xml)
    opening = re.search(r'<bpmn:userTask id="task_lead_1"[^>]*>\s*<bpmn:extensionElements>', xml).group(0)
    xml = swap(opening, opening + '<spiffworkflow:retry maxAttempts="3"/><yaoqiang:style grid="10"/>', xml)
    stored, definition, _added = prepare_bpmn(xml)
    assert definition.process_id == "som_standard_sale"
    assert "pageFormat" not in stored  # written beside the process for the modeler only: not kept
    assert "spiffworkflow:retry" in stored  # data inside extensionElements of a kept vocabulary: kept, never run


@pytest.mark.parametrize(
    ("extension", "says"),
    [
        ("<spiffworkflow:preScript>x = 1</spiffworkflow:preScript>", "pre-scripts are not run"),
        ("<spiffworkflow:postScript>x = 1</spiffworkflow:postScript>", "post-scripts are not run"),
        ('<camunda:executionListener class="org.example.Audit" event="start"/>', "listeners are not run"),
        ('<camunda:taskListener event="create"><camunda:script scriptFormat="groovy">x</camunda:script>'
         "</camunda:taskListener>", "listeners are not run"),
        ('<camunda:inputOutput><camunda:inputParameter name="a"><camunda:script scriptFormat="js">1</camunda:script>'
         "</camunda:inputParameter></camunda:inputOutput>", "scripts are not run"),
    ],
)
def test_executable_content_is_refused_naming_its_task(extension, says):
    xml = with_namespace(STANDARD, CAMUNDA)
    opening = re.search(r'<bpmn:userTask id="task_lead_1"[^>]*>\s*<bpmn:extensionElements>', xml).group(0)
    error = plain(refused(swap(opening, opening + extension, xml)))
    assert list(error.errors) == ["task_lead_1"]
    assert error.errors["task_lead_1"][0].startswith(says)


def test_input_mappings_without_scripts_are_data():
    xml = with_namespace(STANDARD, CAMUNDA)
    opening = re.search(r'<bpmn:userTask id="task_lead_1"[^>]*>\s*<bpmn:extensionElements>', xml).group(0)
    mapping = '<camunda:inputOutput><camunda:inputParameter name="a">1</camunda:inputParameter></camunda:inputOutput>'
    assert validate_bpmn(swap(opening, opening + mapping, xml)).process_id == "som_standard_sale"


def test_markup_written_beside_the_process_is_dropped_not_stored():
    """Elements of other vocabularies outside extensionElements are ignored by the check, and never stored: the
    stored text is served back, and an XHTML script there would run if a browser rendered it."""
    script = '<x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(document.cookie)</x:script>'
    xml = swap("<bpmn:collaboration ", script + "<bpmn:collaboration ")
    xml = swap('<bpmn:startEvent id="start_lead"/>', '<bpmn:startEvent id="start_lead"/>' + script, xml)
    stored, definition, _added = prepare_bpmn(xml)
    assert definition.process_id == "som_standard_sale"
    assert "script" not in stored and "alert" not in stored


# -- a plain process (no stages, no pipeline) is told how to become a kind ---------------------------------------------

def test_a_plain_process_without_stages_is_told_to_draw_stages_or_mark_a_pipeline():
    flow = ('<bpmn:startEvent id="s"/><bpmn:userTask id="t" name="Call"/><bpmn:endEvent id="e"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" '
            'targetRef="e"/>')
    error = plain(refused(minimal(flow)))
    [reason] = [r for r in error.errors["Process_1"] if "stages" in r]
    assert "draw each stage as an expanded subprocess" in reason and "som.stage" in reason
    assert "som.pipeline=true" in reason and "found 0" not in reason

