"""A timer read from a deal's field, over the API (issue #14, item 4): a value it cannot start with is a 422
naming the field on the call that brought it — a PATCH, a create, a move — and nothing is written; a sane value
starts the timer, which fires when the clock passes it.

The kind is the standard sale uploaded with its Proposal SLA lasting `custom["wait"]`, a text field.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from som_flow.engine.timers import OPPORTUNITY_FIELDS
from som_flow.extensions import db
from som_flow.models import Opportunity, Reminder
from som_flow.services.process_run import process_data
from som_flow.services.reminders import fire_due_reminders
from tests.helpers import Api, login, make_customer, make_user

PROBLEM = "application/problem+json"
SLA = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P14D"</bpmn:timeDuration>'
WAIT = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">custom[&quot;wait&quot;]</bpmn:timeDuration>'
BAD = ["P2000000Y", "R/PT1S", "soon"]
SAYS = {"P2000000Y": "'P2000000Y' is longer than ten years",
        "R/PT1S": "'R/PT1S' is not a plain ISO-8601 duration such as P14D",
        "soon": "'soon' is not a valid ISO-8601 duration such as P14D or PT5M"}


@pytest.fixture
def office(client):
    """The admin (who uploads the timed kind and may do every task) and a rep; and a way to make deals."""
    make_user("admin@x.test", "admin")
    rep_user = make_user("rep@x.test", "rep")
    admin, rep = Api(client, "admin@x.test"), Api(client, "rep@x.test")
    assert admin.post("/custom-fields", {"key": "wait", "label": "Wait", "type": "text"}).status_code == 201
    xml = admin.get("/kinds/standard-sale/bpmn").get_data(as_text=True)
    assert SLA in xml
    r = admin.put("/kinds/timed/bpmn", xml.replace(SLA, WAIT).encode())
    assert r.status_code == 201, r.json

    def new_deal(**fields):
        return rep.post("/opportunities", {"title": "New roof", "customer_id": make_customer().id, "kind": "timed",
                                           "sales_rep": rep_user.id, "anticipated_close_date": "2027-01-01",
                                           **fields})

    return admin, rep, new_deal


def _to_qualification(admin: Api, rep: Api, deal: dict) -> dict:
    admin.finish_required_tasks(deal["id"])
    r = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"})
    assert r.status_code == 200, r.json
    admin.finish_required_tasks(deal["id"])
    return rep.get(f"/opportunities/{deal['id']}").json


def _seen(api: Api, deal_id: int) -> tuple:
    """What a user checks: the deal's stage, custom values and version, its open tasks and its history."""
    deal = api.get(f"/opportunities/{deal_id}").json
    tasks = sorted(t["title"] for t in api.get(f"/tasks?opportunity={deal_id}&per_page=200").json["items"]
                   if t["status"] == "open")
    history = api.history(deal_id)
    return deal["stage"], deal.get("custom"), deal["version"], tasks, len(history)


def _refused(r, value: str | None) -> None:
    assert r.status_code == 422 and r.mimetype == PROBLEM, (r.status_code, r.get_data(as_text=True)[:300])
    assert list(r.json["errors"]) == ["custom.wait"]
    [reason] = r.json["errors"]["custom.wait"]
    assert reason.startswith("The timer 'SLA P14D' reads the user-defined field 'wait': ")
    assert (SAYS[value] if value else "the value is missing; enter an ISO-8601 duration") in reason


def test_the_fields_a_timer_may_read_are_the_ones_a_deal_gives_its_workflow(app):
    assert set(process_data(Opportunity(custom={}))) == set(OPPORTUNITY_FIELDS)


@pytest.mark.parametrize("value", BAD)
def test_a_patch_giving_the_timer_a_value_it_cannot_start_with_is_refused_and_nothing_is_written(office, value):
    admin, rep, new_deal = office
    deal = new_deal(custom={"wait": "P3D"}).json
    before = _seen(rep, deal["id"])
    r = rep.patch(f"/opportunities/{deal['id']}", {"custom": {"wait": value}, "title": "Renamed"})
    _refused(r, value)
    assert _seen(rep, deal["id"]) == before
    assert rep.get(f"/opportunities/{deal['id']}").json["title"] == "New roof"


@pytest.mark.parametrize("value", BAD)
def test_a_create_with_such_a_value_is_refused_and_no_deal_is_made(office, value):
    _, rep, new_deal = office
    count = rep.get("/opportunities").json["total"]
    _refused(new_deal(custom={"wait": value}), value)
    assert rep.get("/opportunities").json["total"] == count


def test_a_move_into_the_timed_stage_without_the_value_is_refused_naming_the_field(office):
    admin, rep, new_deal = office
    deal = _to_qualification(admin, rep, new_deal().json)
    before = _seen(rep, deal["id"])
    r = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "proposal"})
    _refused(r, None)
    assert _seen(rep, deal["id"]) == before, "still in Qualification with the same tasks; nothing written"
    # the rep fills the field in and the move goes through
    assert rep.patch(f"/opportunities/{deal['id']}", {"custom": {"wait": "P3D"}}).status_code == 200
    assert rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "proposal"}).json["stage"] == "proposal"


def test_the_deal_page_says_why_the_move_is_refused_in_words(office, app):
    """The page's move shows the same sentence as the API, naming the field in words, not by its key."""
    admin, rep, new_deal = office
    deal = _to_qualification(admin, rep, new_deal().json)
    page = login(app.test_client(), "rep@x.test")
    r = page.post(f"/opportunities/{deal['id']}/stage", data={"stage": "proposal", "version": deal["version"]},
                  follow_redirects=True)
    html = r.get_data(as_text=True)
    assert ("The timer &#39;SLA P14D&#39; reads the user-defined field &#39;wait&#39;: the value is missing; enter "
            "an ISO-8601 duration such as P14D or PT5M.") in html
    assert "custom.wait:" not in html, "no internal key in the message"
    assert rep.get(f"/opportunities/{deal['id']}").json["stage"] == "qualification"


@pytest.mark.parametrize("value", BAD)
def test_a_move_starting_the_timer_with_a_stored_bad_value_is_refused(office, value):
    """A value stored before this check (or by hand in the database) is refused when the timer would start."""
    admin, rep, new_deal = office
    deal = _to_qualification(admin, rep, new_deal().json)
    row = db.session.get(Opportunity, deal["id"])
    row.custom = {"wait": value}
    db.session.commit()
    before = _seen(rep, deal["id"])
    _refused(rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "proposal"}), value)
    assert _seen(rep, deal["id"]) == before


def test_a_sane_value_starts_the_timer_and_it_fires_when_the_clock_passes_it(office, clock):
    admin, rep, new_deal = office
    start = clock.now()
    with time_machine.travel(start, tick=False):  # SpiffWorkflow reads the wall clock; the services read `clock`
        deal = _to_qualification(admin, rep, new_deal(custom={"wait": "P3D"}).json)
        r = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "proposal"})
        assert r.status_code == 200, r.json
    due = db.session.scalars(select(Reminder.due_at).where(
        Reminder.opportunity_id == deal["id"], Reminder.kind == "process_timer", Reminder.state == "pending")).all()
    assert due == [start + timedelta(days=3)]

    def manager_tasks() -> list[str]:
        tasks = admin.get(f"/tasks?opportunity={deal['id']}&per_page=200").json["items"]
        return [t["title"] for t in tasks if t["status"] == "open" and t["role"] == "manager"]

    clock.advance(days=2)
    with time_machine.travel(clock.now(), tick=False):
        fire_due_reminders()
    assert manager_tasks() == []
    clock.advance(days=1, minutes=1)
    with time_machine.travel(clock.now(), tick=False):
        assert fire_due_reminders() == 1
    assert manager_tasks() == ["Review stalled Proposal"]
    assert rep.get(f"/opportunities/{deal['id']}").json["stage"] == "proposal", "the SLA does not move the deal"


def test_a_migration_leaves_a_deal_whose_timer_its_data_cannot_start_and_says_why(office, app, runner):
    admin, rep, new_deal = office
    good = _to_qualification(admin, rep, new_deal(custom={"wait": "P3D"}).json)
    bad = _to_qualification(admin, rep, new_deal(custom={"wait": "P3D"}).json)
    for deal in (good, bad):
        assert rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "proposal"}).status_code == 200
    db.session.get(Opportunity, bad["id"]).custom = {"wait": "soon"}  # stored before this check, say
    db.session.commit()
    xml = admin.get("/kinds/timed/bpmn").data
    assert admin.put("/kinds/timed/bpmn", xml).status_code == 201  # version 2
    result = runner.invoke(args=["kinds", "migrate", "timed"])
    assert result.exit_code == 0, result.output
    assert "moved 1 opportunities" in result.output
    assert (f"left {bad['id']}: The timer 'SLA P14D' reads the user-defined field 'wait': 'soon' is not a valid "
            "ISO-8601") in result.output
    db.session.expire_all()
    assert {d["id"]: (db.session.get(Opportunity, d["id"]).kind_version.number,
                      rep.get(f"/opportunities/{d['id']}").json["stage"]) for d in (good, bad)} == {
        good["id"]: (2, "proposal"), bad["id"]: (1, "proposal")}, "the left deal keeps its version, untouched"


def test_a_kind_with_a_timer_written_bare_as_modelers_write_it_runs(office, clock):
    """The issue's "accepted, then stuck": `P14D` without quotes passed upload, then every move into the stage
    failed. Bare ISO text is the timer's value: the deal moves on and its timer is due in 14 days."""
    admin, rep, new_deal = office
    xml = admin.get("/kinds/standard-sale/bpmn").get_data(as_text=True)
    bare = xml.replace(SLA, '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P14D</bpmn:timeDuration>')
    assert admin.put("/kinds/bare/bpmn", bare.encode()).status_code == 201
    start = clock.now()
    with time_machine.travel(start, tick=False):
        deal = new_deal(kind="bare").json
        deal = _to_qualification(admin, rep, deal)
        r = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "proposal"})
        assert r.status_code == 200, r.json
    due = db.session.scalars(select(Reminder.due_at).where(
        Reminder.opportunity_id == deal["id"], Reminder.kind == "process_timer")).all()
    assert due == [start + timedelta(days=14)]
