"""Issue #17 item 1: each process keeps the runs it saved, so the next call on a deal skips restoring its state;
a kept run is used only for the very state stored in the database, so a run saved meanwhile by another process
(or a rolled-back call) is never acted on."""

from __future__ import annotations

import pytest

from som_flow import create_app
from som_flow.engine.runtime import RunCache
from som_flow.errors import Conflict
from som_flow.extensions import db
from som_flow.models import Event, Opportunity, User
from som_flow.services import opportunities, process_run
from tests.conftest import _config
from tests.helpers import make_customer, make_user


@pytest.fixture
def restores(monkeypatch):
    """How many times any engine restored a run from its stored text."""
    from som_flow.engine.serialization import StateSerializer

    counted = [0]
    original = StateSerializer.restore

    def counting(self, *args, **kwargs):
        counted[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StateSerializer, "restore", counting)
    return counted


def _deal(manager: User, kind: str = "service-contract") -> int:
    opp = opportunities.create_opportunity(manager, {"title": "Kept", "customer_id": make_customer().id,
                                                     "kind": kind})
    opp_id = opp.id
    db.session.commit()
    return opp_id


def _stage_moves(opp_id: int) -> list[tuple[str, str]]:
    events = db.session.scalars(db.select(Event).where(Event.opportunity_id == opp_id, Event.type == "stage_changed")
                                .order_by(Event.id))
    return [(e.data["from"], e.data["to"]) for e in events if e.data["from"]]  # not the deal's first stage


def test_moves_in_a_row_start_from_the_kept_run_instead_of_restoring_it(app, restores):
    manager = make_user("m@x.test", "manager")
    opp_id = _deal(manager)
    for stage in ["qualification", "proposal", "negotiation"]:
        opportunities.move_to_stage(manager, opp_id, stage)
    assert restores[0] == 0  # the run saved by the create, then by each move, was used by the next move
    assert opportunities.get_opportunity(opp_id).stage == "negotiation"
    assert _stage_moves(opp_id) == [("lead", "qualification"), ("qualification", "proposal"),
                                    ("proposal", "negotiation")]


def test_a_run_another_process_saved_since_is_restored_from_the_database(db_url, clock, tmp_path, restores):
    """Two web processes on one database: each keeps its own runs. After the other one moved the deal back, this
    one's kept run (still in Qualification) would refuse a move to Qualification as "already there"."""
    first = create_app(_config(db_url, tmp_path), clock=clock)
    second = create_app(_config(db_url, tmp_path), clock=clock)
    try:
        with first.app_context():
            manager = make_user("m@x.test", "manager")
            manager_id, opp_id = manager.id, _deal(manager)
            opportunities.move_to_stage(manager, opp_id, "qualification")  # the first process keeps this run
            db.session.remove()
        with second.app_context():
            opportunities.move_to_stage(db.session.get(User, manager_id), opp_id, "lead")  # back: a new run
            db.session.remove()
        restores[0] = 0
        with first.app_context():
            opportunities.move_to_stage(db.session.get(User, manager_id), opp_id, "qualification")
            assert restores[0] == 1  # the kept run was not the stored one
            assert opportunities.get_opportunity(opp_id).stage == "qualification"
            assert _stage_moves(opp_id)[-2:] == [("qualification", "lead"), ("lead", "qualification")]
            db.session.remove()
    finally:
        for each in (first, second):
            with each.app_context():
                db.session.remove()
                db.engine.dispose()


def test_a_call_rolled_back_after_moving_the_run_leaves_no_run_behind(app, monkeypatch, restores):
    """A move acts on the loaded run itself; when its transaction then fails, that moved run must not serve the
    next call, which starts again from the stored stage."""
    manager = make_user("m@x.test", "manager")
    opp_id = _deal(manager)
    version_id = db.session.get(Opportunity, opp_id).kind_version_id
    db.session.commit()
    assert (opp_id, version_id) in process_run.engine().runs

    def broken(_opp, _timers, *_rest):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(process_run, "sync_deal_schedule", broken)
    with pytest.raises(RuntimeError):
        opportunities.move_to_stage(manager, opp_id, "qualification")
    assert (opp_id, version_id) not in process_run.engine().runs
    monkeypatch.undo()
    assert opportunities.get_opportunity(opp_id).stage == "lead"
    db.session.commit()

    opportunities.move_to_stage(manager, opp_id, "qualification")  # from Lead, as stored: not "already there"
    assert _stage_moves(opp_id) == [("lead", "qualification")]
    with pytest.raises(Conflict):
        opportunities.move_to_stage(manager, opp_id, "qualification")


def test_the_cache_keeps_the_newest_runs_up_to_its_size():
    cache = RunCache(2)
    runs = [object() for _ in range(3)]
    for i, run in enumerate(runs):
        cache.keep(i, f"state {i}", run)
    assert len(cache) == 2 and 0 not in cache
    off = RunCache(0)
    off.keep(1, "state", runs[0])
    assert len(off) == 0
