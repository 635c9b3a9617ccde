"""CSV export and import of customers and opportunities: round trip, dry run, all or nothing."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import psycopg
import pytest

from som_flow import create_app
from som_flow.config import TestConfig
from som_flow.errors import ValidationFailed
from som_flow.extensions import db
from som_flow.services import csv_io, opportunities
from tests.helpers import Api, make_customer, make_user

CUSTOMERS_HEADER = "name,parent,kind,status,email,credit_hold,bill_to_city"
OPPS_HEADER = "title,customer,kind,stage,status,sales_rep,amount,probability,anticipated_close_date,reason"


@pytest.fixture
def fresh_app(request, db_url, clock, tmp_path):
    """A second, empty database (schema, default catalogs and kinds) on the same backend."""
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    if db_url.startswith("sqlite"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
        target = create_app(config, clock=clock)
        with target.app_context():
            from som_flow.services.catalogs import seed_defaults
            from som_flow.services.kinds import install_shipped_kinds

            db.create_all()
            seed_defaults()
            install_shipped_kinds()
        yield target
        return
    base, name = db_url.rsplit("/", 1)
    admin_url = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}_fresh TEMPLATE som_template")
    config["SQLALCHEMY_DATABASE_URI"] = f"{base}/{name}_fresh"
    target = create_app(config, clock=clock)
    yield target
    with target.app_context():
        db.engine.dispose()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}_fresh WITH (FORCE)")


def _rows(text: str, drop: str) -> list[dict]:
    return [{k: v for k, v in row.items() if k != drop} for row in csv.DictReader(io.StringIO(text))]


def _post_csv(api: Api, path: str, text: str):
    return api.client.post(f"/api/v1{path}", data=text.encode(), headers={**api.headers, "Content-Type": "text/csv"})


def _make_book(client, clock):
    """Customers with a job, addresses, credit hold and awkward text; deals in every status."""
    make_user("manager@x.test", "manager")
    rep_user = make_user("rep@x.test", "rep")
    manager = Api(client, "manager@x.test")
    hansen = manager.post("/customers", {
        "kind": "individual", "name": "Hansen household", "status": "active", "email": "hansen@example.com",
        "phone": "+1 555 0100", "credit_hold": True, "popup_notes": "=HYPERLINK(\"x\")\nCall before noon",
        "popup_on_open": True, "bill_to": {"street": "1 Main St", "city": "Springfield", "zip": "12345"},
        "work_address": {"street": "9 Farm Rd", "city": "Shelbyville"}}).json
    acme = manager.post("/customers", {"kind": "organization", "name": "Acme, \"Big\" Inc."}).json
    job = manager.post("/customers", {"kind": "individual", "name": "Furnace 2026", "parent_id": hansen["id"]}).json

    def deal(title, customer, kind="service-contract", **extra):
        r = manager.post("/opportunities", {"title": title, "customer_id": customer["id"], "kind": kind, **extra})
        assert r.status_code == 201, r.json
        return r.json

    proposal = deal("Maintenance plan", acme, sales_rep=rep_user.id, amount="1200.50",
                    anticipated_close_date="2026-04-30", description="Yearly plan,\n\"gold\" level",
                    product="maintenance")
    assert manager.post(f"/opportunities/{proposal['id']}/stage", {"stage": "proposal"}).status_code == 200
    assert manager.patch(f"/opportunities/{proposal['id']}", {"probability": 65}).status_code == 200
    won = deal("New furnace", hansen, sales_rep=rep_user.id, amount="4773.00")
    clock.advance(days=3)
    assert manager.post(f"/opportunities/{won['id']}/win", {"reason": "price", "create_job": True,
                                                            "job_name": "Furnace job"}).status_code == 200
    lost = deal("Second unit", hansen, amount="900")
    lose = {"reason": "competitor", "explanation": "Went with a cheaper offer"}
    assert manager.post(f"/opportunities/{lost['id']}/lose", lose).status_code == 200
    held = deal("Duct cleaning", job, kind="stageless", marketing_channel="web")
    assert manager.post(f"/opportunities/{held['id']}/hold").status_code == 200
    return manager


def test_customers_and_opportunities_survive_export_and_import_into_a_fresh_database(app, client, clock, fresh_app):
    manager = _make_book(client, clock)
    customers_csv = manager.get("/customers.csv")
    assert customers_csv.status_code == 200 and customers_csv.mimetype == "text/csv"
    assert 'filename="customers.csv"' in customers_csv.headers["Content-Disposition"]
    opps_csv = manager.get("/opportunities.csv")
    assert opps_csv.status_code == 200 and opps_csv.mimetype == "text/csv"
    customers_text, opps_text = customers_csv.get_data(as_text=True), opps_csv.get_data(as_text=True)
    # a spreadsheet must not run the note as a formula
    assert "'=HYPERLINK" in customers_text
    assert [r["name"] for r in _rows(customers_text, "id")] == [
        'Acme, "Big" Inc.', "Hansen household", "Furnace 2026", "Furnace job"]
    exported = {r["title"]: r for r in _rows(opps_text, "number")}
    assert exported["Maintenance plan"]["amount"] == "1200.50" and exported["Maintenance plan"]["stage"] == "proposal"
    assert exported["New furnace"]["job"] == "Hansen household:Furnace job"

    with fresh_app.app_context():
        target_client = fresh_app.test_client()
        make_user("manager@x.test", "manager")
        make_user("rep@x.test", "rep")
        target = Api(target_client, "manager@x.test")
        imported = _post_csv(target, "/imports/customers", customers_text)
        assert imported.status_code == 201, imported.json
        assert imported.json["created"] == 4 and all(r["ok"] for r in imported.json["rows"])
        imported = _post_csv(target, "/imports/opportunities", opps_text)
        assert imported.status_code == 201, imported.json
        assert imported.json["created"] == 4

        assert _rows(target.get("/customers.csv").get_data(as_text=True), "id") == _rows(customers_text, "id")
        assert _rows(target.get("/opportunities.csv").get_data(as_text=True), "number") == \
            _rows(opps_text, "number")
        hansen = target.get("/customers?q=hansen").json["items"][0]
        assert hansen["credit_hold"] is True and hansen["popup_notes"].startswith("=HYPERLINK")
        assert hansen["work_address"] == {"street": "9 Farm Rd", "city": "Shelbyville"}
        plan = target.get("/opportunities?q=maintenance").json["items"][0]
        assert plan["amount"] == "1200.50" and plan["probability"] == 65 and plan["probability_set_by_hand"]
        assert plan["allowed_stages"], "an imported deal keeps working in its process"
        assert target.post(f"/opportunities/{plan['id']}/stage", {"stage": "negotiation"}).status_code == 200
        held = target.get("/opportunities?q=duct").json["items"][0]
        assert held["status"] == "on_hold" and held["customer"] == "Hansen household:Furnace 2026"
        assert "imported" in [e["type"] for e in target.history(held['id'])]
        db.session.remove()


def test_a_dry_run_reports_every_row_and_writes_nothing(app, client):
    make_user("manager@x.test", "manager")
    make_user("rep@x.test", "rep")
    manager = Api(client, "manager@x.test")
    make_customer("Acme Inc.")
    text = "\n".join([
        CUSTOMERS_HEADER,
        "Globex,,organization,active,info@globex.test,no,Oslo",
        "Globex job,Globex,organization,,,,",
        "Initech,,robot,,not-an-email,maybe,",
        "Acme Inc.,,,,,,",
        "Orphan job,Nobody,,,,,",
    ])
    report = _post_csv(manager, "/imports/customers?dry_run=true", text)
    assert report.status_code == 200, report.json
    assert report.json["created"] == 0 and report.json["dry_run"] is True
    rows = report.json["rows"]
    assert [(r["line"], r["ok"]) for r in rows] == [(2, True), (3, True), (4, False), (5, False), (6, False)]
    assert set(rows[2]["errors"]) == {"kind", "email", "credit_hold"}
    assert "already exists" in rows[3]["errors"]["name"][0]
    assert "Nobody" in rows[4]["errors"]["parent"][0]
    assert manager.get("/customers").json["total"] == 1

    opps = "\n".join([
        OPPS_HEADER,
        "Good one,Acme Inc.,standard-sale,qualification,,rep@x.test,1200.50,,2026-05-01,",
        "Bad stage,Acme Inc.,standard-sale,closing,,,,,,",
        "Bad rep,Acme Inc.,standard-sale,,,nobody@x.test,,,,",
        "Bad kind,Acme Inc.,barter,,,,,,,",
        "Bad amount,Acme Inc.,standard-sale,,,,\"1,200.50\",,,",
        "Bad date,Nobody Ltd,standard-sale,,lost,,,101,2026-02-30,",
    ])
    report = _post_csv(manager, "/imports/opportunities?dry_run=true", opps)
    assert report.status_code == 200, report.json
    rows = {r["line"]: r for r in report.json["rows"]}
    assert rows[2]["ok"] is True
    assert "closing" in rows[3]["errors"]["stage"][0] and "proposal" in rows[3]["errors"]["stage"][0]
    assert "nobody@x.test" in rows[4]["errors"]["sales_rep"][0]
    assert "barter" in rows[5]["errors"]["kind"][0]
    assert list(rows[6]["errors"]) == ["amount"]
    assert set(rows[7]["errors"]) == {"customer", "probability", "anticipated_close_date", "reason"}
    assert manager.get("/opportunities").json["total"] == 0


def test_one_bad_row_imports_nothing_and_the_fixed_file_imports_everything(app, client):
    make_user("manager@x.test", "manager")
    make_user("rep@x.test", "rep")
    manager = Api(client, "manager@x.test")
    make_customer("Acme Inc.")
    good = "Plan,Acme Inc.,service-contract,negotiation,,rep@x.test,99.999,,,"
    text = "\n".join([OPPS_HEADER, good, "Lost one,Acme Inc.,service-contract,,lost,,10,,,price",
                      "Broken,Acme Inc.,service-contract,,,,ten,,,"]) + "\n"
    refused = _post_csv(manager, "/imports/opportunities", text)
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert refused.json["created"] == 0 and "4.amount" in refused.json["errors"]
    assert [r["ok"] for r in refused.json["rows"]] == [True, True, False]
    assert manager.get("/opportunities").json["total"] == 0
    assert manager.get("/tasks?status=open").json["total"] == 0

    fixed = text.replace(",ten,", ",10,")
    done = manager.client.post("/api/v1/imports/opportunities", headers=manager.headers,
                               data={"file": (io.BytesIO(fixed.encode("utf-8-sig")), "deals.csv")})
    assert done.status_code == 201, done.json
    assert done.json["created"] == 3
    plan = manager.get("/opportunities?q=plan").json["items"][0]
    assert plan["amount"] == "100.00" and plan["stage"] == "negotiation" and plan["probability"] == 80
    # placed straight at its stage: one entry in the stage history, no earlier stage's tasks made and cancelled
    history = manager.history(plan['id'])
    assert [(e["data"]["from"], e["data"]["to"]) for e in history if e["type"] == "stage_changed"] == [
        (None, "negotiation")]
    assert [e for e in history if e["type"] == "task_cancelled"] == []
    lost = manager.get("/opportunities?status=lost").json["items"]
    assert [(o["title"], o["reason"], o["probability"]) for o in lost] == [("Lost one", "price", 0)]


def test_files_that_do_not_fit_are_refused_as_a_whole(app, client):
    make_user("manager@x.test", "manager")
    manager = Api(client, "manager@x.test")
    for body, field in [
        ("name,shoe_size\nAcme,42\n", "columns"),
        ("kind\norganization\n", "columns"),
        ("", "file"),
    ]:
        r = _post_csv(manager, "/imports/customers", body)
        assert r.status_code == 422 and field in r.json["errors"], (body, r.json)
    latin1 = manager.client.post("/api/v1/imports/customers", data="name\nSkåla\n".encode("latin-1"),
                                 headers={**manager.headers, "Content-Type": "text/csv"})
    assert latin1.status_code == 422 and "file" in latin1.json["errors"]
    extra = _post_csv(manager, "/imports/customers", "name\nAcme,surplus\n")
    assert extra.status_code == 422 and "2._row" in extra.json["errors"]
    no_file = manager.client.post("/api/v1/imports/customers", headers=manager.headers, data={"other": "x"},
                                  content_type="multipart/form-data")
    assert no_file.status_code == 422 and "file" in no_file.json["errors"]
    assert manager.get("/customers").json["total"] == 0


def test_only_admins_and_managers_import_and_everyone_exports(app, client):
    for role in ("admin", "manager", "csr", "rep", "scheduler"):
        make_user(f"{role}@x.test", role)
    make_customer("Acme Inc.", status="active")
    make_customer("Prospect Ltd")
    text = "name\nNew Co\n"
    for role in ("csr", "rep", "scheduler"):
        api = Api(client, f"{role}@x.test")
        assert _post_csv(api, "/imports/customers?dry_run=true", text).status_code == 403
        assert _post_csv(api, "/imports/opportunities?dry_run=true", text).status_code == 403
        exported = api.get("/customers.csv?status=active")
        assert exported.status_code == 200
        assert [r["name"] for r in _rows(exported.get_data(as_text=True), "id")] == ["Acme Inc."]
    assert _post_csv(Api(client, "admin@x.test"), "/imports/customers?dry_run=true", text).status_code == 200
    assert client.get("/api/v1/customers.csv").status_code == 401


def test_opportunity_export_takes_the_list_filters(app, client):
    make_user("manager@x.test", "manager")
    manager = Api(client, "manager@x.test")
    acme = make_customer("Acme Inc.")
    for title in ("Alpha", "Beta"):
        manager.post("/opportunities", {"title": title, "customer_id": acme.id, "kind": "stageless"})
    assert [r["title"] for r in _rows(manager.get("/opportunities.csv?q=beta").get_data(as_text=True), "")] == ["Beta"]
    assert [r["title"] for r in _rows(manager.get("/opportunities.csv").get_data(as_text=True), "")] == \
        ["Alpha", "Beta"]
    assert manager.get("/opportunities.csv?status=nope").status_code == 422


def test_an_amount_may_be_given_as_text(app):
    manager = make_user("manager@x.test", "manager")
    acme = make_customer()
    opp = opportunities.create_opportunity(manager, {"title": "x", "customer_id": acme.id, "kind": "stageless",
                                                     "amount": "1200.50"})
    assert opp.amount == Decimal("1200.50")
    for garbage in ("12,00", "NaN", "Infinity", "-3", "1e20", ""):
        with pytest.raises(ValidationFailed) as refused:
            opportunities.create_opportunity(manager, {"title": "x", "customer_id": acme.id, "kind": "stageless",
                                                       "amount": garbage if garbage else " "})
        assert "amount" in refused.value.errors, garbage


def test_the_cli_imports_customers_with_a_dry_run_first(app, runner, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("name,parent\nGlobex,\nGlobex job,Globex\n", encoding="utf-8")
    dry = runner.invoke(args=["import", "customers", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 rows ok" in dry.output and "dry run" in dry.output
    from som_flow.services.customers import search_customers

    assert search_customers()[1] == 0
    done = runner.invoke(args=["import", "customers", str(path)])
    assert done.exit_code == 0, done.output
    assert search_customers("globex")[1] == 2
    again = runner.invoke(args=["import", "customers", str(path)])
    assert again.exit_code == 1 and "line 2" in again.output and "already exists" in again.output


@pytest.mark.parametrize("text", [";=1+1", "=1+1", ",=1+1", "\t=1", "a;=1+1", "note,-2+3"])
def test_a_cell_a_spreadsheet_in_any_locale_could_run_is_quoted_and_kept_text(text):
    written = csv_io.write_table(["note"], [[text]])
    cell = written.split("\r\n")[1]
    assert cell == '"' + "'" + text + '"'  # a leading quote, inside a quoted cell
    assert next(csv.reader(io.StringIO(cell))) == ["'" + text]


def test_plain_text_and_numbers_are_written_as_they_are():
    written = csv_io.write_table(["name", "amount"], [["Acme; Inc.", Decimal("-5.00")]])
    assert written.split("\r\n")[1] == '"Acme; Inc.","-5.00"'
