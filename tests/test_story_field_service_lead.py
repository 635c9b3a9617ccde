"""Story 1 (seed 001): the field-service lead, from the office's call to the job."""

from __future__ import annotations

from som_flow.services import catalogs
from tests.helpers import Api, make_user


def test_the_field_service_lead_becomes_a_job_with_its_estimate_and_appointment(app, client):
    make_user("csr@x.test", "csr")
    rep_user = make_user("rep@x.test", "rep", timezone="America/Chicago")
    make_user("admin@x.test", "admin")
    catalogs.create_question("budget", "qualification", "Has the customer a budget?", required=True)
    catalogs.create_question("owner", "qualification", "Is the caller the home owner?", required=True)
    catalogs.create_question("system_age", "profile", "How old is the current system?", answer_type="text")
    office, rep = Api(client, "csr@x.test"), Api(client, "rep@x.test")

    customer = office.post("/customers", {"kind": "individual", "name": "Hansen household",
                                          "phone": "+1 555 0100"}).json
    deal = office.post("/opportunities", {"title": "New furnace", "customer_id": customer["id"],
                                          "kind": "standard-sale", "sales_rep": rep_user.id})
    assert deal.status_code == 201, deal.json
    deal = deal.json
    assert deal["sales_rep"] == rep_user.id and deal["qualified"] is False

    # the deal came with its rep: the office's "Assign a sales rep" is done by that, and the rep's list shows the
    # contact task and the booking task at once
    office_task = office.get(f"/tasks?opportunity={deal['id']}&status=done").json["items"]
    assert [t["title"] for t in office_task if t["role"] == "csr"] == ["Assign a sales rep"]
    mine = {t["title"]: t for t in rep.get("/tasks?assignee=me").json["items"]}
    assert {"Contact the prospect", "Book an appointment"} <= set(mine)

    booked = rep.post(f"/tasks/{mine['Book an appointment']['id']}/complete", {"data": {"appointment": {
        "start": "2026-03-04T15:00:00+00:00", "end": "2026-03-04T16:00:00+00:00", "location": "On site"}}})
    assert booked.status_code == 200, booked.json
    visits = rep.get("/appointments?from=2026-03-01T00:00:00%2B00:00&to=2026-03-10T00:00:00%2B00:00&user=me").json
    assert [v["opportunity_id"] for v in visits] == [deal["id"]]

    # on site: qualification and profile answers
    answered = rep.patch(f"/opportunities/{deal['id']}", {"answers": {"budget": True, "owner": True,
                                                                       "system_age": "15 years"}})
    assert answered.status_code == 200, answered.json
    assert answered.json["qualified"] is True
    assert any("budget" in why for why in answered.json["qualified_why"])

    # two estimates, one selected: its total becomes the amount
    first = rep.post(f"/opportunities/{deal['id']}/estimates", {"lines": [
        {"product": "furnace", "description": "High-efficiency furnace", "quantity": "1", "price": "4200.00"},
        {"description": "Installation", "quantity": "6", "price": "95.50"}]})
    assert first.status_code == 201, first.json
    assert first.json["total"] == "4773.00"
    second = rep.post(f"/opportunities/{deal['id']}/estimates", {"lines": [
        {"description": "Standard furnace installed", "quantity": "1", "price": "3900.00"}]}).json
    assert second["number"] != first.json["number"]
    assert rep.post(f"/estimates/{first.json['id']}/select").status_code == 200
    assert rep.get(f"/opportunities/{deal['id']}").json["amount"] == "4773.00"

    won = rep.post(f"/opportunities/{deal['id']}/win", {"create_job": True})
    assert won.status_code == 200, won.json
    job_id = won.json["job_id"]
    job = office.get(f"/customers/{job_id}").json
    assert job["parent_id"] == customer["id"] and job["full_name"].startswith("Hansen household:")
    assert "New furnace" in job["name"]
    estimates = rep.get(f"/opportunities/{deal['id']}/estimates").json
    assert {e["customer_id"] for e in estimates} == {job_id}
    assert [e["selected"] for e in estimates] == [True, False]
    assert [j["id"] for j in office.get(f"/customers/{customer['id']}").json["jobs"]] == [job_id]

    # a closed opportunity takes no new documents
    assert rep.post(f"/opportunities/{deal['id']}/estimates", {"lines": [
        {"description": "More", "quantity": "1", "price": "1.00"}]}).status_code == 409
