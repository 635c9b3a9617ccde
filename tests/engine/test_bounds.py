"""Bounded BPMN (issue #15): expressions end in milliseconds or are refused by a named bound, processes
too large or too deep for the engine are refused with a sentence, and foreign extension content is
neither kept nor rendered.

The shapes come from the issue. Each is refused *by its bound* (ExpressionTooLarge, the limit's
sentence), which is what these tests check; none of them waits on a clock.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from som_flow.engine import Engine, ExpressionTooLarge, ProcessError, evaluate
from som_flow.engine.definition import MAX_FLOW_NODES, MAX_PATH, MAX_SUBPROCESS_DEPTH
from som_flow.extensions import db
from som_flow.models import KindVersion, OpportunityKind
from som_flow.processes import OPERATIONS, shipped_bpmn, validate_bpmn
from tests.engine.hostile import STANDARD, refused, swap
from tests.helpers import Api, login, make_customer, make_user

CONTRACT = shipped_bpmn("service-contract")
SLA = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P14D"</bpmn:timeDuration>'
CONDITION = 'target_stage == "proposal"'  # on flow_route_lead_proposal, leaving route_lead
ISSUE_SHAPE = "str(min([[1]*99999]*400))"  # 8.4 s per upload before; 35 minutes at *99999
LEAD_START = '<bpmn:sequenceFlow id="flow_lead_split" sourceRef="start_lead" targetRef="split_lead"/>'


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _chain(count: int, element: str = "exclusiveGateway", xml: str = STANDARD) -> str:
    """`xml` with `count` elements one after another between the Lead stage's start and its split."""
    parts, previous = [], "start_lead"
    for i in range(count):
        parts.append(f'<bpmn:{element} id="link_{i}"/>'
                     f'<bpmn:sequenceFlow id="to_link_{i}" sourceRef="{previous}" targetRef="link_{i}"/>')
        previous = f"link_{i}"
    parts.append(f'<bpmn:sequenceFlow id="flow_lead_split" sourceRef="{previous}" targetRef="split_lead"/>')
    return swap(LEAD_START, "".join(parts), xml)


def _nested(depth: int) -> str:
    """The standard kind with `depth` subprocesses inside one another inside the Lead stage."""
    inner = ""
    for i in reversed(range(depth)):
        body = (f'<bpmn:startEvent id="in_start_{i}"/><bpmn:endEvent id="in_end_{i}"/>' + inner
                + (f'<bpmn:sequenceFlow id="in_a_{i}" sourceRef="in_start_{i}" targetRef="nest_{i + 1}"/>'
                   f'<bpmn:sequenceFlow id="in_b_{i}" sourceRef="nest_{i + 1}" targetRef="in_end_{i}"/>'
                   if inner else f'<bpmn:sequenceFlow id="in_a_{i}" sourceRef="in_start_{i}" targetRef="in_end_{i}"/>'))
        inner = f'<bpmn:subProcess id="nest_{i}">{body}</bpmn:subProcess>'
    return swap(LEAD_START, inner + '<bpmn:sequenceFlow id="to_nest" sourceRef="start_lead" targetRef="nest_0"/>'
                '<bpmn:sequenceFlow id="flow_lead_split" sourceRef="nest_0" targetRef="split_lead"/>')


# -- expressions -----------------------------------------------------------------------------------
def test_the_issue_timer_is_refused_at_upload_naming_its_element():
    error = refused(swap(SLA, SLA.replace('"P14D"', ISSUE_SHAPE)))
    assert list(error.errors) == ["sla_proposal"]
    assert "repeating a sequence 99999 times makes more than 10000 items" in error.errors["sla_proposal"][0]


def test_the_issue_condition_is_refused_at_upload_naming_its_flow():
    error = refused(swap(CONDITION, _xml_text(f"{ISSUE_SHAPE} == '1' and {CONDITION}"), CONTRACT))
    assert list(error.errors) == ["flow_route_lead_proposal"]
    assert "flow_route_lead_proposal" in error.detail and "repeating a sequence" in error.detail


@pytest.mark.parametrize("expression, names, bound", [
    (ISSUE_SHAPE, {}, "repeating a sequence 99999 times"),
    ("str([x] * 400)", {"x": "a" * 1000}, "repeating a sequence 400 times"),  # only the data makes it big
    ("'ab' * 99999", {}, "repeating a sequence 99999 times"),
    ("x + x", {"x": "a" * 6000}, "joining makes more than"),
    ("str(x)", {"x": [[1] * 100] * 200}, "a value larger than 10000"),
    ("min(x)", {"x": list(range(100_000))}, "a value larger than 10000"),
    ("round(12345, -99999999)", {}, "round() to more than 30 digits"),  # 10**99999999: hangs unbounded
    ("int('9' * 4000)", {}, "a number larger than 256 bits"),
    ("x * x * x * x * x", {"x": 10**60}, "a product larger than 256 bits"),
    ("9" * 100 + " > amount", {"amount": 1}, "a number literal larger than 256 bits"),
    ("not " * 25 + "x", {"x": True}, "nested more than 20 levels"),
    ("1" + " + 1" * 60, {}, "more than 100 parts"),
    ("x == 1", {"x": __import__("functools").reduce(lambda inner, _: [inner], range(5000), [])},
     "data nested too deeply"),
])
def test_the_evaluator_refuses_by_a_named_bound(expression, names, bound):
    with pytest.raises(ExpressionTooLarge) as caught:
        evaluate(expression, names)
    assert bound in str(caught.value)


@pytest.mark.parametrize("expression, names, value", [
    ("'P' + str(days) + 'D'", {"days": 14}, "P14D"),
    ("amount * 2 > 1000", {"amount": 600.0}, True),
    ("[1, 2] * 3", {}, [1, 2, 1, 2, 1, 2]),
    ("product in ['boiler', 'heat pump'] and len(notes) > 3", {"product": "boiler", "notes": "n" * 50_000}, True),
    ("round(amount, 2) == 10.5", {"amount": 10.499}, True),
    ("max(amount, 1 if amount > 10 else 5)", {"amount": 3}, 5),
])
def test_sensible_expressions_still_evaluate(expression, names, value):
    assert evaluate(expression, names) == value


def test_a_condition_that_only_blows_up_with_the_deals_data_is_a_409_naming_the_gateway(app, client):
    make_user("admin@x.test", "admin")
    make_user("manager@x.test", "manager")
    admin, manager = Api(client, "admin@x.test"), Api(client, "manager@x.test")
    assert admin.post("/custom-fields", {"key": "notes", "label": "Notes", "type": "text"}).status_code == 201
    data_bound = _xml_text(f"len(str([custom] * 200)) > 0 and {CONDITION}")
    assert admin.put("/kinds/service-contract/bpmn", swap(CONDITION, data_bound, CONTRACT).encode()).status_code == 201

    def deal(notes: str) -> int:
        r = manager.post("/opportunities", {"title": "Deal", "customer_id": make_customer(f"C {notes}").id,
                                            "kind": "service-contract", "custom": {"notes": notes}})
        assert r.status_code == 201, r.json
        return r.json["id"]

    small, big = deal("short"), deal("n" * 60)  # 200 copies of a 60-character note is past the bound
    assert manager.post(f"/opportunities/{small}/stage", {"stage": "proposal"}).status_code == 200

    r = manager.post(f"/opportunities/{big}/stage", {"stage": "proposal"})
    assert r.status_code == 409 and r.mimetype == "application/problem+json"
    assert "route_lead" in r.json["detail"] and "repeating a sequence 200 times" in r.json["detail"]
    assert list(r.json["errors"]) == ["route_lead"]
    assert manager.get(f"/opportunities/{big}").json["stage"] == "lead", "nothing half-written"


def test_the_engine_names_the_gateway_when_a_condition_fails_at_run_time():
    engine = Engine(OPERATIONS)
    definition = engine.definition(1, swap(CONDITION, _xml_text(f"str([product] * 200) != '' and {CONDITION}"),
                                           CONTRACT))
    run = engine.start(definition, {"product": "p" * 64})
    with pytest.raises(ProcessError) as caught:
        engine.move_to_stage(run, "proposal")
    assert caught.value.status == 409 and list(caught.value.errors) == ["route_lead"]
    assert engine.current_stage(run) == "lead"


# -- process shape ---------------------------------------------------------------------------------
def _stored() -> int:
    return db.session.scalar(select(func.count()).select_from(KindVersion))


TOO_MANY = "Process 'som_standard_sale' has {} flow nodes; the limit is 500"
SHAPES = {  # the standard kind has 37 flow nodes of its own
    "2000 chained gateways": (lambda: _chain(2000), TOO_MANY.format(2037)),
    "5000 tasks": (lambda: _chain(5000, "task"), TOO_MANY.format(5037)),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_huge_process_is_refused_over_the_api_with_a_sentence(app, client, shape):
    make_user("admin@x.test", "admin")
    make_xml, sentence = SHAPES[shape]
    before = _stored()
    r = Api(client, "admin@x.test").put("/kinds/huge/bpmn", make_xml().encode())
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert r.json["detail"] == sentence
    assert r.json["errors"] == {"som_standard_sale": [sentence]}
    assert _stored() == before
    assert db.session.scalar(select(OpportunityKind).where(OpportunityKind.key == "huge")) is None


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_huge_process_is_refused_by_kinds_import(app, runner, tmp_path, shape):
    make_xml, sentence = SHAPES[shape]
    path = tmp_path / "huge.bpmn"
    path.write_text(make_xml(), encoding="utf-8")
    before = _stored()
    result = runner.invoke(args=["kinds", "import", str(path), "--key", "huge"])
    assert result.exit_code == 1
    assert f"error: {sentence}" in result.output
    assert "RecursionError" not in result.output
    assert _stored() == before


def test_a_long_path_is_refused_before_the_parser_recurses():
    """300 in a row fit the node limit but not the path limit (SpiffWorkflow's parser overflows near 490)."""
    error = refused(_chain(300, "task"))
    assert error.detail == (f"Process 'som_standard_sale' has a path of 306 flow nodes in subprocess 'stage_lead'; "
                            f"the limit is {MAX_PATH}")
    assert list(error.errors) == ["stage_lead"]


def test_deeply_nested_subprocesses_are_refused():
    error = refused(_nested(MAX_SUBPROCESS_DEPTH))  # five more inside a stage inside the pipeline
    assert error.detail == (f"Subprocess 'nest_3' of process 'som_standard_sale' is nested 6 deep; "
                            f"the limit is {MAX_SUBPROCESS_DEPTH}")


def test_processes_within_the_bounds_still_pass():
    assert validate_bpmn(_chain(MAX_PATH - 10, "task")).stages[0].key == "lead"
    assert validate_bpmn(_nested(MAX_SUBPROCESS_DEPTH - 2)).stages[0].key == "lead"
    assert MAX_FLOW_NODES == 500


# -- foreign extension content ---------------------------------------------------------------------
SCRIPT = '<x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(document.cookie)</x:script>'
CAMUNDA = ('<camunda:properties xmlns:camunda="http://camunda.org/schema/1.0/bpmn">'
           '<camunda:property name="owner" value="sales"/></camunda:properties>')
STAGE_PROPS = '<spiffworkflow:property name="som.stage" value="lead"/>'


def test_foreign_extension_content_is_not_stored_and_the_bpmn_is_a_download(app, client):
    make_user("admin@x.test", "admin")
    admin = Api(client, "admin@x.test")
    xml = swap(STAGE_PROPS, STAGE_PROPS + SCRIPT)  # inside spiffworkflow:properties
    xml = swap("</bpmn:extensionElements>", SCRIPT + CAMUNDA + "</bpmn:extensionElements>", xml)
    xml = swap("<bpmn:definitions", '<?xml-stylesheet type="text/xsl" href="data:,x"?>\n<bpmn:definitions', xml)
    assert admin.put("/kinds/hostile/bpmn", xml.encode()).status_code == 201

    served = admin.get("/kinds/hostile/bpmn")
    assert served.status_code == 200 and served.mimetype == "application/xml"
    assert served.headers["Content-Disposition"] == 'attachment; filename="hostile-v1.bpmn"'
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    text = served.get_data(as_text=True)
    assert "script" not in text and "alert" not in text and "xml-stylesheet" not in text
    assert 'camunda:property name="owner" value="sales"' in text, "what modelers write stays"
    assert STAGE_PROPS in text and validate_bpmn(text).stages[0].key == "lead"


def test_a_clean_upload_is_stored_as_sent_and_the_admin_page_serves_it_as_a_download(app, client):
    user = make_user("admin@x.test", "admin")
    admin = Api(client, "admin@x.test")
    assert admin.put("/kinds/clean/bpmn", CONTRACT.encode()).status_code == 201
    assert admin.get("/kinds/clean/bpmn").get_data(as_text=True) == CONTRACT
    login(client, user)
    page = client.get("/admin/kinds/clean/bpmn")
    assert page.status_code == 200 and page.headers["Content-Disposition"].startswith("attachment;")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
