"""Two sessions move one opportunity at the same moment: exactly one wins, the other gets a 409.

Each mover is a thread with its own app context, so its own SQLAlchemy session and connection, as two
web requests would have. On PostgreSQL both movers are held until each has loaded the opportunity, so the
two transactions truly overlap and only the version column can tell them apart. SQLite runs every
transaction as BEGIN IMMEDIATE, so there the second mover starts after the first has committed; the
clients still both read the same version beforehand (If-Match), or find the deal already moved.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from som_flow.errors import Conflict, StaleVersion
from som_flow.extensions import db
from som_flow.models import Event, Opportunity, Task, User, WorkflowState
from som_flow.services import opportunities, process_run
from tests.helpers import make_customer, make_user


def _deal_ready_to_leave_lead(manager: User) -> tuple[int, int]:
    """A standard-sale deal with the Lead tasks done; returns (id, version)."""
    customer = make_customer("Race Ltd.")
    opp = opportunities.create_opportunity(manager, {"title": "Race", "customer_id": customer.id,
                                                     "kind": "standard-sale"})
    for _ in range(5):
        todo = [t for t in opportunities.open_tasks(opp) if t.required]
        if not todo:
            break
        opportunities.complete_task(manager, todo[0].id, {f: "yes" for f in todo[0].form})
    opp_id, version = opp.id, opp.version
    db.session.commit()  # a read after a service opens a transaction; on SQLite it holds the write lock
    return opp_id, version


def _race(app, actor_id: int, opp_id: int, targets: tuple[str, str], expected_version: int | None) -> list:
    """Move to each target in its own thread, at once; return each thread's result ('moved' or the error)."""
    start = threading.Barrier(2, timeout=30)
    results: list = [None, None]

    def mover(slot: int) -> None:
        target = targets[slot]
        with app.app_context():
            try:
                actor = db.session.get(User, actor_id)
                db.session.commit()
                start.wait()
                opportunities.move_to_stage(actor, opp_id, target, expected_version=expected_version)
                results[slot] = "moved"
            except Exception as exc:  # noqa: BLE001 - the test inspects what each mover got
                results[slot] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=mover, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a mover hung"
    return results


@pytest.fixture
def overlap(app, db_url, monkeypatch):
    """A switch that, on PostgreSQL, holds each mover after it loaded the workflow until the other has too."""

    def hold_movers_after_load() -> bool:
        if not db_url.startswith("postgresql"):
            return False
        loaded = threading.Barrier(2, timeout=30)
        real_load = opportunities.load_run

        def load_then_wait(opp):
            run = real_load(opp)
            loaded.wait()
            return run

        monkeypatch.setattr(opportunities, "load_run", load_then_wait)
        return True

    return hold_movers_after_load


def _assert_not_torn(opp_id: int, stage: str) -> None:
    """Exactly one move is stored, and rows, events and the saved workflow all agree on it."""
    db.session.expire_all()
    opp = db.session.get(Opportunity, opp_id)
    assert opp.stage == stage
    moves = list(db.session.scalars(select(Event).where(Event.opportunity_id == opp_id,
                                                        Event.type == "stage_changed").order_by(Event.id)))
    assert [(e.data["from"], e.data["to"]) for e in moves] == [(None, "lead"), ("lead", stage)]
    state = db.session.get(WorkflowState, opp_id)
    engine = process_run.engine()
    snap = engine.snapshot(engine.restore(process_run.definition_for(opp.kind_version), state.state))
    assert snap.stage == stage, "the saved workflow is the winner's"
    open_tasks = {t.id: t.title for t in db.session.scalars(select(Task).where(
        Task.opportunity_id == opp_id, Task.status == "open"))}
    assert set(open_tasks) == {t.id for t in snap.ready_tasks if not t.gate}
    per_title = db.session.execute(select(Task.title, func.count()).where(Task.opportunity_id == opp_id)
                                   .group_by(Task.title)).all()
    assert all(count == 1 for _, count in per_title), f"a task was created twice: {per_title}"


@pytest.mark.parametrize("if_match", [True, False], ids=["if-match", "no-version"])
def test_two_sessions_move_one_deal_at_once(app, db_url, overlap, if_match):
    manager = make_user("manager@x.test", "manager")
    manager_id = manager.id
    opp_id, version = _deal_ready_to_leave_lead(manager)
    db.session.remove()

    overlapped = overlap()
    results = _race(app, manager_id, opp_id, ("qualification", "qualification"), version if if_match else None)

    assert sorted(r == "moved" for r in results) == [False, True], f"exactly one mover wins: {results}"
    [loser] = [r for r in results if r != "moved"]
    assert isinstance(loser, Conflict) and loser.status == 409, repr(loser)
    if if_match or overlapped:
        # both read the same version: the loser is told the deal changed under it
        assert isinstance(loser, StaleVersion), repr(loser)
        assert "reload" in loser.detail
    else:
        # SQLite queued the second mover behind the first: it finds the deal already moved
        assert "already in Qualification" in loser.detail
    _assert_not_torn(opp_id, "qualification")


def test_racing_moves_to_different_stages_store_one_of_them(app, db_url, overlap):
    """A skip and a plain move at once on a custom kind: one stage is stored, never a mix."""
    manager = make_user("manager@x.test", "manager")
    manager_id = manager.id
    customer = make_customer("Race Ltd.")
    opp = opportunities.create_opportunity(manager, {"title": "Race", "customer_id": customer.id,
                                                     "kind": "service-contract"})
    opp_id, version = opp.id, opp.version
    db.session.commit()
    db.session.remove()

    targets = ("qualification", "proposal")
    overlap()
    results = _race(app, manager_id, opp_id, targets, version)

    assert sorted(r == "moved" for r in results) == [False, True], f"exactly one mover wins: {results}"
    winner = targets[results.index("moved")]
    [loser] = [r for r in results if r != "moved"]
    assert isinstance(loser, StaleVersion), repr(loser)
    _assert_not_torn(opp_id, winner)
