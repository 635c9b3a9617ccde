"""A custom kind: exactly the skips and back moves the admin declared."""

from __future__ import annotations

import pytest

from som_flow.engine import IllegalMove
from som_flow.errors import Conflict

ORDER = ["lead", "qualification", "proposal", "negotiation"]


def test_service_contract_allows_every_forward_skip(engine, kinds, saved):
    definition = kinds["service-contract"]
    for index, current in enumerate(ORDER):
        for target in ORDER[index + 1 :]:
            run = engine.start(definition, {}, start_stage=current)
            moved = saved(engine.move_to_stage(run, target))
            assert engine.snapshot(moved).stage == target


def test_service_contract_goes_back_by_restarting_at_the_earlier_stage(engine, kinds, saved):
    definition = kinds["service-contract"]
    run = engine.start(definition, {"amount": "900.00"})
    run = saved(engine.move_to_stage(run, "negotiation"))
    back = engine.move_to_stage(run, "qualification")
    assert back is not run, "a backward move is a new run"
    snap = engine.snapshot(saved(back))
    assert snap.stage == "qualification"
    assert snap.data["fields"] == {"amount": "900.00"}, "the opportunity's data is carried over"
    assert snap.allowed_stages == ("lead", "proposal", "negotiation")


def test_custom_kind_allows_exactly_the_declared_moves(engine, build, saved):
    stages = [{"key": k, "name": k.title()} for k in ORDER]
    definition = build(type="custom", stages=stages, allow_skip=False, allow_back=True)
    run = engine.start(definition, {}, start_stage="proposal")
    assert engine.snapshot(run).allowed_stages == ("lead", "qualification", "negotiation")
    for target in ("lead", "qualification", "negotiation"):
        assert engine.snapshot(saved(engine.move_to_stage(run, target))).stage == target
    run = engine.start(definition, {}, start_stage="lead")
    with pytest.raises(IllegalMove) as refused:
        engine.move_to_stage(run, "proposal")
    assert refused.value.allowed == ["qualification"]

    forward_only = build(type="custom", stages=stages, allow_skip=True, allow_back=False)
    run = engine.start(forward_only, {}, start_stage="proposal")
    with pytest.raises(IllegalMove, match="allowed next stages are Negotiation"):
        engine.move_to_stage(run, "lead")


def test_unknown_stage_is_refused_with_the_allowed_ones(engine, kinds):
    run = engine.start(kinds["service-contract"], {})
    with pytest.raises(IllegalMove) as refused:
        engine.move_to_stage(run, "shipping")
    assert refused.value.allowed == ["qualification", "proposal", "negotiation"]


def test_stageless_kind_has_no_moves(engine, kinds):
    run = engine.start(kinds["stageless"], {})
    with pytest.raises(Conflict, match="no stages"):
        engine.move_to_stage(run, "lead")


def test_a_forward_move_keeps_the_callers_run_unless_told_it_is_thrown_away(engine, kinds, saved):
    definition = kinds["service-contract"]
    run = saved(engine.start(definition, {}))
    moved = engine.move_to_stage(run, "proposal")
    assert (engine.snapshot(moved).stage, engine.snapshot(run).stage) == ("proposal", "lead")
    # the service rolls back on any refusal, so it moves its freshly loaded run in place (no trial copy)
    in_place = engine.move_to_stage(run, "proposal", keep_original=False)
    assert in_place is run and engine.snapshot(saved(run)).stage == "proposal"
    a, b = engine.snapshot(in_place), engine.snapshot(moved)
    assert (a.allowed_stages, [t.spec_name for t in a.ready_tasks]) == (b.allowed_stages,
                                                                       [t.spec_name for t in b.ready_tasks])
