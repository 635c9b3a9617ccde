"""Stage SLA: a deal stuck in Proposal for 14 days raises a task for the manager."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import time_machine

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_stalled_proposal_raises_a_review_task_for_the_manager(engine, kinds, saved):
    with time_machine.travel(T0, tick=False):
        run = saved(engine.start(kinds["standard-sale"], {}, start_stage="proposal"))
        snap = engine.snapshot(run)
        assert [(t.spec_name, t.stage, t.due_at) for t in snap.timers] == [
            ("sla_proposal", "proposal", T0 + timedelta(days=14))
        ]
        assert snap.timers[0].due_at.tzinfo is not None
        assert kinds["standard-sale"].stage("proposal").sla == "P14D"
    with time_machine.travel(T0 + timedelta(days=13), tick=False):
        engine.wake_timers(run)
        assert not any(t.role == "manager" for t in engine.snapshot(saved(run)).ready_tasks)
    with time_machine.travel(T0 + timedelta(days=14, minutes=1), tick=False):
        run = saved(run)
        engine.wake_timers(run)
        run = saved(run)
        snap = engine.snapshot(run)
    review = [t for t in snap.ready_tasks if t.role == "manager"]
    assert [(t.title, t.required) for t in review] == [("Review stalled Proposal", False)]
    assert snap.stage == "proposal", "the SLA timer does not interrupt the stage"
    assert snap.timers == ()


def test_leaving_the_stage_cancels_its_sla_timer(engine, kinds, saved, finish_stage):
    with time_machine.travel(T0, tick=False):
        run = finish_stage(engine.start(kinds["standard-sale"], {}, start_stage="proposal"))
        run = saved(engine.move_to_stage(run, "negotiation"))
        assert engine.snapshot(run).timers == ()


def test_an_open_review_does_not_hold_up_the_deal(engine, kinds, saved, finish_stage):
    with time_machine.travel(T0, tick=False):
        run = saved(engine.start(kinds["standard-sale"], {}, start_stage="proposal"))
    with time_machine.travel(T0 + timedelta(days=15), tick=False):
        engine.wake_timers(run)
        run = saved(engine.move_to_stage(finish_stage(saved(run)), "negotiation"))
        assert any(t.title == "Review stalled Proposal" for t in engine.snapshot(run).ready_tasks)
        run = finish_stage(run)
        gate = next(t for t in engine.snapshot(run).ready_tasks if t.gate)
        # Completing the last gate ends the pipeline (terminate end) even with the review still open.
        trial = engine.copy(run)
        trial_gate = trial.workflow.get_task_from_id(UUID(gate.id))
        trial_gate.data["target_stage"] = None
        trial_gate.run()
        trial.workflow.do_engine_steps()
        snap = engine.snapshot(saved(trial))
        assert (snap.completed, snap.outcome, snap.ready_tasks) == (True, "won", ())
