"""The API's task list is written out from plain rows (services.tasks.task_rows, schemas.tasks.task_items) instead of
dumping ORM objects through TaskSchema, for speed (issue #17 item 3): the JSON must stay exactly what TaskSchema
gives for the same tasks, in the same order, on both backends — and the list costs three statements."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event

from som_flow.extensions import db
from som_flow.models import Task
from som_flow.schemas import TaskSchema
from som_flow.services import tasks
from tests.helpers import Api, make_customer, make_user


@pytest.fixture
def world(app, client, clock):
    manager, rep = make_user("manager@x.test", "manager"), make_user("rep@x.test", "rep")
    office = Api(client, "manager@x.test")
    top = make_customer("Northwind Traders")
    job = make_customer("Kitchen", parent_id=top.id)
    room = make_customer("Pantry", parent_id=job.id)
    shelf = make_customer("Shelf", parent_id=room.id)  # deeper than the query's joins reach
    deals = []
    for customer in (top, job, room, shelf):
        r = office.post("/opportunities", {"title": f"Deal of {customer.name}", "customer_id": customer.id,
                                           "kind": "standard-sale", "amount": "100.00", "sales_rep": rep.id})
        assert r.status_code == 201, r.json
        deals.append(r.json)
    # tasks people add: for the rep (dated or not), for a pool, snoozed into the past (shown) and the future (hidden)
    me = Api(client, "rep@x.test")
    added = [me.post("/tasks", {"title": f"Call {i}", "opportunity_id": deal["id"], "instructions": "Ask",
                                "due_at": (clock.now() + timedelta(days=i)).isoformat() if i % 2 else None}).json
             for i, deal in enumerate(deals)]
    office.post("/tasks", {"title": "Pool work", "opportunity_id": deals[1]["id"], "role": "rep"})
    assert me.client.patch(f"/api/v1/tasks/{added[1]['id']}", json={"follow_up_at": clock.now().isoformat()},
                           headers=me.headers).status_code == 200
    assert me.client.patch(f"/api/v1/tasks/{added[2]['id']}",
                           json={"follow_up_at": (clock.now() + timedelta(days=3)).isoformat()},
                           headers=me.headers).status_code == 200
    done = me.post(f"/tasks/{added[3]['id']}/complete", {"data": {}})
    assert done.status_code == 200, done.json
    # a row from before typed forms: its form fields are made from the field names
    old = db.session.get(Task, added[0]["id"])
    old.form, old.form_types = ["budget_ok"], None
    # two tasks of one typed form (the list reads a form shared by many tasks once), one of an empty typed form
    typed = [{"name": "outcome", "type": "choice", "label": "Utfall – «ja»", "choices": ["won", "lost"]},
             {"name": "visit_on", "type": "date", "label": "Visit on"}]
    for task in (db.session.get(Task, added[1]["id"]), db.session.get(Task, added[2]["id"])):
        task.form, task.form_types = ["outcome", "visit_on"], [dict(f) for f in typed]
    pool = db.session.scalars(db.select(Task).where(Task.title == "Pool work")).one()
    pool.form, pool.form_types = ["note_text"], []
    db.session.commit()
    return {"manager": manager, "rep": rep, "me": me, "office": office, "deals": deals}


def schema_dump(user, **query) -> list[dict]:
    """What the list gave before: TaskSchema's dump of the ORM tasks, through JSON as the response is."""
    items, _ = tasks.search_tasks(user, **query)
    return json.loads(json.dumps(TaskSchema(many=True).dump(items)))


@pytest.mark.parametrize("path, who, query", [
    ("/tasks?assignee=me", "rep", {"assignee": "me"}),
    ("/tasks?assignee={rep}", "manager", {"assignee": "{rep}"}),
    ("/tasks?opportunity={deal}&include_hidden=true", "rep", {"opportunity": "{deal}", "include_hidden": True}),
    ("/tasks?due_before={soon}", "manager", {"due_before": "{soon}"}),
    ("/tasks?assignee=none", "rep", {"assignee": "none"}),
    ("/tasks", "rep", {}),
    ("/tasks?include_hidden=true", "manager", {"include_hidden": True}),
    ("/tasks?status=done", "manager", {"status": "done"}),
    ("/tasks?per_page=3&page=2", "manager", {"per_page": 3, "page": 2}),
])
def test_the_task_list_gives_what_task_schema_gives(world, clock, path, who, query):
    api = world["me"] if who == "rep" else world["office"]
    soon = clock.now() + timedelta(days=2)
    values = {"rep": str(world["rep"].id), "deal": world["deals"][1]["id"], "soon": soon}
    path = path.format(rep=values["rep"], deal=values["deal"], soon=soon.isoformat().replace("+", "%2B"))
    query = {key: (values[value[1:-1]] if isinstance(value, str) and value.startswith("{") else value)
             for key, value in query.items()}
    response = api.get(path)
    assert response.status_code == 200, response.json
    expected = schema_dump(world[who], **query)
    assert expected, "each query finds tasks"
    assert response.json["items"] == expected
    assert response.json["total"] == tasks.search_tasks(world[who], **query)[1]


def test_tasks_of_one_form_each_show_it_whole(world):
    """A form shared by several tasks of the page, typed (with its choices, in its own words) or not."""
    items = world["office"].get("/tasks?per_page=200&include_hidden=true").json["items"]
    typed = [t for t in items if t["form"] == ["outcome", "visit_on"]]
    assert len(typed) == 2
    for task in typed:
        assert task["form_fields"] == [
            {"name": "outcome", "type": "choice", "label": "Utfall – «ja»", "choices": ["won", "lost"]},
            {"name": "visit_on", "type": "date", "label": "Visit on"}]
    pool = next(t for t in items if t["title"] == "Pool work")
    assert pool["form_fields"] == [{"name": "note_text", "type": "text", "label": "Note text"}]


def test_a_jobs_customer_reads_as_its_path_at_every_depth(world):
    customers = {t["opportunity"]["title"]: t["customer"]
                 for t in world["office"].get("/tasks?per_page=200&include_hidden=true").json["items"]}
    assert customers == {"Deal of Northwind Traders": "Northwind Traders",
                         "Deal of Kitchen": "Northwind Traders:Kitchen",
                         "Deal of Pantry": "Northwind Traders:Kitchen:Pantry",
                         "Deal of Shelf": "Northwind Traders:Kitchen:Pantry:Shelf"}


def test_the_task_list_sends_two_statements(world):
    """The caller with its token, and the page with its count and each task's deal, kind and customer path (a job
    three levels down or less: a deeper one's path is read after, as the model reads it). On PostgreSQL the page is
    planned once a connection (services/plans.py): a SET LOCAL before it; the page is the request's last statement,
    so the setting is not put back (the transaction's end ends it): no round trip after the page."""
    me, path = world["me"], f"/tasks?assignee=me&opportunity={world['deals'][2]['id']}"
    assert me.get(path).status_code == 200
    seen = []

    def count(conn, cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        page = me.get(path).json
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert page["items"][0]["customer"] == "Northwind Traders:Kitchen:Pantry" and page["total"] == len(page["items"])
    settings = [s for s in seen if s.startswith("SET LOCAL plan_cache_mode")]
    assert len(seen) - len(settings) == 2, seen
    if db.engine.dialect.name == "postgresql":
        assert seen[1] == "SET LOCAL plan_cache_mode = force_generic_plan" and "FROM task JOIN" in seen[2]
        assert len(seen) == 3, seen
    else:
        assert settings == []


def test_a_page_past_the_last_still_says_how_many_tasks_there_are(world):
    # the count rides on the page's rows; a page with no row reads it on its own
    me = world["me"]
    total = me.get("/tasks?assignee=me").json["total"]
    assert total >= 1
    beyond = me.get("/tasks?assignee=me&page=50&per_page=10").json
    assert beyond["items"] == [] and beyond["total"] == total
