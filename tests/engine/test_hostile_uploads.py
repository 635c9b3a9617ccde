"""Hostile or broken BPMN uploads are refused whole, naming the element, and nothing ever runs."""

from __future__ import annotations

import re

import pytest

from som_flow.engine import MAX_BPMN_BYTES, Engine, evaluate
from som_flow.engine.expressions import ExpressionError
from som_flow.errors import InvalidProcess
from som_flow.processes import OPERATIONS, shipped_bpmn, validate_bpmn
from tests.engine.hostile import STANDARD, refused, swap

CANARY: list[str] = []


def test_billion_laughs_isrefused():
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol2;</bpmn:definitions>'
    )
    error = refused(bomb)
    assert "DOCTYPE" in error.detail and "line 2" in error.detail


def test_external_entity_isrefused():
    xxe = STANDARD.replace(
        "<bpmn:definitions",
        '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<bpmn:definitions',
        1,
    ).replace('name="Standard sale"', 'name="&xxe;"', 1)
    error = refused(xxe)
    assert "root:" not in str(error.errors)


def test_oversized_document_isrefused():
    refused(STANDARD + " " * MAX_BPMN_BYTES)


def test_malformed_xml_names_the_line():
    error = refused(STANDARD.replace("</bpmn:process>", "</bpmn:proces>", 1))
    assert "line" in error.detail


def test_script_task_is_refused_and_never_runs():
    hostile = re.sub(
        r'<bpmn:userTask id="task_proposal_1".*?</bpmn:userTask>',
        '<bpmn:scriptTask id="task_proposal_1" name="Prepare estimates">'
        "<bpmn:script>CANARY.append('ran')</bpmn:script></bpmn:scriptTask>",
        STANDARD,
        count=1,
        flags=re.S,
    )
    error = refused(hostile)
    assert "task_proposal_1" in error.errors
    assert "script" in error.errors["task_proposal_1"][0]
    assert CANARY == []


@pytest.mark.parametrize(
    "condition",
    [
        "__import__('os').system('touch /tmp/pwned')",
        "().__class__.__bases__[0].__subclasses__()",
        "[c for c in ().__class__.__mro__]",
        "open('/etc/passwd').read()",
        "9 ** 9 ** 9",
        "lambda: 1",
        "x" * 600,
    ],
)
def test_condition_with_python_isrefused(condition):
    hostile = swap(
        'target_stage == "proposal"', condition.replace("'", "&apos;"), shipped_bpmn("service-contract")
    )
    error = refused(hostile)
    assert "flow_route_lead_proposal" in error.errors


def test_timer_with_a_python_call_isrefused():
    error = refused(swap('"P14D"', "__import__('os').getpid()".replace("'", "&apos;")))
    assert "sla_proposal" in error.errors


def test_timer_that_is_not_iso_isrefused():
    error = refused(swap('"P14D"', '"fourteen days"'))
    assert "sla_proposal" in error.errors


def test_unknown_element_isrefused():
    error = refused(
        swap(
            '<bpmn:startEvent id="start_lead"/>',
            '<bpmn:startEvent id="start_lead"/><bpmn:teleport id="beam_me_up"/>',
        )
    )
    assert "beam_me_up" in error.errors


def test_duplicate_id_isrefused():
    error = refused(swap('<bpmn:userTask id="task_proposal_1"', '<bpmn:userTask id="task_lead_1"'))
    assert "task_lead_1" in error.errors
    assert "duplicate" in error.errors["task_lead_1"][0]


def test_stage_without_a_gate_isrefused():
    without_gate = swap(
        '<spiffworkflow:property name="som.gate" value="true"/>',
        '<spiffworkflow:property name="som.role" value="rep"/>',
    )
    error = refused(without_gate)
    assert "stage_lead" in error.errors and "gate" in error.errors["stage_lead"][0]


def test_stage_key_used_twice_isrefused():
    error = refused(swap('name="som.stage" value="qualification"', 'name="som.stage" value="lead"'))
    assert any("twice" in r for reasons in error.errors.values() for r in reasons)


def test_missing_outcome_isrefused():
    error = refused(swap('name="som.outcome" value="lost"', 'name="som.probability" value="0"'))
    assert any("som.outcome=lost" in r for reasons in error.errors.values() for r in reasons)


def test_service_task_must_name_a_registered_operation():
    service = (
        '<bpmn:serviceTask id="notify_office"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="rm_rf"/></bpmn:extensionElements></bpmn:serviceTask>'
    )
    error = refused(
        swap('<bpmn:startEvent id="start_lead"/>', '<bpmn:startEvent id="start_lead"/>' + service)
    )
    assert "notify_office" in error.errors and "rm_rf" in error.errors["notify_office"][0]


def test_prescript_isrefused():
    opening = (
        '<bpmn:userTask id="task_proposal_1" name="Prepare estimates">\n          <bpmn:extensionElements>'
    )
    prescript = "<spiffworkflow:preScript>CANARY.append(1)</spiffworkflow:preScript>"
    error = refused(swap(opening, opening + prescript))
    assert "task_proposal_1" in error.errors
    assert CANARY == []


def test_a_subprocess_in_a_lane_is_accepted_as_a_modeler_draws_it():
    """bpmn-js puts the pipeline and stages in whichever lane holds their centre after an edit; roles come from
    som.role, so that is only a picture and must not refuse the upload."""
    xml = swap(
        "<bpmn:flowNodeRef>start</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>pipeline</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>stage_lead</bpmn:flowNodeRef><bpmn:flowNodeRef>on_lose</bpmn:flowNodeRef>",
    )
    assert [s.key for s in validate_bpmn(xml).stages][0] == "lead"


def test_a_lane_naming_an_unknown_element_isrefused():
    error = refused(
        swap(
            "<bpmn:flowNodeRef>start</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>nowhere</bpmn:flowNodeRef>",
        )
    )
    assert any("nowhere" in message for messages in error.errors.values() for message in messages)


def test_loop_back_isrefused():
    loop = (
        '<bpmn:sequenceFlow id="loop" sourceRef="route_qualification" targetRef="stage_lead">'
        '<bpmn:conditionExpression>target_stage == "lead"</bpmn:conditionExpression></bpmn:sequenceFlow>'
    )
    contract = shipped_bpmn("service-contract")
    error = refused(
        swap('<bpmn:endEvent id="pipeline_end"', loop + '<bpmn:endEvent id="pipeline_end"', contract)
    )
    assert any("loop" in r for reasons in error.errors.values() for r in reasons)


def test_unreachable_element_isrefused():
    error = refused(
        swap(
            '<bpmn:startEvent id="start_lead"/>',
            '<bpmn:startEvent id="start_lead"/><bpmn:userTask id="orphan" name="Orphan"/>',
        )
    )
    assert "orphan" in error.errors


def test_nothing_is_cached_for_a_refused_version():
    engine = Engine(OPERATIONS)
    with pytest.raises(InvalidProcess):
        engine.definition(7, "<not-bpmn/>")
    assert engine.definition(7, STANDARD).stages[0].key == "lead"


def test_runtime_evaluator_never_reaches_python():
    with pytest.raises(ExpressionError):
        evaluate("().__class__", {})
    with pytest.raises(ExpressionError):
        evaluate("x.__globals__", {"x": test_runtime_evaluator_never_reaches_python})
    with pytest.raises(ExpressionError):
        evaluate("'a' * 10000000", {})
    assert evaluate('amount > 1000 and stage in ["lead", "proposal"]', {"amount": 1200, "stage": "lead"})


def test_script_engine_environment_is_restricted_too(engine, kinds):
    run = engine.start(kinds["standard-sale"], {})
    environment = run.workflow.script_engine.environment
    with pytest.raises(ExpressionError):
        environment.evaluate("__import__('os')", {})
    with pytest.raises(RuntimeError):
        environment.execute("CANARY.append(1)", {"CANARY": CANARY})
    assert CANARY == []
