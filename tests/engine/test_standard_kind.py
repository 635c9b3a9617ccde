"""A standard kind: the stage order is the flow, required tasks gate each stage."""

from __future__ import annotations

import pytest

from som_flow.engine import IllegalMove
from som_flow.errors import Conflict, ValidationFailed

ORDER = ["lead", "qualification", "proposal", "negotiation"]


def test_rep_moves_a_deal_through_every_stage_and_wins(engine, kinds, saved, finish_stage):
    run = engine.start(kinds["standard-sale"], {"title": "New furnace", "amount": "4200.00"})
    assert engine.snapshot(run).stage == "lead"
    for target in ORDER[1:]:
        run = finish_stage(saved(run))
        assert engine.snapshot(run).allowed_stages == (target,)
        run = saved(engine.move_to_stage(run, target))
        snap = engine.snapshot(run)
        assert snap.stage == target
        assert all(t.stage in (target, None) for t in snap.ready_tasks)
    engine.win(run, {"reason": "price"})
    snap = engine.snapshot(saved(run))
    assert (snap.completed, snap.outcome, snap.stage, snap.ready_tasks) == (True, "won", None, ())
    assert snap.data["som_win"] == {"reason": "price"}


@pytest.mark.parametrize("current", ORDER)
def test_standard_kind_refuses_every_skip_and_every_backward_move(
    engine, kinds, current, saved, finish_stage
):
    definition = kinds["standard-sale"]
    run = engine.start(definition, {}, start_stage=current)
    run = finish_stage(run)
    before = engine.dump(run)
    index = ORDER.index(current)
    for target in ORDER:
        if target == current:
            with pytest.raises(Conflict, match="already in"):
                engine.move_to_stage(run, target)
            continue
        if ORDER.index(target) == index + 1:
            continue
        with pytest.raises(IllegalMove) as refused:
            engine.move_to_stage(run, target)
        assert refused.value.status == 409
        allowed = ORDER[index + 1 : index + 2]
        assert refused.value.allowed == allowed
        names = ", ".join(definition.stage_name(s) for s in allowed) or "none"
        assert refused.value.detail.endswith(f"allowed next stages are {names}")
        assert engine.dump(run) == before, "a refused move changes nothing"


def test_refusal_names_stages_by_name(engine, kinds):
    run = engine.start(kinds["standard-sale"], {})
    with pytest.raises(
        IllegalMove, match="Cannot move from Lead to Proposal: allowed next stages are Qualification"
    ):
        engine.move_to_stage(run, "proposal")


def test_required_task_blocks_the_gate_with_a_clear_message(engine, kinds, saved):
    run = engine.start(kinds["standard-sale"], {})
    with pytest.raises(ValidationFailed) as blocked:
        engine.move_to_stage(run, "qualification")
    assert blocked.value.status == 422
    assert blocked.value.detail == "Complete 'Assign a sales rep', 'Contact the prospect' first"
    assert blocked.value.errors == {"tasks": ["Assign a sales rep", "Contact the prospect"]}
    assign = next(t for t in engine.snapshot(run).ready_tasks if t.title == "Assign a sales rep")
    assert (assign.role, assign.required, assign.stage) == ("csr", True, "lead")
    engine.complete_task(run, assign.id)
    run = saved(run)
    with pytest.raises(ValidationFailed, match="Complete 'Contact the prospect' first"):
        engine.move_to_stage(run, "qualification")


def test_optional_tasks_are_cancelled_when_the_stage_ends(engine, kinds, saved, finish_stage):
    run = finish_stage(engine.start(kinds["standard-sale"], {}))
    book = next(t for t in engine.snapshot(run).ready_tasks if t.title == "Book an appointment")
    assert (book.required, book.action, book.role) == (False, "schedule_appointment", "rep")
    run = saved(engine.move_to_stage(run, "qualification"))
    assert book.id not in {t.id for t in engine.snapshot(run).ready_tasks}


def test_task_properties_reach_the_ready_task(engine, kinds, saved):
    run = engine.start(kinds["standard-sale"], {}, start_stage="lead")
    contact = None
    engine.complete_task(run, next(t.id for t in engine.snapshot(run).ready_tasks if t.role == "csr"))
    contact = next(t for t in engine.snapshot(saved(run)).ready_tasks if t.title == "Contact the prospect")
    assert contact.due == "P1D" and contact.instructions and contact.spec_name == "task_lead_2"


def test_qualification_form_must_be_carried(engine, kinds):
    run = engine.start(kinds["standard-sale"], {}, start_stage="qualification")
    task = next(t for t in engine.snapshot(run).ready_tasks if not t.gate)
    assert task.form == ("qualified",)
    with pytest.raises(ValidationFailed) as missing:
        engine.complete_task(run, task.id, {})
    assert "qualified" in missing.value.errors
    engine.complete_task(run, task.id, {"qualified": True})


def test_gates_and_unknown_tasks_cannot_be_completed_as_tasks(engine, kinds, finish_stage):
    from som_flow.errors import NotFound

    run = finish_stage(engine.start(kinds["standard-sale"], {}))
    gate = next(t for t in engine.snapshot(run).ready_tasks if t.gate)
    with pytest.raises(Conflict, match="gate"):
        engine.complete_task(run, gate.id)
    with pytest.raises(NotFound):
        engine.complete_task(run, "00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFound):
        engine.complete_task(run, "not-a-uuid")


def test_the_definition_names_a_stages_required_fields_and_leaves_checking_them_to_the_services(
        engine, build, saved):
    """Required fields are data (the services check them on the opportunity); the engine only reads them."""
    definition = build(
        type="standard",
        stages=[{"key": "lead", "name": "Lead"}, {"key": "won_over", "name": "Won over"}],
        required_fields={"lead": ["amount", "follow_up_date"]},
    )
    assert definition.stages[0].required_fields == ("amount", "follow_up_date")
    run = engine.start(definition, {"amount": None})
    run = engine.move_to_stage(run, "won_over")
    assert engine.snapshot(saved(run)).stage == "won_over"
