"""Issue #4: a task can be put away until its follow-up date (like Camunda's followUpDate).

Hidden from GET /tasks and the /tasks page until the clock passes `follow_up_at`, unless `include_hidden`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def rep_tasks(app, client) -> dict[str, dict]:
    """A deal made with its rep, so the office task is done by that: the rep has 'Contact the prospect' and
    'Book an appointment'."""
    make_user("csr@x.test", "csr")
    make_user("manager@x.test", "manager")
    rep = make_user("rep@x.test", "rep")
    office = Api(client, "csr@x.test")
    deal = office.post("/opportunities", {"title": "New furnace", "customer_id": make_customer("Hansen").id,
                                          "kind": "standard-sale", "sales_rep": rep.id})
    assert deal.status_code == 201, deal.json
    mine = {t["title"]: t for t in Api(client, "rep@x.test").get("/tasks?assignee=me").json["items"]}
    assert {"Contact the prospect", "Book an appointment"} <= set(mine)
    return mine


def titles(client, query: str = "") -> set[str]:
    r = Api(client, "rep@x.test").get(f"/tasks{query}")
    assert r.status_code == 200, r.json
    assert r.json["total"] == len(r.json["items"])
    return {t["title"] for t in r.json["items"]}


def page_shows(client, title: str) -> bool:
    r = client.get("/tasks")
    assert r.status_code == 200
    return title in r.get_data(as_text=True)


def test_a_task_with_a_follow_up_date_is_hidden_until_then(client, clock, rep_tasks):
    contact = rep_tasks["Contact the prospect"]
    later = clock.now() + timedelta(days=2)
    r = Api(client, "rep@x.test").patch(f"/tasks/{contact['id']}", {"follow_up_at": later.isoformat()})
    assert r.status_code == 200, r.json
    assert datetime.fromisoformat(r.json["follow_up_at"]) == later

    assert "Contact the prospect" not in titles(client, "?assignee=me")
    assert "Contact the prospect" not in titles(client)
    assert "Book an appointment" in titles(client, "?assignee=me")
    assert "Contact the prospect" in titles(client, "?assignee=me&include_hidden=true")
    login(client, "rep@x.test")
    assert page_shows(client, "Book an appointment")
    assert not page_shows(client, "Contact the prospect")

    clock.advance(days=2, seconds=-1)
    assert "Contact the prospect" not in titles(client, "?assignee=me")
    clock.advance(seconds=1)  # the follow-up time itself: back on the list
    assert "Contact the prospect" in titles(client, "?assignee=me")
    assert page_shows(client, "Contact the prospect")


def test_clearing_the_follow_up_date_shows_the_task_at_once(client, clock, rep_tasks):
    contact = rep_tasks["Contact the prospect"]
    api = Api(client, "rep@x.test")
    api.patch(f"/tasks/{contact['id']}", {"follow_up_at": "2026-04-01T08:00:00+02:00"})
    assert "Contact the prospect" not in titles(client, "?assignee=me")
    r = api.patch(f"/tasks/{contact['id']}", {"follow_up_at": None})
    assert r.status_code == 200 and r.json["follow_up_at"] is None
    assert "Contact the prospect" in titles(client, "?assignee=me")


def test_only_the_assignee_or_a_manager_sets_it(client, clock, rep_tasks):
    contact = rep_tasks["Contact the prospect"]
    body = {"follow_up_at": "2026-04-01T06:00:00+00:00"}
    refused = Api(client, "csr@x.test").patch(f"/tasks/{contact['id']}", body)
    assert refused.status_code == 403, refused.json
    assert "Contact the prospect" in titles(client, "?assignee=me")

    allowed = Api(client, "manager@x.test").patch(f"/tasks/{contact['id']}", body)
    assert allowed.status_code == 200, allowed.json
    assert datetime.fromisoformat(allowed.json["follow_up_at"]) == datetime(2026, 4, 1, 6, tzinfo=UTC)
    assert "Contact the prospect" not in titles(client, "?assignee=me")
    # the change is in the opportunity's history
    history = Api(client, "rep@x.test").history(contact['opportunity_id'])
    [event] = [e for e in history if e["type"] == "task_follow_up"]
    assert event["actor_id"] == Api(client, "manager@x.test").get("/users/me").json["id"]
    assert event["data"]["task"] == "Contact the prospect"
    assert event["data"]["new"] == "2026-04-01T06:00:00+00:00" and event["data"]["old"] is None


@pytest.mark.parametrize("body, status", [
    ({"follow_up_at": "2026-04-01T06:00:00"}, 422),  # no offset
    ({"follow_up_at": "next week"}, 422),
    ({}, 422),
])
def test_a_bad_follow_up_date_is_refused(client, rep_tasks, body, status):
    r = Api(client, "rep@x.test").patch(f"/tasks/{rep_tasks['Contact the prospect']['id']}", body)
    assert r.status_code == status, r.json
    assert "follow_up_at" in str(r.json)


def test_a_done_task_takes_no_follow_up_date_and_an_unknown_one_is_404(client, rep_tasks):
    api = Api(client, "rep@x.test")
    contact = rep_tasks["Contact the prospect"]
    assert api.post(f"/tasks/{contact['id']}/complete", {"data": {}}).status_code == 200
    assert api.patch(f"/tasks/{contact['id']}", {"follow_up_at": None}).status_code == 409
    assert api.patch("/tasks/no-such-task", {"follow_up_at": None}).status_code == 404


def test_the_task_page_groups_overdue_today_and_upcoming_and_can_show_the_hidden(client, clock, rep_tasks):
    from som_flow.extensions import db
    from som_flow.models import Task

    contact, book = rep_tasks["Contact the prospect"], rep_tasks["Book an appointment"]
    db.session.get(Task, contact["id"]).due_at = clock.now() - timedelta(hours=1)
    db.session.get(Task, book["id"]).due_at = clock.now() + timedelta(hours=2)
    db.session.commit()
    login(client, "rep@x.test")
    html = client.get("/tasks").get_data(as_text=True)
    overdue = html[html.index('id="tasks-overdue"'):html.index('id="tasks-today"')]
    today = html[html.index('id="tasks-today"'):html.index('id="tasks-upcoming"')]
    assert "Contact the prospect" in overdue and "Book an appointment" in today

    later = (clock.now() + timedelta(days=3)).isoformat()
    Api(client, "rep@x.test").patch(f"/tasks/{book['id']}", {"follow_up_at": later})
    assert "Book an appointment" not in client.get("/tasks").get_data(as_text=True)
    assert "Book an appointment" in client.get("/tasks?include_hidden=1").get_data(as_text=True)
