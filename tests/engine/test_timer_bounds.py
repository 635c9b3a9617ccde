"""Timers as modelers write them, checked at upload, and bounded when a deal's data starts them (issue #14, 4).

A bare ISO-8601 duration, date or cycle (P14D, PT5M, 2026-01-01T09:00:00Z, R3/P1D) is read as one; anything
else must be an expression over the data a deal gives its workflow, or the upload is refused naming the timer.
A timer whose value comes from the deal is bounded when it starts: a refusal (422) names the field, in words.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from som_flow.engine import Engine
from som_flow.engine.timers import bare_literal
from som_flow.errors import ValidationFailed
from som_flow.processes import OPERATIONS, validate_bpmn
from tests.engine.hostile import refused, swap

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SLA = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P14D"</bpmn:timeDuration>'


def _timer(text: str, kind: str = "timeDuration") -> str:
    """The standard kind with the Proposal SLA timer written as `text` (XML-escaped here), of `kind`."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return swap(SLA, f'<bpmn:{kind} xsi:type="bpmn:tFormalExpression">{escaped}</bpmn:{kind}>')


def _due(value: str) -> str:
    return swap('<spiffworkflow:property name="som.due" value="P1D"/>',
                f'<spiffworkflow:property name="som.due" value="{value}"/>')


# -- at upload ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, kind, sla", [
    ("P14D", "timeDuration", "P14D"),
    ("PT5M", "timeDuration", "PT5M"),
    ("  P1W\n", "timeDuration", "P1W"),
    ("2026-01-01T09:00:00Z", "timeDate", None),
    ("2026-01-01", "timeDate", None),
    ("R3/P1D", "timeCycle", None),
    ("R2/2026-01-05T09:00:00Z/P1W", "timeCycle", None),
])
def test_a_bare_iso_timer_is_read_as_one(text, kind, sla):
    definition = validate_bpmn(_timer(text, kind))
    assert definition.stage("proposal").sla == sla


def test_a_bare_date_is_not_arithmetic():
    """As Python, 2026-01-01 is 2024; as a modeler means it, a date. Bare text is the date."""
    assert bare_literal("2026-01-01") == "2026-01-01"
    error = refused(_timer("2026-01-01", "timeDuration"))
    assert error.errors == {
        "sla_proposal": ["timer '2026-01-01' is not a valid ISO-8601 duration such as P14D or PT5M"]}


@pytest.mark.parametrize("text, kind, name, what", [
    ("P14X", "timeDuration", "P14X", "duration"),
    ("PT", "timeDuration", "PT", "duration"),
    ("fourteen_days", "timeDuration", "fourteen_days", "duration"),
    ('close_date + "D"', "timeDuration", "close_date", "duration"),
    ("tomorrow", "timeDate", "tomorrow", "date"),
    ("R3", "timeCycle", "R3", "cycle"),
])
def test_a_timer_reading_a_name_no_deal_has_is_refused_naming_the_timer(text, kind, name, what):
    error = refused(_timer(text, kind))
    assert list(error.errors) == ["sla_proposal"]
    [reason] = error.errors["sla_proposal"]
    assert reason.startswith(f"timer on sla_proposal refers to '{name}', which is neither an ISO-8601 {what} "
                             "nor a field of the opportunity")
    assert 'custom["<field key>"]' in reason, "the refusal says what a timer may read"


@pytest.mark.parametrize("text", ['custom["wait"]', 'custom["wait"] if amount > 1000 else "P3D"',
                                  'target_stage and "P1D"', "budget_note"])
def test_a_timer_over_the_deals_fields_or_a_forms_answers_is_accepted(text):
    xml = _timer(text)
    if "budget_note" in text:  # a form answer: completed tasks' answers stay in the workflow's data
        xml = swap('name="som.form" value="', 'name="som.form" value="budget_note:text, ', xml)
    assert validate_bpmn(xml).stage("proposal").sla is None, "read from the deal: no fixed SLA"


@pytest.mark.parametrize("text, kind, says", [
    ("P2000000Y", "timeDuration", "timer 'P2000000Y' is longer than ten years"),
    ("R/PT1S", "timeCycle", "endless cycles are refused"),
    ("R5/PT1S", "timeCycle", "needs an interval from one hour to ten years"),
    ("R1000/P1D", "timeCycle", "must repeat 1 to 100 times"),
])
def test_a_bare_timer_beyond_the_bounds_is_refused(text, kind, says):
    error = refused(_timer(text, kind))
    assert list(error.errors) == ["sla_proposal"]
    assert any(says in reason for reason in error.errors["sla_proposal"]), error.errors


@pytest.mark.parametrize("value", ["P2D", "PT4H", "anticipated_close_date", "follow_up_date"])
def test_som_due_is_a_duration_or_a_date_field_of_the_deal(value):
    validate_bpmn(_due(value))


@pytest.mark.parametrize("value, says", [
    ("P14X", "som.due 'P14X' is neither an ISO-8601 duration such as P2D nor a date field of the opportunity"),
    ("close_date", "is neither an ISO-8601 duration such as P2D nor a date field of the opportunity "
                   "(opened_on, follow_up_date, anticipated_close_date)"),
    ("P2000000Y", "som.due 'P2000000Y' is longer than ten years"),
])
def test_a_som_due_no_deal_can_read_is_refused_naming_its_task(value, says):
    error = refused(_due(value))
    [(element, reasons)] = error.errors.items()
    assert element.startswith("task_") and any(says in r for r in reasons), error.errors


# -- when a timer starts --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def waiting() -> tuple[Engine, object]:
    """An engine and the standard kind whose Proposal SLA lasts `custom["wait"]`."""
    engine = Engine(OPERATIONS)
    return engine, engine.definition(901, _timer('custom["wait"]'))


@pytest.mark.parametrize("wait, says", [
    ("P2000000Y", "'P2000000Y' is longer than ten years"),
    ("R/PT1S", "'R/PT1S' is not a plain ISO-8601 duration such as P14D"),
    ("soon", "'soon' is not a valid ISO-8601 duration such as P14D or PT5M"),
    (14, "14 is not a valid ISO-8601 duration"),
])
def test_a_deal_value_beyond_the_bounds_is_refused_naming_the_field(waiting, wait, says):
    engine, definition = waiting
    with pytest.raises(ValidationFailed) as caught:
        engine.start(definition, {"custom": {"wait": wait}}, start_stage="proposal")
    assert caught.value.status == 422
    assert list(caught.value.errors) == ["custom.wait"]
    [reason] = caught.value.errors["custom.wait"]
    assert reason.startswith("The timer 'SLA P14D' reads the user-defined field 'wait': ") and says in reason


def test_a_timer_starting_without_its_value_is_refused_naming_the_field(waiting):
    engine, definition = waiting
    run = engine.start(definition, {"custom": {}}, start_stage="qualification")
    with pytest.raises(ValidationFailed) as caught:
        engine.start(definition, {"custom": {}}, start_stage="proposal")
    assert caught.value.errors == {"custom.wait": [
        "The timer 'SLA P14D' reads the user-defined field 'wait': the value is missing; enter an ISO-8601 "
        "duration such as P14D or PT5M."]}
    assert engine.current_stage(run) == "qualification"


def test_changing_the_field_to_a_value_beyond_the_bounds_is_refused_before_the_timer_starts(waiting):
    engine, definition = waiting
    run = engine.start(definition, {"custom": {"wait": "P3D"}}, start_stage="lead")
    with pytest.raises(ValidationFailed) as caught:
        engine.set_data(run, {"custom": {"wait": "P2000000Y"}})
    assert list(caught.value.errors) == ["custom.wait"]
    assert run.workflow.data["fields"]["custom"] == {"wait": "P3D"}, "nothing changed"
    engine.set_data(run, {"amount": 5.0})  # other fields, with the stored value untouched, are fine


def test_a_cycle_read_from_the_deal_is_bounded():
    engine = Engine(OPERATIONS)
    definition = engine.definition(902, _timer('custom["every"]', "timeCycle"))
    with pytest.raises(ValidationFailed) as caught:
        engine.start(definition, {"custom": {"every": "R/PT1S"}}, start_stage="proposal")
    assert "endless cycles are refused" in caught.value.errors["custom.every"][0]
    with time_machine.travel(T0, tick=False):
        run = engine.start(definition, {"custom": {"every": "R2/P1D"}}, start_stage="proposal")
        assert [t.due_at for t in engine.snapshot(run).timers] == [T0 + timedelta(days=1)]


def test_a_sane_value_starts_the_timer_and_it_fires(waiting):
    engine, definition = waiting
    with time_machine.travel(T0, tick=False):
        run = engine.start(definition, {"custom": {"wait": "P3D"}}, start_stage="proposal")
        timers = engine.snapshot(run).timers
        assert [(t.spec_name, t.due_at) for t in timers] == [("sla_proposal", T0 + timedelta(days=3))]
    with time_machine.travel(T0 + timedelta(days=3, minutes=1), tick=False):
        engine.wake_timers(run)
        assert [t.title for t in engine.snapshot(run).ready_tasks if t.role == "manager"] == ["Review stalled Proposal"]


def test_a_bare_timer_stored_before_the_import_rewrite_runs():
    """Task A rewrites bare text on import; a version stored with it bare still runs (the engine reads it too)."""
    engine = Engine(OPERATIONS)
    definition = engine.definition(903, _timer("PT5M"))
    with time_machine.travel(T0, tick=False):
        run = engine.start(definition, {}, start_stage="proposal")
        assert [t.due_at for t in engine.snapshot(run).timers] == [T0 + timedelta(minutes=5)]
