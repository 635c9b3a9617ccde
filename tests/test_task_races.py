"""Racing completions and claims of one task have one winner; a client's retry with its Idempotency-Key is the
same completion, not a second one.

Every racer is a real HTTP request through the Flask app on its own thread (its own test client, app context,
session and connection). On PostgreSQL the first racer to pass the checks is held there, in the middle of its
transaction, until every other racer has either passed them too (the lost race the locks prevent) or is seen
waiting on a row lock in pg_stat_activity: so the requests truly overlap, and only the locks can keep them apart.
SQLite runs each transaction as BEGIN IMMEDIATE: there the racers queue at their first query, and each finds
what the one before it left.
"""

from __future__ import annotations

import re
import threading
from collections import Counter

import pytest
from sqlalchemy import select, text

from som_flow.extensions import db
from som_flow.models import Appointment, Event, Opportunity, Reminder, Task, User, WorkflowState
from som_flow.services import opportunities, process_run
from som_flow.services import tasks as task_service
from tests.helpers import login, make_customer, make_user, token_headers

BOOKING = {"appointment": {"start": "2026-03-04T15:00:00+00:00", "end": "2026-03-04T16:00:00+00:00",
                           "location": "On site"}}


@pytest.fixture
def deal(app):
    """A standard-sale deal in Lead whose rep-lane tasks are handed to the rep one by one while the deal itself
    has no rep yet (so the office's "Assign a sales rep", done by an assignment, stays open in its pool); returns
    ids of the deal, its people and its Lead tasks."""
    manager = make_user("manager@x.test", "manager")
    rep = make_user("rep@x.test", "rep")
    office = [make_user(f"office{i}@x.test", "csr") for i in range(3)]
    opp = opportunities.create_opportunity(manager, {"title": "Race", "customer_id": make_customer("Race Ltd.").id,
                                                     "kind": "standard-sale"})
    for task in opportunities.open_tasks(opp):
        if task.role == "rep":
            task_service.assign_task(manager, task.id, rep.id)
    ids = {"opp": opp.id, "version": opp.version, "manager": manager.id, "rep": rep.id,
           "office": [u.id for u in office], **{t.title: t.id for t in opportunities.open_tasks(opp)}}
    db.session.commit()  # a read after a service opens a transaction; on SQLite it holds the write lock
    db.session.remove()
    return ids


@pytest.fixture
def hold_winner(db_url, monkeypatch):
    """On PostgreSQL, make `module.name` (reached only past the service's checks) hold each caller until all
    `racers` have reached it or the others are queued on a row lock. Returns whether it holds (False on SQLite)."""

    def install(module, name: str, racers: int) -> bool:
        if not db_url.startswith("postgresql"):
            return False
        arrived = threading.Condition()
        count = [0]
        real = getattr(module, name)

        def lock_waiters() -> int:
            with db.engine.connect() as conn:
                return conn.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"))

        def held(*args, **kwargs):
            with arrived:
                count[0] += 1
                arrived.notify_all()
                # a condition polled, not a duration: nothing here measures how long anything takes
                for _ in range(1500):
                    if count[0] + lock_waiters() >= racers:
                        break
                    arrived.wait(timeout=0.02)
                else:
                    raise AssertionError(f"the racers never overlapped ({count[0]} of {racers} got here)")
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, held)
        return True

    return install


def _race(app, requests: list[tuple[str, str, dict, dict]]) -> list:
    """Send each (method, path, json, headers) from its own thread at once; return each thread's response."""
    start = threading.Barrier(len(requests), timeout=30)
    results: list = [None] * len(requests)

    def send(slot: int) -> None:
        method, path, body, headers = requests[slot]
        client = app.test_client()
        try:
            start.wait()
            results[slot] = client.open(path, method=method, json=body, headers=headers)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each racer got
            results[slot] = exc

    threads = [threading.Thread(target=send, args=(slot,)) for slot in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return results


def _statuses(responses) -> list:
    """Each racer's status code, sorted; a racer that raised shows as its exception."""
    return sorted((r.status_code if hasattr(r, "status_code") else repr(r) for r in responses), key=str)


def _events(opp_id: int, type_: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.opportunity_id == opp_id, Event.type == type_)))


def _assert_rows_match_the_stored_workflow(opp_id: int) -> None:
    """The saved workflow, the task rows and the events tell one story: each completed task is completed once."""
    db.session.expire_all()
    opp = db.session.get(Opportunity, opp_id)
    engine = process_run.engine()
    snap = engine.snapshot(engine.restore(process_run.definition_for(opp.kind_version),
                                          db.session.get(WorkflowState, opp_id).state))
    rows = list(db.session.scalars(select(Task).where(Task.opportunity_id == opp_id)))
    assert {t.id for t in rows if t.status == "open"} == {t.id for t in snap.ready_tasks if not t.gate}
    done = Counter(e.data["task_id"] for e in _events(opp_id, "task_completed"))
    assert done == Counter(t.id for t in rows if t.status == "done"), "one event per completed task, and only those"


def _booked(opp_id: int) -> tuple[list[Appointment], list[Reminder]]:
    appointments = list(db.session.scalars(select(Appointment).where(Appointment.opportunity_id == opp_id)))
    reminders = list(db.session.scalars(select(Reminder).where(Reminder.opportunity_id == opp_id,
                                                               Reminder.kind == "appointment")))
    return appointments, reminders


def test_eight_racing_completions_of_a_booking_task_book_one_appointment(app, deal, hold_winner):
    task_id, headers = deal["Book an appointment"], token_headers("rep@x.test")
    hold_winner(opportunities, "load_run", 8)

    responses = _race(app, [("POST", f"/api/v1/tasks/{task_id}/complete", {"data": BOOKING}, headers)] * 8)

    assert _statuses(responses) == [200] + [409] * 7, [getattr(r, "json", r) for r in responses]
    for loser in (r for r in responses if r.status_code == 409):
        assert loser.mimetype == "application/problem+json"
        assert loser.json["detail"] == "Task 'Book an appointment' is already done: Rep completed it."
    db.session.expire_all()
    task = db.session.get(Task, task_id)
    assert (task.status, task.completed_by_id) == ("done", deal["rep"])
    [appointment], reminders = _booked(deal["opp"])
    assert appointment.task_id == task_id and task.data["appointment_id"] == appointment.id
    assert reminders and {r.source_id for r in reminders} == {str(appointment.id)}
    assert len({r.idempotency_key for r in reminders}) == len(reminders)
    assert len(_events(deal["opp"], "task_completed")) == 1
    # the stage stayed, yet the stored workflow changed: the version moved, once
    assert db.session.get(Opportunity, deal["opp"]).version == deal["version"] + 1
    _assert_rows_match_the_stored_workflow(deal["opp"])


def test_two_tasks_of_one_deal_completed_at_once_are_both_kept(app, deal, hold_winner):
    """The office assigns the rep while the rep books the visit: neither completion is lost from the deal's
    workflow (each would otherwise save a workflow state without the other's)."""
    hold_winner(opportunities, "load_run", 2)

    responses = _race(app, [
        ("POST", f"/api/v1/tasks/{deal['Assign a sales rep']}/complete", {}, token_headers("office0@x.test")),
        ("POST", f"/api/v1/tasks/{deal['Book an appointment']}/complete", {"data": BOOKING},
         token_headers("rep@x.test")),
    ])

    assert _statuses(responses) == [200, 200], [getattr(r, "json", r) for r in responses]
    _assert_rows_match_the_stored_workflow(deal["opp"])
    open_titles = {t.title for t in db.session.scalars(select(Task).where(
        Task.opportunity_id == deal["opp"], Task.status == "open"))}
    assert open_titles == {"Contact the prospect"}  # what follows the office's task, nothing else
    assert db.session.get(Opportunity, deal["opp"]).version == deal["version"] + 2


def test_a_client_retrying_with_its_idempotency_key_gets_the_one_completion(app, deal, hold_winner):
    task_id, rep = deal["Book an appointment"], token_headers("rep@x.test")
    path = f"/api/v1/tasks/{task_id}/complete"
    hold_winner(opportunities, "load_run", 8)

    # a client that retries on a timeout: eight sends of one completion, all with its key
    responses = _race(app, [("POST", path, {"data": BOOKING}, {**rep, "Idempotency-Key": "booking-1"})] * 8)

    assert _statuses(responses) == [200] * 8, [getattr(r, "json", r) for r in responses]
    assert all(r.json == responses[0].json and r.json["status"] == "done" for r in responses)
    appointments, _ = _booked(deal["opp"])
    assert len(appointments) == 1
    assert len(_events(deal["opp"], "task_completed")) == 1
    version = db.session.get(Opportunity, deal["opp"]).version

    later = app.test_client().post(path, json={"data": BOOKING}, headers={**rep, "Idempotency-Key": "booking-1"})
    assert later.status_code == 200 and later.json == responses[0].json
    other_key = app.test_client().post(path, json={"data": BOOKING}, headers={**rep, "Idempotency-Key": "booking-2"})
    assert other_key.status_code == 409, other_key.json
    manager = token_headers("manager@x.test")
    other_user = app.test_client().post(path, json={"data": BOOKING},
                                        headers={**manager, "Idempotency-Key": "booking-1"})
    assert other_user.status_code == 409, other_user.json
    assert "Rep completed it" in other_user.json["detail"]

    db.session.expire_all()
    assert len(_booked(deal["opp"])[0]) == 1 and len(_events(deal["opp"], "task_completed")) == 1
    assert db.session.get(Opportunity, deal["opp"]).version == version, "a replay writes nothing"
    _assert_rows_match_the_stored_workflow(deal["opp"])


def test_three_office_users_claiming_one_pool_task_have_one_winner(app, deal, hold_winner):
    task_id = deal["Assign a sales rep"]
    hold_winner(task_service, "_log", 3)

    responses = _race(app, [("POST", f"/api/v1/tasks/{task_id}/claim", {}, token_headers(f"office{i}@x.test"))
                            for i in range(3)])

    assert _statuses(responses) == [200, 409, 409], [getattr(r, "json", r) for r in responses]
    [winner] = [slot for slot, r in enumerate(responses) if r.status_code == 200]
    winner_id = deal["office"][winner]
    assert responses[winner].json["assignee"] == winner_id
    winner_name = db.session.get(User, winner_id).name
    for loser in (r for r in responses if r.status_code == 409):
        assert loser.json["detail"] == f"Task 'Assign a sales rep' is already assigned to {winner_name}."
    db.session.expire_all()
    assert db.session.get(Task, task_id).assignee_id == winner_id
    assert [e.data["user"] for e in _events(deal["opp"], "task_claimed")] == [winner_id]


def test_a_double_submitted_task_form_completes_the_task_once(app, deal, hold_winner):
    """The rep double-clicks Done on My tasks: both posts carry the rendered form's key, both land on the list
    saying the task is done, and one completion is stored. A manager's stale page says it is already done."""
    rep, manager = db.session.get(User, deal["rep"]), db.session.get(User, deal["manager"])
    page, clicks, other = app.test_client(), [app.test_client(), app.test_client()], app.test_client()
    for client in (page, *clicks):
        login(client, rep)
    login(other, manager)
    listing = page.get("/tasks")
    [key] = set(re.findall(r'name="idempotency_key" value="([^"]+)"', listing.text))
    # this thread's requests share the test's app context and session: end its read, which on SQLite holds
    # the write lock
    db.session.commit()
    task_id = deal["Book an appointment"]
    hold_winner(opportunities, "load_run", 2)

    start = threading.Barrier(2, timeout=30)
    answers: list = [None, None]

    def click(slot: int) -> None:
        start.wait()
        answers[slot] = clicks[slot].post(f"/tasks/{task_id}/complete", data={"idempotency_key": key},
                                          headers={"Referer": "/tasks"}, follow_redirects=True)

    threads = [threading.Thread(target=click, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert [a.status_code for a in answers] == [200, 200]
    assert all("Task done." in a.text for a in answers)
    assert len(_events(deal["opp"], "task_completed")) == 1

    db.session.commit()
    stale = other.post(f"/tasks/{task_id}/complete", data={"idempotency_key": "another-render"},
                         headers={"Referer": "/tasks"}, follow_redirects=True)
    assert stale.status_code == 200
    assert "already done: Rep completed it." in stale.text
    assert len(_events(deal["opp"], "task_completed")) == 1
    _assert_rows_match_the_stored_workflow(deal["opp"])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_idempotency_key_over_64_characters_is_refused_naming_the_header(app, deal):
    task_id = deal["Book an appointment"]
    r = app.test_client().post(f"/api/v1/tasks/{task_id}/complete", json={},
                               headers={**token_headers("rep@x.test"), "Idempotency-Key": "k" * 65})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert "Idempotency-Key" in r.json["errors"]
    assert db.session.get(Task, task_id).status == "open"
    spec = app.test_client().get("/api/openapi.json").json
    parameters = spec["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]["parameters"]
    [header] = [p for p in parameters if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and header["schema"]["maxLength"] == 64


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_done_task_cannot_be_reassigned_or_put_back_in_the_pool(app, deal):
    task_id = deal["Book an appointment"]
    rep, manager = token_headers("rep@x.test"), token_headers("manager@x.test")
    client = app.test_client()
    assert client.post(f"/api/v1/tasks/{task_id}/complete", json={}, headers=rep).status_code == 200

    assigned = client.post(f"/api/v1/tasks/{task_id}/assign", json={"user_id": deal["manager"]}, headers=manager)
    unassigned = client.post(f"/api/v1/tasks/{task_id}/unassign", headers=manager)

    assert (assigned.status_code, unassigned.status_code) == (409, 409), (assigned.json, unassigned.json)
    db.session.expire_all()
    assert db.session.get(Task, task_id).assignee_id == deal["rep"]
