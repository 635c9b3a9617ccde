"""Generated work follows the people: whichever way a deal gets its rep, the office's "Assign a sales rep" (a task
marked som.done_by=assignment) completes itself and the rep's first tasks are in the rep's list at once."""

from __future__ import annotations

import pytest

from tests.helpers import Api, make_customer, make_user


@pytest.fixture
def people(app):
    office = make_user("csr@x.test", "csr")
    rep = make_user("rep@x.test", "rep")
    make_user("other@x.test", "rep")
    make_user("manager@x.test", "manager")
    return {"office": office, "rep": rep, "customer": make_customer("Hansen household")}


def _deal(api: Api, people, **extra) -> dict:
    r = api.post("/opportunities", {"title": "New furnace", "customer_id": people["customer"].id,
                                    "kind": "standard-sale", **extra})
    assert r.status_code == 201, r.json
    return r.json


def _tasks(api: Api, deal: dict, status: str = "open") -> dict[str, dict]:
    return {t["title"]: t for t in api.get(f"/tasks?opportunity={deal['id']}&status={status}").json["items"]}


def _mine(api: Api) -> set[str]:
    return {t["title"] for t in api.get("/tasks?assignee=me").json["items"]}


def _rep_moves_after_only_the_reps_own_task(rep: Api, deal: dict) -> None:
    contact = _tasks(rep, deal)["Contact the prospect"]
    assert rep.post(f"/tasks/{contact['id']}/complete", {"data": {}}).status_code == 200
    moved = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"})
    assert moved.status_code == 200, moved.json
    assert moved.json["stage"] == "qualification"


def _assign_task_done_by(api: Api, deal: dict, actor_name: str) -> None:
    assert "Assign a sales rep" not in _tasks(api, deal)
    assert "Assign a sales rep" in _tasks(api, deal, "done")
    events = [e for e in api.history(deal['id'])
              if e["type"] == "task_completed" and e["data"]["task"] == "Assign a sales rep"]
    assert [(e["actor"], e["data"]["done_by"]) for e in events] == [(actor_name, "assignment")]


def test_a_deal_created_with_its_rep_leaves_no_office_task_and_the_rep_moves_it(client, people):
    office, rep = Api(client, "csr@x.test"), Api(client, "rep@x.test")

    deal = _deal(office, people, sales_rep=people["rep"].id)

    _assign_task_done_by(office, deal, "Csr")
    assert {"Contact the prospect", "Book an appointment"} <= _mine(rep)
    _rep_moves_after_only_the_reps_own_task(rep, deal)


def test_the_office_assigning_a_rep_completes_its_task_and_hands_the_rep_the_next_ones(client, people):
    office, rep = Api(client, "csr@x.test"), Api(client, "rep@x.test")
    deal = _deal(office, people)
    assert "Assign a sales rep" in _tasks(office, deal)
    assert "Contact the prospect" not in _mine(rep)  # in the rep pool until someone has the deal
    refused = office.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"})
    assert refused.status_code == 422 and refused.json["errors"] == {"tasks": ["Assign a sales rep",
                                                                               "Contact the prospect"]}

    assigned = office.post(f"/opportunities/{deal['id']}/assign", {"user_id": people["rep"].id})

    assert assigned.status_code == 200, assigned.json
    assert assigned.json["version"] > deal["version"]
    _assign_task_done_by(office, deal, "Csr")
    assert {"Contact the prospect", "Book an appointment"} <= _mine(rep)
    _rep_moves_after_only_the_reps_own_task(rep, deal)


def test_a_rep_claiming_the_deal_completes_the_office_task(client, people):
    office, rep = Api(client, "csr@x.test"), Api(client, "rep@x.test")
    deal = _deal(office, people)

    assert rep.post(f"/opportunities/{deal['id']}/claim").status_code == 200

    _assign_task_done_by(office, deal, "Rep")
    assert "Contact the prospect" in _mine(rep)


def test_a_bulk_assignment_completes_the_office_task_of_every_deal(client, people):
    office, rep = Api(client, "csr@x.test"), Api(client, "rep@x.test")
    deals = [_deal(office, people) for _ in range(2)]

    r = office.post("/opportunities/bulk", {"ids": [d["id"] for d in deals], "action": "assign",
                                            "user_id": people["rep"].id})

    assert r.status_code == 200 and r.json["done"] == [d["id"] for d in deals], r.json
    for deal in deals:
        _assign_task_done_by(office, deal, "Csr")
    assert len([t for t in rep.get("/tasks?assignee=me").json["items"] if t["title"] == "Contact the prospect"]) == 2


def test_a_rep_set_by_editing_the_deal_completes_the_office_task(client, people):
    office = Api(client, "csr@x.test")
    deal = _deal(office, people)

    r = office.patch(f"/opportunities/{deal['id']}", {"sales_rep": people["rep"].id})

    assert r.status_code == 200, r.json
    _assign_task_done_by(office, deal, "Csr")


def test_reassigning_or_unassigning_later_changes_no_process_task(client, people):
    office = Api(client, "csr@x.test")
    deal = _deal(office, people, sales_rep=people["rep"].id)
    other = make_user("third@x.test", "rep")

    assert office.post(f"/opportunities/{deal['id']}/unassign").status_code == 200
    assert office.post(f"/opportunities/{deal['id']}/assign", {"user_id": other.id}).status_code == 200

    _assign_task_done_by(office, deal, "Csr")  # done once, by the first assignment
    assert _tasks(Api(client, "manager@x.test"), deal)["Contact the prospect"]["assignee"] == other.id


def test_a_reopened_deal_with_a_rep_does_not_ask_the_office_to_assign_again(client, people):
    office, manager = Api(client, "csr@x.test"), Api(client, "manager@x.test")
    deal = _deal(office, people, sales_rep=people["rep"].id)
    assert manager.post(f"/opportunities/{deal['id']}/lose", {"reason": "price"}).status_code == 200

    reopened = manager.post(f"/opportunities/{deal['id']}/reopen")

    assert reopened.status_code == 200, reopened.json
    assert reopened.json["stage"] == "lead"
    assert "Assign a sales rep" not in _tasks(manager, deal)
    assert "Contact the prospect" in _tasks(manager, deal)


def test_a_designed_kind_may_mark_its_own_task_done_by_an_assignment(client, people):
    admin = make_user("admin@x.test", "admin")
    designed = Api(client, admin.email).post("/kinds", {
        "key": "roofing", "name": "Roofing", "type": "standard", "stages": ["lead", "qualification"],
        "stage_tasks": {"lead": [{"title": "Find a roofer", "role": "csr", "done_by": "assignment"},
                                 {"title": "Measure the roof", "role": "rep", "form": ["area:number"]}]}})
    assert designed.status_code == 201, designed.json
    office, rep = Api(client, "csr@x.test"), Api(client, "rep@x.test")

    deal = _deal(office, people, kind="roofing", sales_rep=people["rep"].id)

    assert "Find a roofer" in _tasks(office, deal, "done")
    measure = _tasks(rep, deal)["Measure the roof"]
    assert measure["assignee"] == people["rep"].id
    assert measure["form_fields"] == [{"name": "area", "type": "number", "label": "Area"}]


def test_a_kind_refuses_an_unknown_done_by_and_a_form_it_cannot_read(client, people):
    admin = make_user("admin@x.test", "admin")
    r = Api(client, admin.email).post("/kinds", {
        "key": "roofing", "name": "Roofing", "type": "standard", "stages": ["lead"],
        "stage_tasks": {"lead": [{"title": "Find a roofer", "role": "csr", "done_by": "magic"},
                                 {"title": "Measure", "form": ["area:money", {"name": "ok", "type": "yesno"}]}]}})
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert r.json["errors"] == {
        "stage_tasks.lead.value.0.done_by": ["Must be one of: assignment."],
        "stage_tasks.lead.value.1.form.0": ["Field area: unknown type 'money' (use text, yesno, number, date, "
                                            "choice)."]}
    assert Api(client, admin.email).get("/kinds/roofing").status_code == 404


def test_the_office_completes_its_assign_task_by_choosing_the_rep(client, people):
    office, rep = Api(client, "csr@x.test"), Api(client, "rep@x.test")
    deal = _deal(office, people)
    task = _tasks(office, deal)["Assign a sales rep"]
    assert task["done_by"] == "assignment"

    done = office.post(f"/tasks/{task['id']}/complete", {"data": {"sales_rep": people["rep"].id}})

    assert done.status_code == 200, done.json
    assert done.json["status"] == "done"
    assert office.get(f"/opportunities/{deal['id']}").json["sales_rep"] == people["rep"].id
    _assign_task_done_by(office, deal, "Csr")
    assert "Contact the prospect" in _mine(rep)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("bad", ["someone", 0, 2**40, True, 999])
def test_choosing_no_real_rep_on_the_assign_task_is_a_field_error(client, people, bad):
    office = Api(client, "csr@x.test")
    deal = _deal(office, people)
    task = _tasks(office, deal)["Assign a sales rep"]

    refused = office.post(f"/tasks/{task['id']}/complete", {"data": {"sales_rep": bad}})

    assert refused.status_code == 422 and list(refused.json["errors"]) == ["sales_rep"], refused.json
    assert "Assign a sales rep" in _tasks(office, deal)
    assert office.get(f"/opportunities/{deal['id']}").json["sales_rep"] is None


def test_on_the_task_list_the_office_picks_the_rep_in_its_assign_task(app, client, people):
    from som_flow.services import opportunities
    from tests.helpers import login

    opp = opportunities.create_opportunity(people["office"], {"title": "Heat pump", "kind": "standard-sale",
                                                              "customer_id": people["customer"].id})
    [task] = [t for t in opportunities.open_tasks(opp) if t.title == "Assign a sales rep"]
    page = login(client, people["office"])
    assert page.post(f"/tasks/{task.id}/claim", data={"next": "/tasks"}).status_code == 302
    listing = page.get("/tasks").text
    assert f'<label for="f-{task.id}-sales_rep">Sales rep</label>' in listing
    assert f'<option value="{people["rep"].id}">Rep</option>' in listing

    picked = page.post(f"/tasks/{task.id}/complete", data={"sales_rep": str(people["rep"].id), "next": "/tasks"})

    assert picked.status_code == 302
    office = Api(client, "csr@x.test")
    assert office.get(f"/opportunities/{opp.id}").json["sales_rep"] == people["rep"].id
    assert "Contact the prospect" in _mine(Api(client, "rep@x.test"))
    assert "Assign a sales rep" not in page.get("/tasks").text
