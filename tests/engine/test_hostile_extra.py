"""More hostile BPMN: blow-ups without entities, a 50 MB upload, dunder walks, huge powers and absurd timers.

Each is refused whole with a reason keyed by the element id, before anything runs or is stored.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from som_flow.engine import evaluate, xmlsafe
from som_flow.engine.expressions import ExpressionError
from som_flow.errors import InvalidProcess
from som_flow.extensions import db
from som_flow.models import KindVersion, OpportunityKind
from som_flow.processes import shipped_bpmn, validate_bpmn
from som_flow.services import kinds
from tests.engine.hostile import STANDARD, refused, swap
from tests.helpers import Api, make_user

CONTRACT = shipped_bpmn("service-contract")
SLA = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P14D"</bpmn:timeDuration>'
CONDITION = 'target_stage == "proposal"'  # on flow_route_lead_proposal of the service contract
FIFTY_MB = 50 * 1024 * 1024


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;").replace("'", "&apos;")


# -- blow-ups without entities ---------------------------------------------------------------------
def test_quadratic_blowup_with_an_entity_is_refused_before_expansion():
    big = "a" * 50_000
    bomb = swap("<bpmn:definitions", f'<!DOCTYPE d [<!ENTITY a "{big}">]>\n<bpmn:definitions').replace(
        'name="Standard sale"', 'name="' + "&a;" * 5_000 + '"', 1)
    error = refused(bomb)
    assert "DOCTYPE" in error.detail


def test_a_huge_attribute_is_refused_naming_its_element():
    error = refused(swap('name="Review stalled Proposal"', 'name="' + "R" * 900_000 + '"'))
    assert error.errors["review_proposal"] == ["name is 900000 characters; the limit is 200"]


def test_names_ids_and_stage_keys_longer_than_their_columns_arerefused():
    """A task's name becomes Task.title (200), its id Task.spec_name (100), a stage key Opportunity.stage (64)."""
    error = refused(swap('name="Prepare estimates"', 'name="' + "P" * 201 + '"'))
    assert "task_proposal_1" in error.errors and "limit is 200" in error.errors["task_proposal_1"][0]

    long_id = "task_" + "x" * 120
    error = refused(STANDARD.replace('"task_proposal_1"', f'"{long_id}"').replace(
        ">task_proposal_1<", f">{long_id}<"))
    [(key, reasons)] = [(k, v) for k, v in error.errors.items() if k.startswith("task_x")]
    assert "limit is 100" in reasons[0] and len(key) <= 101

    error = refused(STANDARD.replace('name="som.stage" value="lead"', 'name="som.stage" value="' + "l" * 65 + '"'))
    assert "stage_lead" in error.errors and "som.stage is 65 characters" in error.errors["stage_lead"][0]


def test_entity_free_repetition_gives_a_short_report():
    """30 000 bad elements: refused with one row (one cause) naming a dozen of them, not echoing 2 MB back."""
    many = "".join(f'<bpmn:teleport id="beam_{i}"/>' for i in range(30_000))
    error = refused(swap('<bpmn:startEvent id="start_lead"/>', '<bpmn:startEvent id="start_lead"/>' + many))
    assert list(error.errors) == ["beam_0"]
    assert error.errors["beam_0"][0].startswith("30000 elements (beam_0, beam_1, beam_2")
    assert "and 29988 more): a teleport is not something som_flow runs" in error.errors["beam_0"][0]
    assert len(str(error.errors)) < 10_000


def test_one_id_repeated_many_times_gives_a_short_report():
    annotations = '<bpmn:textAnnotation id="echo"><bpmn:text>x</bpmn:text></bpmn:textAnnotation>' * 10_000
    error = refused(swap('<bpmn:startEvent id="start_lead"/>', '<bpmn:startEvent id="start_lead"/>' + annotations))
    assert len(error.errors["echo"]) == 1  # one row, however often the id repeats
    assert re.fullmatch(r"duplicate id: 10000 elements have it \(the first on line \d+\); give each element its own id",
                        error.errors["echo"][0])


def test_deep_nesting_is_refused_with_its_line():
    deep = "<bpmn:documentation>" * 5_000 + "</bpmn:documentation>" * 5_000
    error = refused(swap('<bpmn:startEvent id="start_lead"/>', '<bpmn:startEvent id="start_lead"/>' + deep))
    assert "line" in error.detail and "depth" in error.detail


# -- size ------------------------------------------------------------------------------------------
def test_a_50_mb_document_is_refused_without_being_parsed(monkeypatch):
    def never(*_args, **_kwargs):
        raise AssertionError("the parser must not see an oversized document")

    monkeypatch.setattr(xmlsafe.etree, "fromstring", never)
    padding = b" " * (FIFTY_MB - len(STANDARD))
    error = refused(STANDARD.encode() + padding)
    assert "larger than 1024 KiB" in error.detail
    assert error.errors["document"] == [f"{FIFTY_MB} bytes; the limit is {xmlsafe.MAX_BPMN_BYTES}"]


def test_a_50_mb_upload_is_refused_and_nothing_is_stored(app, client):
    make_user("admin@x.test", "admin")
    admin = Api(client, "admin@x.test")
    before = db.session.scalar(select(func.count()).select_from(KindVersion))
    r = admin.put("/kinds/huge/bpmn", data=STANDARD.encode() + b" " * (FIFTY_MB - len(STANDARD)))
    assert r.status_code == 413
    assert r.mimetype == "application/problem+json"
    assert db.session.scalar(select(func.count()).select_from(KindVersion)) == before
    assert db.session.scalar(select(OpportunityKind).where(OpportunityKind.key == "huge")) is None


# -- expressions -----------------------------------------------------------------------------------
@pytest.mark.parametrize("condition", [
    "x.__class__",
    "().__class__.__bases__",
    "().__class__.__bases__[0].__subclasses__()",
    "target_stage.__class__.__mro__[1]",
    "getattr(target_stage, '__class__')",
    "__builtins__",
    "_secret == 1",
    "'{0.__class__}'.format(target_stage)",
    "f'{target_stage.__class__}'",
    "10 ** 10 ** 10",
    "pow(10, 100000000)",
    "2 ** 99999999 > 1",
    "1 << 100000000",
    "'%0999999999d' % 1",
    "{'a': 1}",
])
def test_conditions_reaching_for_python_or_huge_numbers_arerefused(condition):
    error = refused(swap(CONDITION, _xml_text(condition), CONTRACT))
    assert list(error.errors) == ["flow_route_lead_proposal"]
    assert "not allowed" in error.errors["flow_route_lead_proposal"][0]
    assert "flow_route_lead_proposal" in error.detail


@pytest.mark.parametrize("expression, names", [
    ("x.__class__", {"x": 1}),
    ("x['__class__']", {"x": {}}),
    ("x % 1", {"x": "%0999999999d"}),
    ("x * 100000000", {"x": "ab"}),
    ("[1, 2] * 100000000", {}),
    ("x + x", {"x": "a" * 60_000}),
    ("int('9' * 5000)", {}),
])
def test_the_runtime_evaluator_refuses_walks_and_blow_ups(expression, names):
    with pytest.raises(ExpressionError):
        evaluate(expression, names)


# -- timers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("timer, says", [
    ('"-P1D"', "not a valid ISO-8601 duration"),
    ('"P-1D"', "not a valid ISO-8601 duration"),
    ('"14 days"', "not a valid ISO-8601 duration"),
    ('"PT"', "not a valid ISO-8601 duration"),
    ('"R/PT1H"', "not a plain ISO-8601 duration"),
    ('"P999999999Y"', "longer than ten years"),
    ('"P99999D"', "longer than ten years"),
    ('"P" + "9" * 300 + "D"', "not a plain ISO-8601 duration"),
    ("14", "not a valid ISO-8601 duration"),
])
def test_absurd_or_invalid_durations_arerefused(timer, says):
    error = refused(swap(SLA, SLA.replace('"P14D"', _xml_text(timer))))
    assert list(error.errors) == ["sla_proposal"]
    assert any(says in reason for reason in error.errors["sla_proposal"]), error.errors


@pytest.mark.parametrize("cycle, says", [
    ('"R/P1D"', "endless cycles are refused"),
    ('"R/PT0S"', "endless cycles are refused"),
    ('"R-1/PT1H"', "endless cycles are refused"),
    ('"R999999/P1D"', "must repeat 1 to 100 times"),
    ('"R0/P1D"', "must repeat 1 to 100 times"),
    ('"R5/PT1S"', "interval from one hour to ten years"),
    ('"R5/PT0S"', "interval from one hour to ten years"),
    ('"R2/P99999D"', "interval from one hour to ten years"),
    ('"R5/P-1D"', "not a valid ISO-8601 cycle"),
])
def test_absurd_cycles_arerefused(cycle, says):
    timer = SLA.replace("timeDuration", "timeCycle").replace('"P14D"', _xml_text(cycle))
    error = refused(swap(SLA, timer))
    assert list(error.errors) == ["sla_proposal"]
    assert any(says in reason for reason in error.errors["sla_proposal"]), error.errors


def test_a_bad_timer_date_isrefused():
    timer = SLA.replace("timeDuration", "timeDate").replace('"P14D"', "&quot;tomorrow&quot;")
    error = refused(swap(SLA, timer))
    assert "sla_proposal" in error.errors


@pytest.mark.parametrize("timer", [
    SLA.replace('"P14D"', "&quot;PT1H30M&quot;"),
    SLA.replace("timeDuration", "timeCycle").replace('"P14D"', "&quot;R3/P1D&quot;"),
    SLA.replace("timeDuration", "timeCycle").replace('"P14D"', "&quot;R2/2026-01-05T09:00:00Z/P1W&quot;"),
])
def test_sensible_timers_still_pass(timer):
    assert validate_bpmn(swap(SLA, timer)).stages[2].key == "proposal"


# -- nothing stored --------------------------------------------------------------------------------
@pytest.mark.parametrize("hostile", [
    swap(SLA, SLA.replace('"P14D"', "&quot;P999999999Y&quot;")),
    swap(CONDITION, "().__class__.__bases__", CONTRACT),
    swap('name="Prepare estimates"', 'name="' + "P" * 500 + '"'),
], ids=["endless-duration", "dunder-walk", "long-name"])
def test_a_refused_upload_stores_nothing(app, hostile):
    before = db.session.scalar(select(func.count()).select_from(KindVersion))
    with pytest.raises(InvalidProcess):
        kinds.import_kind_bpmn("hostile", hostile)
    assert db.session.scalar(select(func.count()).select_from(KindVersion)) == before
    assert db.session.scalar(select(OpportunityKind).where(OpportunityKind.key == "hostile")) is None
