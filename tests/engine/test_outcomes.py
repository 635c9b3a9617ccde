"""Winning and losing: from any stage, with the payload arriving, and closed means closed."""

from __future__ import annotations

import pytest

from som_flow.errors import Conflict

ORDER = ["lead", "qualification", "proposal", "negotiation"]


@pytest.mark.parametrize("stage", ORDER)
def test_rep_loses_a_deal_from_any_stage_with_the_reason(engine, kinds, saved, stage):
    run = saved(engine.start(kinds["standard-sale"], {}, start_stage=stage))
    engine.lose(run, {"reason": "price", "explanation": "went with a competitor"})
    snap = engine.snapshot(saved(run))
    assert (snap.completed, snap.outcome, snap.stage) == (True, "lost", None)
    assert snap.ready_tasks == () and snap.timers == ()
    assert snap.data["som_lose"] == {"reason": "price", "explanation": "went with a competitor"}


def test_early_win_is_allowed_by_default(engine, kinds, saved):
    run = engine.start(kinds["standard-sale"], {})
    engine.win(run, {"reason": "referral"})
    assert engine.snapshot(saved(run)).outcome == "won"


def test_kind_without_early_win_wins_only_in_the_last_stage(engine, build, saved):
    definition = build(
        type="standard",
        stages=[{"key": "lead", "name": "Lead"}, {"key": "negotiation", "name": "Negotiation"}],
        allow_early_win=False,
    )
    run = engine.start(definition, {})
    with pytest.raises(Conflict, match="only in Negotiation"):
        engine.win(run, {})
    run = saved(engine.move_to_stage(run, "negotiation"))
    engine.win(run, {})
    assert engine.snapshot(run).outcome == "won"


def test_completing_the_last_gate_is_not_a_move(engine, kinds, finish_stage):
    run = finish_stage(engine.start(kinds["standard-sale"], {}, start_stage="negotiation"))
    assert engine.snapshot(run).allowed_stages == ()


def test_a_closed_deal_refuses_moves_and_messages(engine, kinds, saved):
    run = engine.start(kinds["service-contract"], {})
    engine.lose(run, {"reason": "no budget"})
    run = saved(run)
    with pytest.raises(Conflict, match="closed"):
        engine.move_to_stage(run, "proposal")
    with pytest.raises(Conflict, match="closed"):
        engine.win(run, {})
    with pytest.raises(Conflict, match="closed"):
        engine.lose(run, {})


def test_stageless_kind_generates_tasks_until_won_or_lost(engine, kinds, saved):
    run = saved(engine.start(kinds["stageless"], {}))
    snap = engine.snapshot(run)
    assert snap.stage is None and snap.allowed_stages == ()
    assert [(t.title, t.role, t.required) for t in snap.ready_tasks] == [
        ("Follow up with the customer", "rep", True)
    ]
    engine.complete_task(run, snap.ready_tasks[0].id)
    run = saved(run)
    assert engine.snapshot(run).ready_tasks == (), "the outcome wait is not a task"
    assert not engine.snapshot(run).completed
    engine.win(run, {"reason": "done"})
    assert engine.snapshot(saved(run)).outcome == "won"
