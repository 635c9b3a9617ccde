"""Issue #17 item 1, fifth pass: a move reads the kind's qualification questions only when its process reads
`qualified` (the definition knows which data names its conditions, timers and service parameters read), and a
process that does read it still routes by the deal's qualification as it is at the move."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from som_flow.errors import Conflict
from som_flow.extensions import db
from som_flow.services import catalogs, kinds, opportunities
from tests.helpers import make_customer, make_user

# the lead's route to proposal taken only for a qualified deal (any other would go to qualification: the move is
# refused)
_TO_PROPOSAL = 'target_stage == "proposal"</bpmn:conditionExpression>'
_TO_PROPOSAL_IF_QUALIFIED = 'target_stage == "proposal" and qualified</bpmn:conditionExpression>'


def _sent_during(call) -> list[str]:
    sent: list[str] = []

    def count(_conn, _cursor, statement, *_):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return sent


def _question_reads(sent: list[str]) -> list[str]:
    return [s for s in sent if "FROM question" in s]


def _gated_kind() -> None:
    """A copy of the service contract whose lead → proposal route reads `qualified`."""
    xml = kinds.get_kind("service-contract").current_version.bpmn_xml
    assert xml.count(_TO_PROPOSAL) == 1
    kinds.import_kind_bpmn("gated-contract", xml.replace(_TO_PROPOSAL, _TO_PROPOSAL_IF_QUALIFIED))
    db.session.commit()


def test_the_definition_knows_which_data_names_its_expressions_read(app):
    _gated_kind()
    standard = opportunities.definition_for(kinds.get_kind("standard-sale").current_version)
    gated = opportunities.definition_for(kinds.get_kind("gated-contract").current_version)
    assert standard.names_read == {"start_stage"}  # its routes at the start; its stages follow one another
    assert not standard.reads("qualified")  # its form has a field named so, but no condition reads it
    assert gated.reads("qualified") and gated.reads("target_stage")
    assert not gated.reads("amount")


def test_a_move_of_a_kind_that_never_reads_qualified_reads_no_questions(app):
    manager = make_user("m@x.test", "manager")
    catalogs.create_question("budget", "qualification", "Has the customer a budget?", required=True)
    opp_id = opportunities.create_opportunity(manager, {"title": "Plain", "customer_id": make_customer().id,
                                                        "kind": "service-contract"}).id
    db.session.commit()
    sent = _sent_during(lambda: opportunities.move_to_stage(manager, opp_id, "qualification"))
    assert opportunities.get_opportunity(opp_id).stage == "qualification"
    assert _question_reads(sent) == []


def test_a_process_that_reads_qualified_routes_by_the_qualification_at_the_move(app):
    manager = make_user("m@x.test", "manager")
    catalogs.create_question("budget", "qualification", "Has the customer a budget?", required=True)
    _gated_kind()
    customer = make_customer()
    ready = opportunities.create_opportunity(manager, {"title": "Ready", "customer_id": customer.id,
                                                       "kind": "gated-contract"}).id
    later = opportunities.create_opportunity(manager, {"title": "Later", "customer_id": customer.id,
                                                       "kind": "gated-contract"}).id
    for opp_id in (ready, later):
        opportunities.update_opportunity(manager, opp_id, {"answers": {"budget": True}})
    db.session.commit()

    sent = _sent_during(lambda: opportunities.move_to_stage(manager, ready, "proposal"))
    assert opportunities.get_opportunity(ready).stage == "proposal"
    assert len(_question_reads(sent)) == 1

    # a question required since: the deal was qualified when answered, and is not now (nothing of it changed)
    catalogs.create_question("owner", "qualification", "Is the caller the home owner?", required=True)
    db.session.commit()
    with pytest.raises(Conflict, match="Cannot move from Lead to Proposal"):  # its route goes elsewhere now
        opportunities.move_to_stage(manager, later, "proposal")
    db.session.rollback()
    assert opportunities.get_opportunity(later).stage == "lead"
