"""Issue #12 item 2: tasks people add to a deal (POST /tasks) — done, snoozed and reassigned like the process's
tasks, never gating a stage, never seen by the engine; bulk done / snooze / reassign (POST /tasks/bulk)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def world(app):
    people = {role: make_user(f"{role}@x.test", role) for role in ("manager", "csr", "rep")}
    people["colleague"] = make_user("colleague@x.test", "rep")
    people["customer"] = make_customer("Northwind Traders")
    return people


def new_deal(client, world, rep: str = "rep") -> dict:
    r = Api(client, "csr@x.test").post("/opportunities", {
        "title": "CRM licenses", "customer_id": world["customer"].id, "kind": "standard-sale",
        "sales_rep": world[rep].id})
    assert r.status_code == 201, r.json
    return r.json


def add_task(api: Api, deal: dict, **body):
    return api.post("/tasks", {"title": "Call about the budget", "opportunity_id": deal["id"], **body})


def complete_with_key(client, api: Api, task: dict, key: str):
    return client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {}},
                       headers={**api.headers, "Idempotency-Key": key})


def history_types(api: Api, deal: dict) -> list[str]:
    return [e["type"] for e in api.history(deal['id'])]


def test_a_rep_adds_a_task_to_his_deal_and_finds_it_on_his_list(client, clock, world):
    deal = new_deal(client, world)
    rep = Api(client, "rep@x.test")
    due = (clock.now() + timedelta(days=2)).isoformat()
    r = add_task(rep, deal, due_at=due, instructions="Ask for the Q3 figures")
    assert r.status_code == 201, r.json
    task = r.json
    assert (task["source"], task["assignee"], task["role"]) == ("person", world["rep"].id, "rep")
    assert (task["gate"], task["required"], task["form"], task["status"]) == (False, False, [], "open")
    assert task["due_at"] == due and task["instructions"] == "Ask for the Q3 figures"

    mine = rep.get("/tasks?assignee=me").json["items"]
    [listed] = [t for t in mine if t["id"] == task["id"]]
    assert listed["opportunity"] == {"id": deal["id"], "number": deal["number"], "title": "CRM licenses",
                                     "stage": "lead", "kind": "standard-sale"}
    assert listed["customer"] == "Northwind Traders" and listed["due_at"] == due
    assert {t["source"] for t in mine} == {"person", "process"}
    [created] = [e for e in rep.history(deal['id']) if e["type"] == "task_created"]
    assert created["data"]["task"] == "Call about the budget" and created["data"]["task_id"] == task["id"]


def _completions(api, deal, task) -> int:
    """How many times the deal's history says this task was completed (the office's assign task is done too)."""
    return [e["data"].get("task_id") for e in api.history(deal['id'])
            if e["type"] == "task_completed"].count(task["id"])


def test_completing_a_persons_task_leaves_the_process_alone(client, world):
    deal = new_deal(client, world)
    rep = Api(client, "rep@x.test")
    task = add_task(rep, deal).json
    process_tasks = {t["id"] for t in rep.get(f"/tasks?opportunity={deal['id']}").json["items"]} - {task["id"]}
    before = rep.get(f"/opportunities/{deal['id']}").json

    done = complete_with_key(client, rep, task, "k1")
    assert done.status_code == 200, done.json
    assert done.json["status"] == "done" and done.json["completed_at"]
    after = rep.get(f"/opportunities/{deal['id']}").json
    assert (after["stage"], after["version"], after["allowed_stages"]) == (
        before["stage"], before["version"], before["allowed_stages"])
    assert {t["id"] for t in rep.get(f"/tasks?opportunity={deal['id']}").json["items"]} == process_tasks
    assert _completions(rep, deal, task) == 1

    again = complete_with_key(client, rep, task, "k1")
    assert again.status_code == 200  # the retry of the same completion
    assert rep.post(f"/tasks/{task['id']}/complete", {"data": {}}).status_code == 409
    assert _completions(rep, deal, task) == 1


def test_an_open_persons_task_never_gates_a_stage_and_outlives_the_move(client, world):
    deal = new_deal(client, world)
    rep = Api(client, "rep@x.test")
    task = add_task(rep, deal).json
    Api(client, "manager@x.test").finish_required_tasks(deal["id"])
    moved = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"})
    assert moved.status_code == 200, moved.json
    assert moved.json["stage"] == "qualification"
    still = [t for t in rep.get("/tasks?assignee=me").json["items"] if t["id"] == task["id"]]
    assert still and still[0]["status"] == "open"
    assert task["id"] in {t["id"] for t in moved.json["open_tasks"]}


def test_a_closed_deal_takes_no_new_tasks_and_cancels_the_open_ones(client, world):
    deal = new_deal(client, world)
    rep = Api(client, "rep@x.test")
    task = add_task(rep, deal).json
    assert rep.post(f"/opportunities/{deal['id']}/lose", {"reason": "price"}).status_code == 200
    cancelled = rep.get(f"/tasks?opportunity={deal['id']}&status=cancelled").json["items"]
    assert task["id"] in {t["id"] for t in cancelled}
    refused = add_task(rep, deal)
    assert refused.status_code == 409, refused.json


def test_the_office_gives_a_task_to_the_rep_pool_or_to_a_person(client, world):
    deal = new_deal(client, world)
    csr = Api(client, "csr@x.test")
    pooled = add_task(csr, deal, role="rep", title="Measure the roof")
    assert pooled.status_code == 201, pooled.json
    assert (pooled.json["assignee"], pooled.json["role"]) == (None, "rep")
    assert "Measure the roof" in {t["title"] for t in Api(client, "colleague@x.test")
                                  .get("/tasks?assignee=none").json["items"]}
    given = add_task(csr, deal, assignee_id=world["colleague"].id, title="Send the brochure")
    assert given.status_code == 201, given.json
    assert (given.json["assignee"], given.json["role"]) == (world["colleague"].id, "rep")
    # the deal's new rep takes the process's rep tasks, not a task someone was given by name
    assert Api(client, "manager@x.test").post(f"/opportunities/{deal['id']}/assign",
                                              {"user_id": world["manager"].id}).status_code == 200
    mine = Api(client, "colleague@x.test").get("/tasks?assignee=me").json["items"]
    assert "Send the brochure" in {t["title"] for t in mine}


def test_who_may_add_a_task(client, world):
    deal = new_deal(client, world)
    # a rep adds tasks to his own deals, for himself or a pool, not for a colleague by name
    assert add_task(Api(client, "colleague@x.test"), deal).status_code == 403
    assert add_task(Api(client, "rep@x.test"), deal, assignee_id=world["colleague"].id).status_code == 403
    assert add_task(Api(client, "rep@x.test"), deal, role="csr").status_code == 201
    make_user("scheduler@x.test", "scheduler")
    assert add_task(Api(client, "scheduler@x.test"), deal).status_code == 403


@pytest.mark.parametrize("body, field", [
    ({"due_at": "2301-01-01T09:00:00+00:00"}, "due_at"),
    ({"due_at": "1899-12-31T09:00:00+00:00"}, "due_at"),
    ({"due_at": "2026-03-04T09:00:00"}, "due_at"),  # no offset
    ({"due_at": "next week"}, "due_at"),
    ({"title": ""}, "title"),
    ({"role": "boss"}, "role"),
    ({"assignee_id": 999999}, "assignee_id"),
    ({"opportunity_id": 999999}, "opportunity_id"),
    ({"opportunity_id": 2**31}, "opportunity_id"),
])
def test_bad_input_is_a_422_naming_the_field(client, world, body, field):
    deal = new_deal(client, world)
    r = add_task(Api(client, "csr@x.test"), deal, **body)
    assert r.status_code == 422, r.json
    assert r.mimetype == "application/problem+json"
    assert field in r.json["errors"]


def test_bulk_done_snooze_and_reassign(client, clock, world):
    deal = new_deal(client, world)
    rep = Api(client, "rep@x.test")
    first, second = add_task(rep, deal, title="One").json, add_task(rep, deal, title="Two").json
    Api(client, "manager@x.test").finish_required_tasks(deal["id"])
    assert rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"}).status_code == 200
    [with_form] = [t for t in rep.get(f"/tasks?opportunity={deal['id']}").json["items"] if t["form"]]

    r = rep.post("/tasks/bulk", {"ids": [first["id"], with_form["id"], "no-such-task"], "action": "complete"})
    assert r.status_code == 200, r.json
    assert r.json["done"] == [first["id"]]
    assert set(r.json["failed"]) == {with_form["id"], "no-such-task"}
    assert "form" in r.json["failed"][with_form["id"]]["detail"]
    assert r.json["failed"]["no-such-task"]["status"] == 404
    # each refusal a problem+json body, as API.md's problems carry; in the caller's language, as a single one is
    assert r.json["failed"]["no-such-task"]["type"] == "about:blank"
    assert r.json["failed"]["no-such-task"]["title"] == "Not found"
    in_norwegian = rep.post("/tasks/bulk", {"ids": ["no-such-task"], "action": "complete"},
                            headers={"Accept-Language": "nb-NO"}).json["failed"]["no-such-task"]
    assert (in_norwegian["type"], in_norwegian["title"]) == ("about:blank", "Ikke funnet")

    later = (clock.now() + timedelta(days=3)).isoformat()
    snoozed = rep.post("/tasks/bulk", {"ids": [second["id"]], "action": "snooze", "follow_up_at": later})
    assert snoozed.json == {"done": [second["id"]], "failed": {}}
    assert "Two" not in {t["title"] for t in rep.get("/tasks?assignee=me").json["items"]}

    assert rep.post("/tasks/bulk", {"ids": [second["id"]], "action": "assign",
                                    "user_id": world["colleague"].id}).json["failed"][second["id"]]["status"] == 403
    moved = Api(client, "csr@x.test").post("/tasks/bulk", {"ids": [second["id"]], "action": "assign",
                                                           "user_id": world["colleague"].id})
    assert moved.json == {"done": [second["id"]], "failed": {}}
    assert "Two" in {t["title"] for t in Api(client, "colleague@x.test")
                     .get("/tasks?assignee=me&include_hidden=true").json["items"]}


@pytest.mark.parametrize("body, field", [
    ({"action": "snooze"}, "follow_up_at"),
    ({"action": "assign"}, "user_id"),
    ({"action": "delete"}, "action"),
    ({"action": "snooze", "follow_up_at": "2301-01-01T00:00:00+00:00"}, "follow_up_at"),
])
def test_a_bulk_action_missing_what_it_needs_is_a_422(client, world, body, field):
    deal = new_deal(client, world)
    task = add_task(Api(client, "rep@x.test"), deal).json
    r = Api(client, "rep@x.test").post("/tasks/bulk", {"ids": [task["id"]], **body})
    assert r.status_code == 422, r.json
    assert field in r.json["errors"]


# -- the pages -------------------------------------------------------------------------------------------
def test_a_rep_adds_a_task_on_the_deal_page_and_works_it_on_the_task_list(client, world):
    deal = new_deal(client, world)
    login(client, "rep@x.test")
    r = client.post(f"/opportunities/{deal['id']}/tasks", data={
        "title": "Call about the budget", "due_at": "2026-03-03T10:30", "for": "me", "instructions": "Q3 figures"})
    assert r.status_code == 302 and r.location.endswith(f"/opportunities/{deal['id']}#tasks")
    assert "Call about the budget" in client.get(f"/opportunities/{deal['id']}").get_data(as_text=True)

    html = client.get("/tasks").get_data(as_text=True)
    upcoming = html[html.index('id="tasks-upcoming"'):html.index('id="pool"')]
    row = upcoming[upcoming.index("Call about the budget"):]
    row = row[:row.index("</tr>")]
    for shown in ("Q3 figures", deal["number"], "Northwind Traders", "Lead", "Standard sale", "Sales reps"):
        assert shown in row, shown
    [task] = [t for t in Api(client, "rep@x.test").get("/tasks?assignee=me").json["items"]
              if t["title"] == "Call about the budget"]
    assert task["due_at"] == "2026-03-03T10:30:00+00:00"  # the rep's zone is UTC

    client.post(f"/tasks/{task['id']}/complete", data={"next": "/tasks"})
    assert "Call about the budget" not in client.get("/tasks").get_data(as_text=True)


def test_the_due_date_is_read_in_the_users_zone_and_overdue_is_marked(client, clock, world):
    make_user("oslo@x.test", "manager", timezone="Europe/Oslo")
    deal = new_deal(client, world)
    login(client, "oslo@x.test")
    r = client.post("/tasks/new", data={"title": "Chase the signature", "opportunity_id": deal["id"],
                                         "due_at": "2026-03-02T09:30"})
    assert r.status_code == 302, r.get_data(as_text=True)
    [task] = [t for t in Api(client, "oslo@x.test").get("/tasks?assignee=me").json["items"]]
    assert task["due_at"] == "2026-03-02T08:30:00+00:00"
    html = client.get("/tasks").get_data(as_text=True)
    overdue = html[html.index('id="tasks-overdue"'):html.index('id="tasks-today"')]
    assert "Chase the signature" in overdue and "2026-03-02 09:30" in overdue and "overdue" in overdue


@pytest.mark.parametrize("due", ["2301-01-01T09:00", "1899-12-31T23:00", "soon"])
def test_a_due_date_out_of_range_keeps_the_form_and_says_so_beside_the_field(client, world, due):
    deal = new_deal(client, world)
    login(client, "rep@x.test")
    r = client.post(f"/opportunities/{deal['id']}/tasks", data={"title": "Send the brochure", "due_at": due,
                                                                "instructions": "the blue one"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'value="Send the brochure"' in html and f'value="{due}"' in html and 'value="the blue one"' in html
    assert 'id="error-due_at"' in html and "due_at" not in html.split('id="error-due_at"')[1].split("</span>")[0]
    assert "Send the brochure" not in {t["title"] for t in Api(client, "rep@x.test").get("/tasks").json["items"]}

    r = client.post("/tasks/new", data={"title": "Send the brochure", "due_at": due})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'value="Send the brochure"' in html and 'id="error-due_at"' in html and 'id="error-opportunity_id"' in html


def test_bulk_done_on_the_task_list_says_which_were_refused(client, world):
    deal = new_deal(client, world)
    rep = Api(client, "rep@x.test")
    one, two = add_task(rep, deal, title="One").json, add_task(rep, deal, title="Two").json
    login(client, "rep@x.test")
    r = client.post("/tasks/bulk", data={"ids": [one["id"], two["id"]], "action": "complete"},
                    follow_redirects=True)
    assert "Done: 2 done." in r.get_data(as_text=True)
    assert not {"One", "Two"} & {t["title"] for t in rep.get("/tasks?assignee=me").json["items"]}

    r = client.post("/tasks/bulk", data={"ids": [one["id"]], "action": "snooze"})
    assert r.status_code == 422 and 'id="error-follow_up_at"' in r.get_data(as_text=True)
    r = client.post("/tasks/bulk", data={"ids": [one["id"]], "action": "snooze", "follow_up_at": "2026-03-09T08:00"},
                    follow_redirects=True)
    assert "refused: One (" in r.get_data(as_text=True)  # already done


def test_book_an_appointment_from_the_task_that_asks_for_one(client, world):
    deal = new_deal(client, world)
    # the deal came with its rep, so the office's assign task is done and the rep's tasks are there at once
    [book] = [t for t in Api(client, "rep@x.test").get("/tasks?assignee=me").json["items"]
              if t["action"] == "schedule_appointment"]
    login(client, "rep@x.test")
    assert "Book and complete" in client.get("/tasks").get_data(as_text=True)
    r = client.post(f"/tasks/{book['id']}/complete", data={
        "appointment_start": "2026-03-04T15:00", "appointment_end": "2026-03-04T16:00", "next": "/tasks"})
    assert r.status_code == 302
    visits = Api(client, "rep@x.test").get("/appointments?from=2026-03-04T00:00:00Z&to=2026-03-05T00:00:00Z").json
    assert [(v["title"], v["start"], v["opportunity_id"]) for v in visits] == [
        (book["title"], "2026-03-04T15:00:00+00:00", deal["id"])]


def test_a_refused_booking_from_the_task_list_keeps_the_times_typed(client, world):
    new_deal(client, world)
    rep = Api(client, "rep@x.test")
    [book] = [t for t in rep.get("/tasks?assignee=me").json["items"] if t["action"] == "schedule_appointment"]
    login(client, "rep@x.test")
    r = client.post(f"/tasks/{book['id']}/complete", data={"appointment_start": "2026-03-04T15:00", "next": "/tasks"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    # the start stays in its input, the missing end is named beside its own, and the booking stays open
    assert 'name="appointment_start" value="2026-03-04T15:00"' in html and 'id="error-appointment_end"' in html
    assert '<details class="book" open>' in html
    assert book["id"] in {t["id"] for t in rep.get("/tasks?assignee=me").json["items"]}  # not completed

    r = client.post(f"/tasks/{book['id']}/complete", data={
        "appointment_start": "2026-03-04T15:00", "appointment_end": "2026-03-04T14:00", "next": "/tasks"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'value="2026-03-04T14:00"' in html and 'class="field-error"' in html
    assert not rep.get("/appointments?from=2026-03-04T00:00:00Z&to=2026-03-05T00:00:00Z").json
