"""The job's own work (seed 001, step 6): a deal won with a job starts its kind's follow-on process, whose tasks
the office works; reopening the deal cancels what is still open."""

from __future__ import annotations

import pytest

from som_flow.processes import shipped_follow_on_bpmn
from som_flow.processes.ship import shipped_path
from tests.helpers import Api, make_customer, make_user

ONE_TASK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="x">
  <bpmn:process id="permit" name="Get the permit" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="file_permit" name="File the building permit">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="som.role" value="csr"/>
        <spiffworkflow:property name="som.form" value="permit_number"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="file_permit"/>
    <bpmn:sequenceFlow id="f2" sourceRef="file_permit" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def people(app, client):
    make_user("admin@x.test", "admin")
    make_user("csr@x.test", "csr")
    rep = make_user("rep@x.test", "rep")
    make_user("manager@x.test", "manager")
    customer = make_customer("Hansen household")
    office, rep_api = Api(client, "csr@x.test"), Api(client, "rep@x.test")
    deal = office.post("/opportunities", {"title": "New furnace", "customer_id": customer.id,
                                          "kind": "standard-sale", "sales_rep": rep.id})
    assert deal.status_code == 201, deal.json
    return {"office": office, "rep": rep_api, "admin": Api(client, "admin@x.test"),
            "manager": Api(client, "manager@x.test"), "deal": deal.json}


def _pool(api: Api, deal_id: int) -> dict[str, dict]:
    return {t["title"]: t for t in api.get(f"/tasks?opportunity={deal_id}&status=open").json["items"]
            if t["job_work_id"]}


def _work(api: Api, deal_id: int) -> list[dict]:
    r = api.get(f"/opportunities/{deal_id}/job-work")
    assert r.status_code == 200, r.json
    return r.json


def test_the_shipped_job_order_file_is_what_the_builder_makes():
    assert shipped_path("job-order").read_text(encoding="utf-8") == shipped_follow_on_bpmn("job-order"), (
        "bpmn/job-order.bpmn is stale: run `python -m som_flow.processes.ship`")


def test_the_standard_sale_names_its_follow_on(people):
    kind = people["office"].get("/kinds/standard-sale").json
    assert kind["follow_on"]["name"] == "Order and schedule the job" and kind["follow_on"]["number"] == 1
    assert people["office"].get("/kinds/stageless").json["follow_on"] is None


def test_winning_with_a_job_gives_the_office_the_jobs_ordering_and_scheduling(people, clock):
    office, rep, deal = people["office"], people["rep"], people["deal"]
    won = rep.post(f"/opportunities/{deal['id']}/win", {"create_job": True, "job_name": "Furnace install"})
    assert won.status_code == 200, won.json
    job_id = won.json["job_id"]

    [work] = _work(office, deal["id"])
    assert (work["status"], work["job_id"], work["job"]) == ("running", job_id, "Furnace install")
    assert [(t["title"], t["status"]) for t in work["tasks"]] == [("Order the materials", "open")]
    # the office's pool shows it, unassigned, due in two days
    pool = {t["title"]: t for t in office.get("/tasks?assignee=none").json["items"]}
    order = pool["Order the materials"]
    assert order["role"] == "office" and order["assignee"] is None and order["opportunity_id"] == deal["id"]
    assert order["due_at"].startswith("2026-03-04")
    # the rep does not work the office's tasks
    assert rep.post(f"/tasks/{order['id']}/complete", {"data": {}}).status_code == 403

    clock.advance(hours=2)
    assert office.post(f"/tasks/{order['id']}/complete", {"data": {}}).status_code == 200
    schedule = _pool(office, deal["id"])["Schedule the work"]
    assert schedule["action"] == "schedule_appointment"
    clock.advance(hours=2)
    booked = office.post(f"/tasks/{schedule['id']}/complete", {"data": {"appointment": {
        "start": "2026-03-10T13:00:00+00:00", "end": "2026-03-10T17:00:00+00:00", "location": "On site"}}})
    assert booked.status_code == 200, booked.json
    visits = office.get("/appointments?from=2026-03-10T00:00:00%2B00:00&to=2026-03-11T00:00:00%2B00:00").json
    assert [(v["title"], v["opportunity_id"]) for v in visits] == [("Schedule the work: Furnace install", None)]

    confirm = _pool(office, deal["id"])["Confirm with the customer"]
    clock.advance(hours=2)
    assert office.post(f"/tasks/{confirm['id']}/complete", {"data": {}}).status_code == 200
    [work] = _work(office, deal["id"])
    assert work["status"] == "done" and work["finished_at"] is not None
    assert [t["status"] for t in work["tasks"]] == ["done", "done", "done"]
    history = [e["type"] for e in office.history(deal['id'])]
    assert history.index("won") < history.index("job_work_started") < history.index("job_work_completed")
    # the sale itself stays won and closed
    after = office.get(f"/opportunities/{deal['id']}").json
    assert (after["status"], after["closed"]) == ("won", True)


def test_winning_without_a_job_starts_no_work(people):
    deal = people["deal"]
    assert people["rep"].post(f"/opportunities/{deal['id']}/win", {}).status_code == 200
    assert _work(people["office"], deal["id"]) == []


def test_editing_a_won_deal_leaves_the_jobs_tasks_open(people):
    office, deal = people["office"], people["deal"]
    assert people["rep"].post(f"/opportunities/{deal['id']}/win", {"create_job": True}).status_code == 200
    edited = office.patch(f"/opportunities/{deal['id']}", {"external_reference": "PO-77"})
    assert edited.status_code == 200, edited.json
    assert list(_pool(office, deal["id"])) == ["Order the materials"]


def test_reopening_a_won_deal_cancels_the_jobs_open_work(people, clock):
    office, manager, deal = people["office"], people["manager"], people["deal"]
    assert people["rep"].post(f"/opportunities/{deal['id']}/win", {"create_job": True}).status_code == 200
    order = _pool(office, deal["id"])["Order the materials"]
    clock.advance(hours=2)
    assert office.post(f"/tasks/{order['id']}/complete", {"data": {}}).status_code == 200
    schedule = _pool(office, deal["id"])["Schedule the work"]

    reopened = manager.post(f"/opportunities/{deal['id']}/reopen")
    assert reopened.status_code == 200, reopened.json
    [work] = _work(office, deal["id"])
    assert work["status"] == "cancelled"
    assert [(t["title"], t["status"]) for t in work["tasks"]] == [("Order the materials", "done"),
                                                                  ("Schedule the work", "cancelled")]
    assert _pool(office, deal["id"]) == {}
    late = office.post(f"/tasks/{schedule['id']}/complete", {"data": {}})
    assert late.status_code == 409 and "cancelled" in late.json["detail"]
    assert "job_work_cancelled" in [e["type"] for e in office.history(deal['id'])]
    # the sale runs again, with its own tasks
    assert office.get(f"/opportunities/{deal['id']}").json["status"] == "in_progress"

    # won again with a new job: a fresh run on it
    again = people["rep"].post(f"/opportunities/{deal['id']}/win", {"create_job": True, "job_name": "Second try"})
    assert again.status_code == 200, again.json
    newest, old = _work(office, deal["id"])
    assert (newest["status"], newest["job"], old["status"]) == ("running", "Second try", "cancelled")


def test_an_admin_replaces_the_follow_on_and_running_jobs_keep_theirs(people):
    admin, office, deal = people["admin"], people["office"], people["deal"]
    assert people["rep"].post(f"/opportunities/{deal['id']}/win", {"create_job": True}).status_code == 200

    put = admin.put("/kinds/standard-sale/follow-on", ONE_TASK.encode())
    assert put.status_code == 201, put.json
    assert put.json["number"] == 2 and put.json["name"] == "Get the permit"
    xml = admin.get("/kinds/standard-sale/follow-on")
    assert xml.status_code == 200 and b"File the building permit" in xml.data
    assert xml.headers["Content-Type"].startswith("application/xml")
    assert b"Order the materials" in admin.get("/kinds/standard-sale/follow-on?version=1").data
    # the job already running keeps the version it started on
    assert list(_pool(office, deal["id"])) == ["Order the materials"]

    second = office.post("/opportunities", {"title": "Boiler", "customer_id": deal["customer_id"],
                                            "kind": "standard-sale"}).json
    assert people["manager"].post(f"/opportunities/{second['id']}/win", {"create_job": True}).status_code == 200
    permit = _pool(office, second["id"])["File the building permit"]
    assert permit["role"] == "csr" and permit["form"] == ["permit_number"]
    missing = office.post(f"/tasks/{permit['id']}/complete", {"data": {}})
    assert missing.status_code == 422 and "permit_number" in missing.json["errors"]
    assert office.post(f"/tasks/{permit['id']}/complete", {"data": {"permit_number": "B-1"}}).status_code == 200
    assert _work(office, second["id"])[0]["status"] == "done"


@pytest.mark.parametrize("old, new, what", [
    ('<bpmn:userTask id="file_permit" name="File the building permit">',
     '<bpmn:scriptTask id="file_permit" name="File the building permit"><bpmn:script>1</bpmn:script></bpmn:scriptTask>'
     '<bpmn:userTask id="unused" name="x">', "script"),
    ('<spiffworkflow:property name="som.role" value="csr"/>',
     '<spiffworkflow:property name="som.stage" value="lead"/>', "stages"),
    ('<bpmn:endEvent id="end"/>',
     '<bpmn:endEvent id="end"/><bpmn:boundaryEvent id="late" attachedToRef="file_permit"><bpmn:timerEventDefinition>'
     '<bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>', "timers"),
])
def test_a_follow_on_that_breaks_the_rules_is_refused_naming_the_element_and_nothing_is_stored(
        people, old, new, what):
    admin = people["admin"]
    element_id = {"script": "file_permit", "stages": "file_permit", "timers": "late"}[what]
    bad = ONE_TASK.replace(old, new, 1)
    r = admin.put("/kinds/standard-sale/follow-on", bad.encode())
    assert r.status_code == 422, r.json
    assert r.headers["Content-Type"] == "application/problem+json"
    assert element_id in r.json["errors"] and what in " ".join(r.json["errors"][element_id])
    assert admin.get("/kinds/standard-sale").json["follow_on"]["number"] == 1


def test_only_an_admin_attaches_a_follow_on_and_a_kind_without_one_has_no_file(people):
    assert people["manager"].put("/kinds/standard-sale/follow-on", ONE_TASK.encode()).status_code == 403
    assert people["office"].get("/kinds/stageless/follow-on").status_code == 404
    bad = people["admin"].client.put("/api/v1/kinds/standard-sale/follow-on", data=ONE_TASK,
                                     headers={**people["admin"].headers, "Content-Type": "text/plain"})
    assert bad.status_code == 415


# -- pages -------------------------------------------------------------------------------------------------------
def test_an_admin_attaches_a_follow_on_on_the_kind_page_and_a_refused_file_is_explained(app, client, people):
    from io import BytesIO

    from tests.helpers import login

    login(client, "admin@x.test")
    page = client.get("/admin/kinds/standard-sale").get_data(as_text=True)
    assert "The job's work after a win" in page and "Order and schedule the job" in page

    bad = ONE_TASK.replace('<spiffworkflow:property name="som.role" value="csr"/>',
                           '<spiffworkflow:property name="som.gate" value="true"/>')
    refused = client.post("/admin/kinds/standard-sale/follow-on",
                          data={"follow_on_file": (BytesIO(bad.encode()), "permit.bpmn")})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "nothing was stored" in text and "file_permit" in text and "stage gates belong to the sale" in text
    none_chosen = client.post("/admin/kinds/standard-sale/follow-on", data={})
    assert none_chosen.status_code == 422 and "Choose a .bpmn file." in none_chosen.get_data(as_text=True)

    stored = client.post("/admin/kinds/standard-sale/follow-on",
                         data={"follow_on_file": (BytesIO(ONE_TASK.encode()), "permit.bpmn")})
    assert stored.status_code == 302
    page = client.get("/admin/kinds/standard-sale").get_data(as_text=True)
    assert "Get the permit" in page and "version 2" in page
    download = client.get("/admin/kinds/standard-sale/follow-on.bpmn")
    assert b"File the building permit" in download.data and "attachment" in download.headers["Content-Disposition"]


def test_the_jobs_page_shows_its_work_and_who_is_on_it(app, client, people):
    from tests.helpers import login

    deal = people["deal"]
    job_id = people["rep"].post(f"/opportunities/{deal['id']}/win", {"create_job": True,
                                                                     "job_name": "Furnace install"}).json["job_id"]
    login(client, "csr@x.test")
    page = client.get(f"/customers/{job_id}").get_data(as_text=True)
    assert "The job's work" in page and "In progress" in page
    assert "Order the materials" in page and "work on it in My tasks" in page
    assert "Schedule the work" not in page  # not handed out yet


def test_a_stored_follow_on_the_engine_now_refuses_does_not_block_the_win(app, people, clock):
    from som_flow.extensions import db
    from som_flow.models import FollowOnVersion
    from som_flow.services.kinds import get_kind

    kind = get_kind("standard-sale")
    db.session.add(FollowOnVersion(kind_id=kind.id, number=2, name="Broken", created_at=clock.now(),
                                   bpmn_xml=ONE_TASK.replace("som.role", "som.stage")))
    db.session.commit()
    deal = people["deal"]
    won = people["rep"].post(f"/opportunities/{deal['id']}/win", {"create_job": True})
    assert won.status_code == 200, won.json
    assert won.json["status"] == "won" and won.json["job_id"] is not None
    assert _work(people["office"], deal["id"]) == []
    warnings = [e["data"]["message"] for e in people["office"].history(deal['id'])
                if e["type"] == "warning"]
    assert any("The job's work did not start" in w for w in warnings)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_office_people_completing_the_same_job_task_at_once_one_wins(app, people):
    import threading

    from som_flow.errors import Conflict
    from som_flow.extensions import db
    from som_flow.models import User
    from som_flow.services import opportunities

    office, deal = people["office"], people["deal"]
    assert people["rep"].post(f"/opportunities/{deal['id']}/win", {"create_job": True}).status_code == 200
    order = _pool(office, deal["id"])["Order the materials"]
    clerks = [make_user(f"clerk{i}@x.test", "csr").id for i in (1, 2)]
    db.session.remove()
    start = threading.Barrier(2, timeout=30)
    outcomes: dict[int, object] = {}

    def complete(user_id: int) -> None:
        with app.app_context():
            try:
                start.wait()
                opportunities.complete_task(db.session.get(User, user_id), order["id"], {})
                outcomes[user_id] = "done"
            except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
                outcomes[user_id] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=complete, args=(user_id,)) for user_id in clerks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    results = sorted(outcomes.values(), key=str)
    assert results[-1] == "done" and isinstance(results[0], Conflict), outcomes
    [work] = _work(office, deal["id"])  # the run stepped once: one next task, not two
    assert sorted((t["title"], t["status"]) for t in work["tasks"]) == [("Order the materials", "done"),
                                                                        ("Schedule the work", "open")]
