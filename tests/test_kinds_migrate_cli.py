"""`som-flow kinds migrate KEY`: open deals move to the kind's current version, closed ones keep theirs."""

from __future__ import annotations

from sqlalchemy import select

from som_flow.extensions import db
from som_flow.models import Event, Opportunity, Task, WorkflowState
from som_flow.services import kinds, opportunities, process_run
from tests.helpers import make_customer, make_user

DESIGN = {"key": "field-sale", "name": "Field sale", "type": "custom", "allow_skip": True,
          "stages": ["lead", "qualification", "proposal", "negotiation"]}


def _deal(actor, stage: str | None = None) -> int:
    customer = make_customer(f"Customer {stage}")
    opp = opportunities.create_opportunity(actor, {"title": f"At {stage}", "customer_id": customer.id,
                                                   "kind": "field-sale"})
    if stage and stage != "lead":
        opportunities.move_to_stage(actor, opp.id, stage)
    return opp.id


def _fresh(opp_id: int) -> Opportunity:
    db.session.expire_all()
    return db.session.get(Opportunity, opp_id)


def _events(opp_id: int, type_: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.opportunity_id == opp_id, Event.type == type_)))


def _stored_stage(opp: Opportunity) -> str | None:
    """The stage the saved workflow is in, read back through the engine with the version it was saved with."""
    state = db.session.get(WorkflowState, opp.id)
    version = next(v for v in opp.kind.versions if v.id == state.kind_version_id)
    engine = process_run.engine()
    return engine.snapshot(engine.restore(process_run.definition_for(version), state.state)).stage


def test_migrate_moves_open_deals_and_reports_the_rest(app, runner):
    manager = make_user("manager@x.test", "manager")
    kinds.save_designed_kind(dict(DESIGN))
    at_lead, at_proposal, at_negotiation = _deal(manager, "lead"), _deal(manager, "proposal"), \
        _deal(manager, "negotiation")
    lost = _deal(manager, "qualification")
    opportunities.lose(manager, lost, reason="price")
    v1 = _fresh(at_lead).kind_version_id

    # version 2 drops Negotiation and adds a required task to Proposal
    kinds.save_designed_kind({**DESIGN, "stages": ["lead", "qualification", "proposal"],
                              "stage_tasks": {"proposal": [{"title": "Send the estimate", "role": "rep",
                                                            "required": True}]}})
    v2 = kinds.get_kind("field-sale").current_version
    assert v2.number == 2 and v2.id != v1

    result = runner.invoke(args=["kinds", "migrate", "field-sale"])
    assert result.exit_code == 0, result.output
    assert "moved 2 opportunities to the current version" in result.output
    assert f"left {at_negotiation}: stage negotiation is not in version 2" in result.output

    for opp_id, stage in ((at_lead, "lead"), (at_proposal, "proposal")):
        opp = _fresh(opp_id)
        assert opp.kind_version_id == v2.id and opp.stage == stage and opp.status == "in_progress"
        assert db.session.get(WorkflowState, opp_id).kind_version_id == v2.id
        assert _stored_stage(opp) == stage, "the stored workflow runs the new version in the same stage"
        [migrated] = _events(opp_id, "kind_migrated")
        assert migrated.data == {"old_version": 1, "new_version": 2}
    open_titles = [t.title for t in db.session.scalars(
        select(Task).where(Task.opportunity_id == at_proposal, Task.status == "open"))]
    assert open_titles == ["Send the estimate"], "the deal now works the new version's tasks"
    blocked = opportunities.allowed_stages(_fresh(at_proposal))
    assert blocked == [], "Proposal is the last stage of version 2"

    for opp_id in (at_negotiation, lost):
        opp = _fresh(opp_id)
        assert opp.kind_version_id == v1, "left where it was"
        assert db.session.get(WorkflowState, opp_id).kind_version_id == v1
        assert _events(opp_id, "kind_migrated") == []
    assert _fresh(lost).status == "lost" and _fresh(lost).closed
    assert _stored_stage(_fresh(at_negotiation)) == "negotiation"

    again = runner.invoke(args=["kinds", "migrate", "field-sale"])
    assert again.exit_code == 0
    assert "moved 0 opportunities" in again.output, "a second run has nothing left to move but the stranded deal"
    assert f"left {at_negotiation}" in again.output
    assert len(_events(at_lead, "kind_migrated")) == 1


def test_migrate_of_an_unknown_kind_is_one_clear_error(app, runner):
    result = runner.invoke(args=["kinds", "migrate", "no-such-kind"])
    assert result.exit_code == 1
    assert "error: No opportunity kind 'no-such-kind'" in result.output
