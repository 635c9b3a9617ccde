"""Undoing a deal made by mistake: an admin or manager archives it (hidden, history kept) or deletes it (refused
once it has estimates or a job) — API and deal page, both backends."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from som_flow.extensions import db
from som_flow.models import (
    Appointment,
    ContactLogEntry,
    Event,
    Notification,
    Opportunity,
    Reminder,
    StageStay,
    Task,
    WorkflowState,
)
from som_flow.services import appointments, contact_log, reminders
from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def world(app, client):
    people = {role: make_user(f"{role}@x.test", role) for role in ("admin", "manager", "csr", "rep")}
    buyer = make_customer("Northwind Traders")
    manager = Api(client, "manager@x.test")

    def deal(title="Duplicate of Heat pumps", **extra):
        r = manager.post("/opportunities", {"title": title, "customer_id": buyer.id, "kind": "standard-sale",
                                            "sales_rep": people["rep"].id, "anticipated_close_date": "2026-03-20",
                                            **extra})
        assert r.status_code == 201, r.json
        return r.json["id"]

    return {**people, "buyer": buyer, "manager_api": manager, "deal": deal}


def _count(model, opp_id) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(model.opportunity_id == opp_id))


def test_an_archived_deal_leaves_the_lists_board_forecast_and_task_list_until_unarchived(client, world):
    manager, keep, mistake = world["manager_api"], world["deal"]("Heat pumps"), world["deal"]()
    r = manager.post(f"/opportunities/{mistake}/archive")
    assert r.status_code == 200 and r.json["archived_at"] is not None

    assert [o["id"] for o in manager.get("/opportunities").json["items"]] == [keep]
    assert [o["id"] for o in manager.get("/opportunities?archived=true").json["items"]] == [mistake]
    assert manager.get(f"/opportunities/{mistake}").status_code == 200  # still there, by its address
    assert {t["opportunity_id"] for t in manager.get("/tasks?per_page=200").json["items"]} == {keep}
    assert manager.get(f"/tasks?opportunity={mistake}").json["items"]  # its own tasks, when asked for
    assert "archived" in _history(manager, mistake)

    login(client, "manager@x.test")
    assert "Duplicate of Heat pumps" not in client.get("/opportunities").get_data(as_text=True)
    # the list links to the archived deals, and from there back
    listing = client.get("/opportunities").get_data(as_text=True)
    link = re.search(r'href="([^"]+)" id="archived-deals">Show archived deals<', listing).group(1)
    archived = client.get(html.unescape(link)).get_data(as_text=True)
    assert "<h1>Archived deals" in archived and "Duplicate of Heat pumps" in archived
    assert ">Heat pumps</a>" not in archived and 'id="unarchived-deals"' in archived
    assert f'/opportunities/{mistake}"' not in client.get("/pipeline").get_data(as_text=True)
    page = client.get(f"/opportunities/{mistake}").get_data(as_text=True)
    assert 'id="archived"' in page and "this deal is hidden from lists" in page and "Unarchive" in page

    assert manager.post(f"/opportunities/{mistake}/unarchive").json["archived_at"] is None
    assert {o["id"] for o in manager.get("/opportunities").json["items"]} == {keep, mistake}
    assert "unarchived" in _history(manager, mistake)


def test_the_forecast_leaves_an_archived_deal_out(world):
    manager = world["manager_api"]
    world["deal"]("Heat pumps", amount="2000")
    deal = world["deal"](amount="5000")
    assert manager.get("/forecast").json["total_amount"] == "7000.00"
    manager.post(f"/opportunities/{deal}/archive")
    after = manager.get("/forecast").json
    assert after["total_amount"] == "2000.00" and sum(g["count"] for g in after["groups"]) == 1


def test_archiving_stops_the_deals_reminders(world, app, clock):
    manager = world["manager_api"]
    deal = world["deal"]()
    assert _count(Reminder, deal) > 0
    manager.post(f"/opportunities/{deal}/archive")
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Reminder).where(
        Reminder.opportunity_id == deal, Reminder.state == "pending")) == 0


def _history(api, opp_id) -> list[str]:
    return [e["type"] for e in api.history(opp_id)]


def test_deleting_a_deal_made_by_mistake_removes_everything_that_hangs_on_it(world, app, clock):
    manager = world["manager_api"]
    keep, mistake = world["deal"]("Heat pumps"), world["deal"]()
    rep = world["rep"]
    visit = appointments.create_appointment(rep, {
        "title": "Site survey", "opportunity_id": mistake,
        "start": datetime(2026, 3, 2, 9, 30, tzinfo=UTC), "end": datetime(2026, 3, 2, 10, 30, tzinfo=UTC)}).id
    manager.post(f"/opportunities/{mistake}/parties", {"role": "contact", "name": "Kari"})
    manager.post(f"/opportunities/{mistake}/demand", {"description": "Pump", "quantity": "1", "amount": "10"})
    logged = contact_log.log_contact(world["csr"], world["buyer"].id, channel="call", summary="Asked about pumps")
    db.session.get(ContactLogEntry, logged.id).opportunity_id = mistake
    db.session.commit()
    clock.set(datetime(2026, 3, 21, 9, 0, tzinfo=UTC))
    reminders.fire_due_reminders()  # notifications (and deliveries) that point at the deal
    db.session.expire_all()
    assert _count(Notification, mistake) > 0 and _count(Task, mistake) > 0

    assert Api(manager.client, "csr@x.test").delete(f"/opportunities/{mistake}").status_code == 403
    assert Api(manager.client, "rep@x.test").delete(f"/opportunities/{mistake}").status_code == 403
    r = manager.delete(f"/opportunities/{mistake}")
    assert r.status_code == 204, r.get_data(as_text=True)

    db.session.expire_all()
    assert manager.get(f"/opportunities/{mistake}").status_code == 404
    for model in (Task, Reminder, Notification, Event, StageStay, WorkflowState, Appointment):
        assert _count(model, mistake) == 0, model.__name__
    assert db.session.scalar(select(Appointment.id).where(Appointment.id == visit)) is None
    entry = db.session.get(ContactLogEntry, logged.id)
    assert entry is not None and entry.opportunity_id is None  # the customer's log keeps the call
    assert manager.get(f"/opportunities/{keep}").json["status"] == "in_progress"  # the other deal untouched
    assert _count(Task, keep) > 0 and _count(Event, keep) > 0
    assert manager.delete(f"/opportunities/{mistake}").status_code == 404


def test_deleting_is_refused_once_the_deal_has_an_estimate_or_a_job(world):
    manager = world["manager_api"]
    with_estimate, with_job = world["deal"](), world["deal"]()
    manager.post(f"/opportunities/{with_estimate}/estimates",
                 {"lines": [{"description": "Pump", "quantity": "1", "price": "10"}]})
    manager.post(f"/opportunities/{with_job}/win", {"create_job": True})
    for opp_id, why in ((with_estimate, "estimate"), (with_job, "job")):
        r = manager.delete(f"/opportunities/{opp_id}")
        assert r.status_code == 409 and why in r.json["detail"] and "archive" in r.json["detail"]
        assert manager.get(f"/opportunities/{opp_id}").status_code == 200
    assert manager.post(f"/opportunities/{with_estimate}/archive").status_code == 200


def test_every_table_pointing_at_a_deal_is_handled_when_it_is_deleted():
    """A new table with a reference to the opportunity is covered by the delete (found from the schema): a
    required reference is deleted with the deal, an optional one cleared. This lists what that means today."""
    pointing = sorted((t.name, fk.parent.nullable) for t in db.metadata.sorted_tables for fk in t.foreign_keys
                      if fk.column.table.name == "opportunity" and t.name != "opportunity")
    required = {name for name, nullable in pointing if not nullable}
    assert {"task", "event", "stage_stay", "workflow_state", "party", "demand_line", "estimate"} <= required


def test_on_the_deal_page_a_manager_archives_and_deletes_and_the_office_cannot(client, world):
    mistake, other = world["deal"](), world["deal"]("Second mistake")
    login(client, "csr@x.test")
    page = client.get(f"/opportunities/{mistake}").get_data(as_text=True)
    assert "Archive…" not in page and "Delete…" not in page
    client.post(f"/opportunities/{mistake}/archive")
    client.post(f"/opportunities/{mistake}/delete")
    db.session.expire_all()
    opp = db.session.get(Opportunity, mistake)
    assert opp is not None and opp.archived_at is None

    client.post("/logout")
    login(client, "manager@x.test")
    page = client.get(f"/opportunities/{mistake}").get_data(as_text=True)
    assert "Yes, archive" in page and "Yes, delete" in page and "This cannot be undone" in page
    assert client.post(f"/opportunities/{mistake}/archive").status_code == 302
    db.session.expire_all()
    assert db.session.get(Opportunity, mistake).archived_at is not None

    deleted = client.post(f"/opportunities/{other}/delete")
    assert deleted.status_code == 302 and deleted.headers["Location"].endswith("/opportunities")
    db.session.expire_all()
    assert db.session.get(Opportunity, other) is None
    assert "deleted" in client.get("/opportunities").get_data(as_text=True)
