"""Issue #14: a sales process drawn in Camunda Modeler (camunda:properties, no pipeline, bare timers, a Camunda
form) or in the Zeebe modeler imports through the API and the CLI, and a deal walks it from the first stage to won."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import Api, login, make_customer, make_user

FIXTURES = Path(__file__).parent / "bpmn_camunda"
SALES = (FIXTURES / "sales.bpmn").read_bytes()
ZEEBE = (FIXTURES / "sales-zeebe.bpmn").read_bytes()


@pytest.fixture
def admin(app, client):
    make_user("admin@x.test", "admin")
    return Api(client, "admin@x.test")


def _deal(api: Api, kind: str) -> dict:
    customer = make_customer(f"Customer for {kind}")
    r = api.post("/opportunities", {"title": "Modeler deal", "customer_id": customer.id, "kind": kind})
    assert r.status_code == 201, r.json
    return r.json


def _open_tasks(api: Api, opp_id: int) -> dict[str, dict]:
    items = api.get(f"/tasks?opportunity={opp_id}&status=open&per_page=200").json["items"]
    return {t["title"]: t for t in items}


def test_a_camunda_modeler_sales_process_imports_and_a_deal_walks_it_to_won(admin, clock, time_machine):
    time_machine.move_to(clock.now(), tick=False)  # SpiffWorkflow's timers read the wall clock (DESIGN §8)
    r = admin.put("/kinds/field-sale/bpmn", SALES)
    assert r.status_code == 201, r.json
    notes = r.json["import_notes"]
    assert "Added the pipeline subprocess around the stages Lead, Offer, Order" in " ".join(notes)
    assert any("camunda:properties" in n and "Task_contact" in n for n in notes)
    assert any("Camunda form fields" in n and "Task_budget" in n for n in notes)
    assert any("P14D" in n and "R3/P1D" in n for n in notes)

    kind = admin.get("/kinds/field-sale").json
    assert [(s["key"], s["name"], s["probability"]) for s in kind["stages"]] == [
        ("lead", "Lead", 10), ("proposal", "Offer", 50), ("negotiation", "Order", 80)]
    assert kind["versions"][-1]["import_notes"] == notes
    stored = admin.get("/kinds/field-sale/bpmn").get_data(as_text=True)
    assert 'name="som.pipeline" value="true"' in stored and "<bpmn:timeDuration" in stored and '"P14D"' in stored

    deal = _deal(admin, "field-sale")
    assert deal["stage"] == "lead"
    tasks = _open_tasks(admin, deal["id"])
    assert set(tasks) == {"Contact the prospect"}
    assert tasks["Contact the prospect"]["role"] == "rep"
    assert admin.post(f"/tasks/{tasks['Contact the prospect']['id']}/complete").status_code == 200
    moved = admin.post(f"/opportunities/{deal['id']}/stage", {"stage": "proposal"})
    assert moved.status_code == 200, moved.json
    assert moved.json["stage"] == "proposal" and moved.json["probability"] == 50

    # the timers drawn bare wait as reminders at their time instead of failing the move: the Lead stage's date
    # (cancelled when Lead was left) and the Offer stage's 14 days
    timers = {t["title"]: t for t in admin.get("/reminders?kind=process_timer").json["items"]}
    assert _at(timers["Process timer Event_lead_deadline"]["due_at"]) == datetime(2030, 1, 1, 9, tzinfo=UTC)
    assert timers["Process timer Event_offer_sla"]["state"] == "pending"
    assert _at(timers["Process timer Event_offer_sla"]["due_at"]) == clock.now() + timedelta(days=14)

    budget = _open_tasks(admin, deal["id"])["Qualify the budget"]
    assert budget["form"] == ["budget", "decision_date", "qualified", "next_step", "notes"]
    refused = admin.post(f"/tasks/{budget['id']}/complete", {"data": {
        "budget": "lots", "decision_date": "2027-01-15", "qualified": "yes", "next_step": "call", "notes": "ok"}})
    assert refused.status_code == 422 and "budget" in refused.json["errors"]
    done = admin.post(f"/tasks/{budget['id']}/complete", {"data": {
        "budget": "25000", "decision_date": "2027-01-15", "qualified": "yes", "next_step": "visit", "notes": "ok"}})
    assert done.status_code == 200, done.json
    assert admin.post(f"/opportunities/{deal['id']}/stage", {"stage": "negotiation"}).status_code == 200

    confirm = _open_tasks(admin, deal["id"])["Send the order confirmation"]
    assert confirm["role"] == "csr"
    assert admin.post(f"/tasks/{confirm['id']}/complete").status_code == 200
    won = admin.post(f"/opportunities/{deal['id']}/win", {})
    assert won.status_code == 200, won.json
    assert (won.json["status"], won.json["closed"], won.json["probability"]) == ("won", True, 100)
    history = [e["type"] for e in admin.history(deal['id'])]
    assert history.count("stage_changed") >= 2 and "won" in history


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_deal_of_the_imported_kind_can_be_lost_from_any_stage(admin):
    admin.put("/kinds/field-sale/bpmn", SALES)
    deal = _deal(admin, "field-sale")
    lost = admin.post(f"/opportunities/{deal['id']}/lose", {"reason": _lost_reason(admin)})
    assert lost.status_code == 200, lost.json
    assert lost.json["status"] == "lost" and lost.json["closed"] is True


def _lost_reason(api: Api) -> str:
    reasons = api.get("/catalogs/lost_reasons").json
    if reasons:
        return reasons[0]["key"]
    assert api.post("/catalogs/lost_reasons", {"key": "price", "name": "Price"}).status_code == 201
    return "price"


def test_the_standard_sale_written_with_camunda_properties_uploads_as_a_standard_kind_with_the_same_stages(admin):
    from som_flow.processes import shipped_bpmn

    camunda = (shipped_bpmn("standard-sale")
               .replace('xmlns:spiffworkflow="', 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
                                                 'xmlns:spiffworkflow="')
               .replace("spiffworkflow:properties", "camunda:properties")
               .replace("spiffworkflow:property ", "camunda:property "))
    assert "spiffworkflow:property " not in camunda
    r = admin.put("/kinds/camunda-sale/bpmn", camunda.encode())
    assert r.status_code == 201, r.json
    assert len(r.json["import_notes"]) == 1 and r.json["import_notes"][0].startswith("Read camunda:properties")
    shipped = admin.get("/kinds/standard-sale").json["stages"]
    assert [s["key"] for s in shipped] == ["lead", "qualification", "proposal", "negotiation"]
    assert admin.get("/kinds/camunda-sale").json["stages"] == shipped


def test_the_cli_imports_the_camunda_modeler_file_as_the_api_does(app, runner, admin, tmp_path):
    path = tmp_path / "sales.bpmn"
    path.write_bytes(SALES)
    result = runner.invoke(args=["kinds", "import", str(path), "--key", "field-sale", "--type", "standard"])
    assert result.exit_code == 0, result.output
    assert "kind field-sale version 1 stored" in result.output
    kind = admin.get("/kinds/field-sale").json
    assert kind["type"] == "standard" and [s["key"] for s in kind["stages"]] == ["lead", "proposal", "negotiation"]
    assert any("pipeline" in n for n in kind["versions"][0]["import_notes"])


def test_a_zeebe_modeler_variant_imports_with_its_inline_form_and_its_process_setting(admin):
    r = admin.put("/kinds/quick-sale/bpmn", ZEEBE)
    assert r.status_code == 201, r.json
    assert any("zeebe:properties" in n for n in r.json["import_notes"])
    assert [s["key"] for s in admin.get("/kinds/quick-sale").json["stages"]] == ["lead", "negotiation"]
    deal = _deal(admin, "quick-sale")
    visit = _open_tasks(admin, deal["id"])["Visit the prospect"]
    assert visit["form"] == ["visited_on", "interested", "next_step", "units"]
    # som.allow_early_win=false, written on the process in the modeler, holds on the added pipeline
    early = admin.post(f"/opportunities/{deal['id']}/win", {})
    assert early.status_code == 409, early.json
    done = admin.post(f"/tasks/{visit['id']}/complete", {"data": {
        "visited_on": "2026-03-01", "interested": "yes", "next_step": "quote", "units": "3"}})
    assert done.status_code == 200, done.json
    assert admin.post(f"/opportunities/{deal['id']}/stage", {"stage": "negotiation"}).status_code == 200
    won = admin.post(f"/opportunities/{deal['id']}/win", {})
    assert won.status_code == 200 and won.json["status"] == "won", won.json


def test_two_property_sources_that_disagree_are_refused_naming_the_element_and_nothing_is_stored(admin):
    both = SALES.replace(
        b'<camunda:property name="som.role" value="csr" />',
        b'<camunda:property name="som.role" value="csr" /></camunda:properties>'
        b'<zeebe:properties xmlns:zeebe="http://camunda.org/schema/zeebe/1.0">'
        b'<zeebe:property name="som.role" value="manager" /></zeebe:properties><camunda:properties>')
    r = admin.put("/kinds/field-sale/bpmn", both)
    assert r.status_code == 422, r.json
    assert list(r.json["errors"]) == ["Task_confirm"]
    assert "som.role" in r.json["errors"]["Task_confirm"][0] and "keep one" in r.json["errors"]["Task_confirm"][0]
    assert admin.get("/kinds/field-sale").status_code == 404


def test_a_designed_kind_is_stored_without_import_notes(admin):
    r = admin.post("/kinds", {"key": "plain", "name": "Plain", "type": "standard", "stages": ["lead", "proposal"]})
    assert r.status_code == 201, r.json
    assert r.json["versions"][0]["import_notes"] is None


def test_the_kind_page_lists_what_was_added_on_import(app, admin, client):
    admin.put("/kinds/field-sale/bpmn", SALES)
    login(client, "admin@x.test")
    page = client.get("/admin/kinds/field-sale").get_data(as_text=True)
    assert "Added on import" in page
    assert "Added the pipeline subprocess around the stages Lead, Offer, Order" in page
