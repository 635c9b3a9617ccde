"""Typed task forms (som.form with types) and tasks done by an assignment, in the engine and the builder."""

from __future__ import annotations

from datetime import date

import pytest

from som_flow.engine import FormSpecError, parse_form
from som_flow.errors import InvalidProcess, ValidationFailed
from som_flow.processes import build_kind_bpmn, validate_bpmn

STAGES = [{"key": "lead", "name": "Lead", "probability": 10}, {"key": "deal", "name": "Deal", "probability": 60}]
VISIT = {"title": "Visit", "role": "rep", "form": [
    'qualified:yesno "Is the prospect qualified?"', "budget:number", "decided_on:date",
    "next_step:choice(call|visit|quote)", "notes"]}


def _kind(tasks: list[dict]) -> dict:
    return {"type": "custom", "stages": STAGES, "stage_tasks": {"lead": tasks}}


def _ready(engine, run, title: str):
    return next(t for t in engine.snapshot(run).ready_tasks if t.title == title)


def test_a_form_reads_types_choices_and_labels_and_a_plain_name_stays_text():
    fields = parse_form('qualified:yesno "Is the prospect qualified?", budget:number, next_step:choice(call|visit),'
                        " notes")
    assert [f.as_dict() for f in fields] == [
        {"name": "qualified", "type": "yesno", "label": "Is the prospect qualified?"},
        {"name": "budget", "type": "number", "label": "Budget"},
        {"name": "next_step", "type": "choice", "label": "Next step", "choices": ["call", "visit"]},
        {"name": "notes", "type": "text", "label": "Notes"},
    ]
    assert parse_form("qualified") == parse_form(" qualified ")  # what som.form meant before types
    assert parse_form("") == ()


@pytest.mark.parametrize("spec, reason", [
    ("qualified:maybe", "unknown type 'maybe'"),
    ("step:choice", "a choice needs its options"),
    ("step:choice()", "a choice needs its options"),
    ("step:choice(a|a)", "an option is listed twice"),
    ("budget:number(1|2)", "only a choice field has options"),
    ("a, a", "field a is listed twice"),
    ("a,", "a comma with no field after it"),
    ("1abc", "cannot read '1abc'"),
])
def test_a_form_that_cannot_be_read_says_why(spec, reason):
    with pytest.raises(FormSpecError, match=reason):
        parse_form(spec)


def test_an_upload_with_a_bad_form_is_refused_naming_the_task():
    xml = build_kind_bpmn(key="k", name="K", **_kind([{"title": "Visit", "form": ["qualified"]}]))
    xml = xml.replace('name="som.form" value="qualified"', 'name="som.form" value="qualified:maybe"')
    with pytest.raises(InvalidProcess) as refused:
        validate_bpmn(xml)
    assert refused.value.errors == {"task_lead_1": ["som.form: field qualified: unknown type 'maybe' "
                                                    "(use text, yesno, number, date, choice)"]}


def test_the_builder_refuses_a_bad_form_and_a_done_by_task_with_a_form():
    with pytest.raises(ValidationFailed) as bad:
        build_kind_bpmn(key="k", name="K", **_kind([{"title": "Visit", "form": ["budget:money"]}]))
    assert "'Visit': form: field budget: unknown type 'money'" in bad.value.errors["stage_tasks"][0]
    with pytest.raises(ValidationFailed) as both:
        build_kind_bpmn(key="k", name="K", **_kind([{"title": "Assign", "role": "csr", "done_by": "assignment",
                                                    "form": ["who"]}]))
    assert both.value.errors["stage_tasks"] == [
        "'Assign': a task done by an assignment cannot also ask for a form or an action"]


def test_an_upload_marking_a_gate_done_by_an_assignment_is_refused():
    xml = build_kind_bpmn(key="k", name="K", **_kind([]))
    xml = xml.replace('<spiffworkflow:property name="som.gate" value="true"/>',
                      '<spiffworkflow:property name="som.gate" value="true"/>'
                      '<spiffworkflow:property name="som.done_by" value="assignment"/>', 1)
    with pytest.raises(InvalidProcess) as refused:
        validate_bpmn(xml)
    assert refused.value.errors == {"gate_lead": ["a gate or wait is not done by an assignment"]}


def test_a_task_exposes_its_typed_form_and_the_names_as_before(engine, build):
    run = engine.start(build(**_kind([VISIT])), {})
    visit = _ready(engine, run, "Visit")
    assert visit.form == ("qualified", "budget", "decided_on", "next_step", "notes")
    assert [f.type for f in visit.form_fields] == ["yesno", "number", "date", "choice", "text"]


def test_an_answer_the_form_does_not_take_is_refused_per_field_and_nothing_moves(engine, build, saved):
    run = engine.start(build(**_kind([VISIT])), {})
    visit = _ready(engine, run, "Visit")
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(run, visit.id, {"qualified": "maybe", "budget": "a lot", "decided_on": "31/12/2026",
                                             "next_step": "email"})
    assert refused.value.errors == {
        "qualified": ["Answer yes or no."],
        "budget": ["Give a number, such as 1200 or 12.5."],
        "decided_on": ["Give a date as YYYY-MM-DD."],
        "next_step": ["Choose one of call, visit, quote."],
        "notes": ["Required to complete this task."],
    }
    assert refused.value.detail.startswith("Check the answers to 'Visit': qualified: Answer yes or no.")
    assert _ready(engine, saved(run), "Visit").id == visit.id


def test_answers_enter_the_workflow_as_their_types(engine, build, saved):
    run = engine.start(build(**_kind([VISIT])), {})
    visit = _ready(engine, run, "Visit")
    data = engine.complete_task(run, visit.id, {"qualified": "Yes", "budget": "12500.50", "decided_on": "2026-04-01",
                                                "next_step": "quote", "notes": " call after lunch "})
    assert data == {"qualified": True, "budget": 12500.5, "decided_on": date(2026, 4, 1), "next_step": "quote",
                    "notes": "call after lunch"}
    run = saved(run)  # dates and numbers survive the serializer
    done = next(t for t in run.workflow.get_tasks() if t.task_spec.bpmn_id == "task_lead_1")
    assert done.data["decided_on"] == date(2026, 4, 1) and done.data["budget"] == 12500.5


def test_yes_no_takes_booleans_and_the_words_and_whole_numbers_stay_whole(engine, build):
    form = {"title": "Check", "form": ["ok:yesno", "count:number"]}
    for given, expected in ((True, True), ("no", False), ("NO", False), (False, False)):
        run = engine.start(build(**_kind([form])), {})
        data = engine.complete_task(run, _ready(engine, run, "Check").id, {"ok": given, "count": "3"})
        assert data == {"ok": expected, "count": 3}


def test_tasks_done_by_an_assignment_are_completed_by_the_process_and_the_next_ones_appear(engine, build, saved):
    definition = build(**_kind([{"title": "Assign a rep", "role": "csr", "done_by": "assignment"},
                                {"title": "Call", "role": "rep"}]))
    assert definition.done_by_assignment == frozenset({"task_lead_1"})
    run = engine.start(definition, {})
    assert [t.title for t in engine.snapshot(run).ready_tasks if not t.gate] == ["Assign a rep"]
    assert _ready(engine, run, "Assign a rep").done_by == "assignment"

    done = engine.complete_done_by(run)

    assert [t.title for t in done] == ["Assign a rep"]
    run = saved(run)
    assert [t.title for t in engine.snapshot(run).ready_tasks if not t.gate] == ["Call"]
    assert engine.complete_done_by(run) == ()  # nothing left to do: nothing changes


def test_a_process_with_no_task_done_by_an_assignment_is_left_alone(engine, kinds):
    run = engine.start(kinds["service-contract"], {})
    assert kinds["service-contract"].done_by_assignment == frozenset()
    assert engine.complete_done_by(run) == ()


def test_the_shipped_standard_sale_assigns_by_assignment_and_qualifies_with_yes_or_no(kinds):
    from som_flow.processes import shipped_bpmn

    xml = shipped_bpmn("standard-sale")
    assert '<spiffworkflow:property name="som.done_by" value="assignment"/>' in xml
    assert 'value="qualified:yesno &quot;Is the prospect qualified?&quot;"' in xml
    assert kinds["standard-sale"].done_by_assignment == frozenset({"task_lead_1"})


# -- through the API and the pages (both backends) ----------------------------------------------------------
@pytest.fixture
def qualifying(app):
    """A standard-sale deal of the rep's in Qualification, its "Answer qualification..." task open."""
    from som_flow.services import catalogs
    from tests.helpers import Api, make_customer, make_user

    make_user("csr@x.test", "csr")
    rep = make_user("rep@x.test", "rep")
    catalogs.create_question("qualified", "qualification", "Is the prospect qualified?", required=True)
    office, rep_api = Api(app.test_client(), "csr@x.test"), Api(app.test_client(), "rep@x.test")
    deal = office.post("/opportunities", {"title": "New furnace", "customer_id": make_customer("Hansen").id,
                                          "kind": "standard-sale", "sales_rep": rep.id}).json
    rep_api.finish_required_tasks(deal["id"])
    assert rep_api.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"}).status_code == 200
    [task] = [t for t in rep_api.get("/tasks?assignee=me").json["items"] if t["stage"] == "qualification"]
    return {"deal": deal, "task": task, "rep": rep_api, "rep_user": rep}


def test_the_qualify_task_shows_its_yes_no_form_in_the_api(qualifying):
    task = qualifying["task"]
    assert task["form"] == ["qualified"]
    assert task["form_fields"] == [{"name": "qualified", "type": "yesno", "label": "Is the prospect qualified?"}]


def test_maybe_is_not_an_answer_to_qualified(qualifying):
    rep, task, deal = qualifying["rep"], qualifying["task"], qualifying["deal"]

    r = rep.post(f"/tasks/{task['id']}/complete", {"data": {"qualified": "maybe"}})

    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert r.json["errors"] == {"qualified": ["Answer yes or no."]}
    assert rep.get(f"/tasks?opportunity={deal['id']}").json["items"][0]["status"] == "open"
    assert rep.get(f"/opportunities/{deal['id']}").json["qualified"] is False


def test_a_yes_to_qualified_answers_the_deals_question(qualifying):
    rep, task, deal = qualifying["rep"], qualifying["task"], qualifying["deal"]

    r = rep.post(f"/tasks/{task['id']}/complete", {"data": {"qualified": "yes"}})

    assert r.status_code == 200, r.json
    opp = rep.get(f"/opportunities/{deal['id']}").json
    assert opp["answers"] == {"qualified": True} and opp["qualified"] is True
    changes = [e["data"] for e in rep.history(deal['id']) if e["type"] == "field_changed"
               and e["data"]["field"] == "answers.qualified"]
    assert [(c["old"], c["new"], c["task"]) for c in changes] == [
        (None, True, "Answer qualification and profile questions on site")]
    done = rep.get(f"/tasks?opportunity={deal['id']}&status=done").json["items"]
    assert {t["title"]: t for t in done}["Answer qualification and profile questions on site"]["status"] == "done"


def test_a_refused_answer_on_the_task_list_keeps_what_was_typed_beside_the_message(app):
    from som_flow.services import kinds
    from tests.helpers import login, make_customer, make_user

    admin = make_user("admin@x.test", "admin")
    rep = make_user("rep@x.test", "rep")
    kinds.save_designed_kind({"key": "survey", "name": "Survey", "type": "standard", "stages": ["lead"],
                              "stage_tasks": {"lead": [{"title": "Survey the site", "role": "rep", "form": [
                                  "roof_area:number", "decided_on:date", "visit:choice(morning|afternoon)",
                                  "safe:yesno"]}]}}, admin)
    from som_flow.services import opportunities

    opp = opportunities.create_opportunity(admin, {"title": "Barn roof", "customer_id": make_customer().id,
                                                   "kind": "survey", "sales_rep": rep.id})
    [task] = opportunities.open_tasks(opp)
    page = login(app.test_client(), rep)
    listing = page.get("/tasks").text
    assert 'type="number"' in listing and 'type="date"' in listing and "<select" in listing
    assert 'name="safe" value="yes"' in listing and " checked" not in listing  # nothing chosen for the user
    assert "Roof area" in listing and "Decided on" in listing

    refused = page.post(f"/tasks/{task.id}/complete", data={
        "roof_area": "about 40", "decided_on": "1800-01-01", "visit": "afternoon", "safe": "yes", "next": "/tasks"})

    assert refused.status_code == 422
    html = refused.text
    assert 'value="about 40"' in html and 'value="1800-01-01"' in html
    assert '<option value="afternoon" selected>' in html and 'name="safe" value="yes" checked' in html
    assert f'id="f-{task.id}-roof_area-error">Give a number, such as 1200 or 12.5.</span>' in html
    assert f'id="f-{task.id}-decided_on-error">Give a date between 1900 and 2200.</span>' in html
    assert opportunities.open_tasks(opp)[0].status == "open"

    done = page.post(f"/tasks/{task.id}/complete", data={
        "roof_area": "40.5", "decided_on": "2026-04-01", "visit": "afternoon", "safe": "yes", "next": "/tasks"})
    assert done.status_code == 302
    from som_flow.extensions import db
    from som_flow.models import Task

    db.session.expire_all()
    assert db.session.get(Task, task.id).data == {"roof_area": 40.5, "decided_on": "2026-04-01", "visit": "afternoon",
                                                   "safe": True}


def test_a_refused_answer_sent_from_the_deal_page_shows_the_deal_again(qualifying, app):
    from tests.helpers import login

    page = login(app.test_client(), qualifying["rep_user"])
    deal_path = f"/opportunities/{qualifying['deal']['id']}"

    refused = page.post(f"/tasks/{qualifying['task']['id']}/complete", data={"qualified": "maybe", "next": deal_path})

    assert refused.status_code == 422
    assert "New furnace" in refused.text and "qualified: Answer yes or no." in refused.text
