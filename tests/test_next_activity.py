"""Issue #12 item 2: a deal's next activity (its earliest open task or appointment to come) in the deal's JSON and
the list, and `next_activity=none` finding the deals with nothing planned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from som_flow.extensions import db
from som_flow.models import Task
from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def world(app):
    make_user("csr@x.test", "csr")
    return {"rep": make_user("rep@x.test", "rep"), "customer": make_customer("Northwind Traders")}


def new_deal(client, world, title: str) -> dict:
    r = Api(client, "csr@x.test").post("/opportunities", {
        "title": title, "customer_id": world["customer"].id, "kind": "standard-sale", "sales_rep": world["rep"].id})
    assert r.status_code == 201, r.json
    return r.json


def close_process_tasks(deal: dict) -> None:
    """Stand in for a deal whose generated work is all done (a stage waiting only on its gate)."""
    for task in db.session.scalars(db.select(Task).where(Task.opportunity_id == deal["id"], Task.status == "open")):
        task.status = "done"
    db.session.commit()


def test_the_earliest_of_tasks_and_appointments_is_the_next_activity(client, clock, world):
    deal = new_deal(client, world, "Roof")
    close_process_tasks(deal)
    rep = Api(client, "rep@x.test")
    assert rep.get(f"/opportunities/{deal['id']}").json["next_activity"] is None

    in_three_days = clock.now() + timedelta(days=3)
    rep.post("/tasks", {"title": "Send the offer", "opportunity_id": deal["id"], "due_at": in_three_days.isoformat()})
    rep.post("/tasks", {"title": "Someday", "opportunity_id": deal["id"]})  # no due date: not before a dated one
    assert rep.get(f"/opportunities/{deal['id']}").json["next_activity"] == {
        "type": "task", "title": "Send the offer", "at": in_three_days.isoformat()}

    tomorrow = clock.now() + timedelta(days=1)
    booked = rep.post("/appointments", {"title": "Site visit", "opportunity_id": deal["id"],
                                        "start": tomorrow.isoformat(),
                                        "end": (tomorrow + timedelta(hours=1)).isoformat()})
    assert booked.status_code == 201, booked.json
    assert rep.get(f"/opportunities/{deal['id']}").json["next_activity"] == {
        "type": "appointment", "title": "Site visit", "at": tomorrow.isoformat()}

    clock.advance(days=2)  # the visit is over: the task is next again
    assert rep.get(f"/opportunities/{deal['id']}").json["next_activity"]["title"] == "Send the offer"
    clock.advance(days=2)  # an overdue task is still the next thing to do
    assert rep.get(f"/opportunities/{deal['id']}").json["next_activity"]["title"] == "Send the offer"


def test_a_repeating_appointment_counts_by_its_next_occurrence(client, clock, world):
    deal = new_deal(client, world, "Maintenance")
    close_process_tasks(deal)
    rep = Api(client, "rep@x.test")
    start = clock.now() - timedelta(days=7)
    r = rep.post("/appointments", {"title": "Weekly check", "opportunity_id": deal["id"], "start": start.isoformat(),
                                   "end": (start + timedelta(hours=1)).isoformat(), "rrule": "FREQ=WEEKLY;COUNT=4"})
    assert r.status_code == 201, r.json
    upcoming = rep.get(f"/opportunities/{deal['id']}").json["next_activity"]
    assert upcoming["type"] == "appointment" and upcoming["at"] == (start + timedelta(days=7)).isoformat()


def test_the_list_reads_many_deals_repeating_appointments_at_once(app, client, clock, world):
    """A field-service company's weekly visits: each deal on the list shows its own series' next visit, and the
    list page reads them in one statement, however many deals have a series (not one statement a series)."""
    rep = Api(client, "rep@x.test")
    page = app.test_client()
    login(page, "rep@x.test")

    def visited_weekly(title: str, days_ago: int) -> tuple[int, dict]:
        deal = new_deal(client, world, title)
        close_process_tasks(deal)
        start = clock.now() - timedelta(days=days_ago, hours=1)
        r = rep.post("/appointments", {"title": f"Visit {title}", "opportunity_id": deal["id"],
                                       "start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat(),
                                       "rrule": "FREQ=WEEKLY;COUNT=10"})
        assert r.status_code == 201, r.json
        at = start + timedelta(days=7 * (days_ago // 7 + 1))  # the first weekly visit still to come
        return deal["id"], {"type": "appointment", "title": f"Visit {title}", "at": at.isoformat()}

    def list_statements() -> int:
        page.get("/opportunities")  # warm: the signed-in user and the kinds read once
        seen = []
        count = lambda _conn, _cursor, statement, *_args: seen.append(statement)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert page.get("/opportunities").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    expected = dict(visited_weekly(f"Roof {n}", n) for n in (1, 3))
    few = list_statements()
    expected |= dict(visited_weekly(f"Roof {n}", n) for n in (2, 4, 5, 9))
    assert list_statements() == few
    listed = {o["id"]: o["next_activity"] for o in rep.get("/opportunities").json["items"]}
    assert {deal_id: listed[deal_id] for deal_id in expected} == expected
    shown = page.get("/opportunities").get_data(as_text=True)
    for deal_id, activity in expected.items():
        row = shown[shown.index(f'data-id="{deal_id}"'):].split("</tr>")[0]
        assert f"Appointment: {activity['title']}" in row


def test_the_list_shows_each_deals_next_activity_and_finds_those_with_none(client, clock, world):
    busy, idle, visited = (new_deal(client, world, t) for t in ("Busy", "Idle", "Visited"))
    for deal in (busy, idle, visited):
        close_process_tasks(deal)
    rep = Api(client, "rep@x.test")
    rep.post("/tasks", {"title": "Call back", "opportunity_id": busy["id"]})
    soon = clock.now() + timedelta(hours=2)
    rep.post("/appointments", {"title": "Demo", "opportunity_id": visited["id"], "start": soon.isoformat(),
                               "end": (soon + timedelta(hours=1)).isoformat()})

    listed = {o["title"]: o["next_activity"] for o in rep.get("/opportunities").json["items"]}
    assert listed == {"Busy": {"type": "task", "title": "Call back", "at": None},
                      "Idle": None,
                      "Visited": {"type": "appointment", "title": "Demo", "at": soon.isoformat()}}

    none = rep.get("/opportunities?next_activity=none").json
    assert [o["title"] for o in none["items"]] == ["Idle"] and none["total"] == 1
    clock.advance(hours=4)  # the demo is over and nothing else is planned
    assert {o["title"] for o in rep.get("/opportunities?next_activity=none").json["items"]} == {"Idle", "Visited"}
    bad = rep.get("/opportunities?next_activity=some")
    assert bad.status_code == 422 and "next_activity" in bad.json["errors"]


def test_a_new_deal_has_the_process_task_as_its_next_activity(client, world):
    deal = new_deal(client, world, "Fresh lead")
    assert deal["next_activity"]["type"] == "task"
    assert deal["next_activity"]["title"] in {t["title"] for t in deal["open_tasks"]}


def test_the_pages_show_the_next_activity_and_the_list_finds_deals_with_none(client, clock, world):
    busy, idle = new_deal(client, world, "Busy roof"), new_deal(client, world, "Idle roof")
    for deal in (busy, idle):
        close_process_tasks(deal)
    rep = Api(client, "rep@x.test")
    due = clock.now() - timedelta(hours=1)
    rep.post("/tasks", {"title": "Call back", "opportunity_id": busy["id"], "due_at": due.isoformat()})
    login(client, "rep@x.test")

    summary = client.get(f"/opportunities/{busy['id']}").get_data(as_text=True)
    line = summary[summary.index('id="next-activity"'):].split("</dd>")[0]
    assert "Task: Call back" in line and "2026-03-02 08:00" in line and "overdue" in line
    assert "None planned" in client.get(f"/opportunities/{idle['id']}").get_data(as_text=True)

    listed = client.get("/opportunities").get_data(as_text=True)
    row = listed[listed.index(f'data-id="{busy["id"]}"'):].split("</tr>")[0]
    assert "Task: Call back" in row
    none = client.get("/opportunities?next_activity=none").get_data(as_text=True)
    assert "Idle roof" in none and "Busy roof" not in none

    board = client.get("/pipeline?kind=standard-sale").get_data(as_text=True)
    card = board[board.index(f'data-id="{busy["id"]}"'):].split("</article>")[0]
    assert "Task: Call back" in card


def test_among_undated_tasks_the_next_activity_is_the_task_lists_first_on_the_list_and_the_board(client, clock, world):
    # the next activity is the first open task in the task list's own order (due first, then made first), for one
    # deal (the deal's JSON) and for a page of deals (the list and the board read them all at once)
    deals = [new_deal(client, world, f"Deal {n}") for n in range(3)]
    rep = Api(client, "rep@x.test")
    for deal in deals:
        close_process_tasks(deal)
        rep.post("/tasks", {"title": "Call first", "opportunity_id": deal["id"]})
        clock.advance(minutes=1)
        rep.post("/tasks", {"title": "Call second", "opportunity_id": deal["id"]})
    later = clock.now() + timedelta(days=9)
    rep.post("/tasks", {"title": "Dated", "opportunity_id": deals[2]["id"], "due_at": later.isoformat()})
    first = rep.get(f"/tasks?opportunity={deals[0]['id']}").json["items"][0]["title"]
    assert first == "Call first"
    assert rep.get(f"/opportunities/{deals[0]['id']}").json["next_activity"]["title"] == first
    listed = {o["title"]: o["next_activity"]["title"] for o in rep.get("/opportunities?per_page=50").json["items"]}
    assert listed == {"Deal 0": "Call first", "Deal 1": "Call first", "Deal 2": "Dated"}
    login(client, "rep@x.test")
    board = client.get("/pipeline?kind=standard-sale").get_data(as_text=True)
    assert board.count("Task: Call first") == 2 and "Task: Dated" in board and "Call second" not in board
