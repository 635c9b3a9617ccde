"""The /admin pages: admins only; the kinds designer saves versions; a refused BPMN upload names the element and
stores nothing; stages, catalogs, fields, questions, users and exchange rates are kept from forms."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import func, select

from som_flow.extensions import db
from som_flow.models import CatalogEntry, CustomField, ExchangeRate, KindVersion, OpportunityKind, Question, Stage, User
from som_flow.services import kinds, users
from tests.helpers import login, make_user

ADMIN_PAGES = ["/admin/kinds", "/admin/kinds/standard-sale", "/admin/kinds/new", "/admin/kinds/standard-sale/design",
               "/admin/stages", "/admin/stages/lead", "/admin/catalogs/lost_reasons", "/admin/fields",
               "/admin/questions", "/admin/users", "/admin/rates", "/admin/kinds/standard-sale/bpmn"]


@pytest.fixture
def people(app):
    return {"admin": make_user("admin@x.test", "admin"), "rep": make_user("rep@x.test", "rep"),
            "manager": make_user("manager@x.test", "manager")}


@pytest.fixture
def admin(client, people):
    login(client, people["admin"])
    return client


def text(response) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def field_error(response, name: str) -> str:
    """The error shown right after the field `name` (the element the field points at with aria-describedby)."""
    html = response.get_data(as_text=True)
    ident = "err-" + name.replace(".", "-")
    assert f'name="{name}"' in html and f'aria-describedby="{ident}"' in html, f"{name} is not marked invalid"
    match = re.search(rf'<span class="field-error" id="{ident}">([^<]*)</span>', html)
    assert match, f"no error beside {name}"
    return unescape(match.group(1))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def design_form(**extra) -> dict:
    """The designer form for a custom kind: Lead, then Proposal (ordered by the numbers, not the catalog)."""
    form = {"key": "field-sale", "name": "Field sale", "type": "custom", "allowed": "1", "allow_skip": "1",
            "allow_early_win": "1",
            "use.proposal": "1", "order.proposal": "2", "sla.proposal": "14", "required.proposal": "amount",
            "use.lead": "1", "order.lead": "1",
            "task.lead.0.title": "Call the customer", "task.lead.0.role": "rep", "task.lead.0.due": "P2D",
            "task.lead.0.required": "1",
            "task.lead.1.title": "", "task.lead.1.role": "rep", "task.lead.1.due": "",
            "task.proposal.0.title": "Send the estimate", "task.proposal.0.role": "csr", "task.proposal.0.due": ""}
    form.update(extra)
    return form


def test_admins_open_every_admin_page_and_see_the_admin_link(admin):
    for url in ADMIN_PAGES:
        assert admin.get(url).status_code == 200, url
    assert admin.get("/admin/").headers["Location"].endswith("/admin/kinds")
    kinds_page = admin.get("/admin/kinds").get_data(as_text=True)
    assert re.search(r'href="/admin/"( aria-current="page")?>Admin</a>', kinds_page)


def test_a_rep_gets_403_on_every_admin_page_and_changes_nothing(client, people):
    login(client, people["rep"])
    for url in ADMIN_PAGES:
        r = client.get(url)
        assert r.status_code == 403, url
        assert "The admin pages are for admins." in text(r)
    stages, kinds_before = count(Stage), count(KindVersion)
    posts = {"/admin/stages": {"key": "demo", "name": "Demo", "default_probability": "30"},
             "/admin/kinds/new": design_form(),
             "/admin/users": {"email": "x@x.test", "name": "X", "roles": "admin", "password": "long-enough-1"}}
    for url, form in posts.items():
        assert client.post(url, data=form).status_code == 403, url
    assert (count(Stage), count(KindVersion)) == (stages, kinds_before)
    assert db.session.scalar(select(User).where(User.email == "x@x.test")) is None
    assert "Admin</a>" not in client.get("/opportunities").get_data(as_text=True)


def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login_page(client, people):
    r = client.get("/admin/kinds")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_the_designer_saves_a_new_version_and_shows_its_stages_and_versions(admin, people):
    r = admin.post("/admin/kinds/new", data=design_form())
    assert r.status_code == 302, text(r)
    assert r.headers["Location"].endswith("/admin/kinds/field-sale")
    kind = kinds.get_kind("field-sale")
    assert kind.type == "custom" and kind.current_version.number == 1
    assert [s["key"] for s in kind.current_version.stages] == ["lead", "proposal"]
    assert kind.current_version.stages[1]["sla"] == "P14D"
    assert kind.current_version.stages[1]["required_fields"] == ["amount"]
    assert kind.current_version.definition["stage_tasks"]["lead"] == [
        {"title": "Call the customer", "role": "rep", "due": "P2D", "required": True, "action": None,
         "instructions": "", "form": []}]
    assert kind.current_version.definition["stage_tasks"]["proposal"][0]["required"] is False

    page = admin.get(r.headers["Location"])
    assert "Field sale: version 1 saved." in text(page)
    assert "Current version 1" in text(page)
    assert "Stages of version 1 # Stage Probability SLA Required fields 1 Lead 10% 2 Proposal 50% 14 days amount" \
        in text(page)
    assert 'id="diagram"' in page.get_data(as_text=True)

    # the redesign starts from what was saved; one more task makes version 2
    design = admin.get("/admin/kinds/field-sale/design").get_data(as_text=True)
    assert 'value="Call the customer"' in design and 'value="Send the estimate"' in design
    r = admin.post("/admin/kinds/field-sale/design",
                   data=design_form(**{"task.lead.1.title": "Book a site visit", "task.lead.1.role": "scheduler"}))
    assert r.status_code == 302
    kind = kinds.get_kind("field-sale")
    assert [v.number for v in kind.versions] == [1, 2] and kind.current_version.number == 2
    page = text(admin.get("/admin/kinds/field-sale"))
    assert "version 2 saved" in page and "2 (current)" in page and "Admin designer Lead → Proposal" in page

    download = admin.get("/admin/kinds/field-sale/bpmn?version=2&download=1")
    assert download.headers["Content-Disposition"] == 'attachment; filename="field-sale-v2.bpmn"'
    assert b"Book a site visit" in download.data and b"bpmndi:BPMNShape" in download.data
    assert b"Book a site visit" not in admin.get("/admin/kinds/field-sale/bpmn?version=1").data

    # saving the same design again changes nothing
    admin.post("/admin/kinds/field-sale/design",
               data=design_form(**{"task.lead.1.title": "Book a site visit", "task.lead.1.role": "scheduler"}))
    assert kinds.get_kind("field-sale").current_version.number == 2


def test_a_stageless_kind_is_designed_without_stages(admin, people):
    r = admin.post("/admin/kinds/new", data={"key": "repair", "name": "Repair", "type": "stageless", "allowed": "1",
                                             "use.lead": "1", "sla.lead": "3"})
    assert r.status_code == 302, text(r)
    kind = kinds.get_kind("repair")
    assert (kind.type, kind.current_version.stages) == ("stageless", [])
    assert "This version has no stages (stageless)." in text(admin.get("/admin/kinds/repair"))


def test_a_refused_design_shows_why_beside_the_fields_and_stores_nothing(admin, people):
    before = count(KindVersion)
    r = admin.post("/admin/kinds/new", data=design_form(type="standard", key="Bad Key"))
    assert r.status_code == 422
    assert "lower-case" in field_error(r, "key")
    assert count(KindVersion) == before

    r = admin.post("/admin/kinds/new", data=design_form(type="standard"))
    assert r.status_code == 422
    assert "Use a custom kind to allow skips or backward moves." in text(r)
    assert 'value="Call the customer"' in r.get_data(as_text=True)  # what was typed comes back
    r = admin.post("/admin/kinds/new", data=design_form(**{"sla.proposal": "soon"}))
    assert r.status_code == 422 and "'SOON' is not an ISO-8601 duration like P14D" in text(r)
    r = admin.post("/admin/kinds/new", data=design_form(**{"task.lead.0.role": "boss"}))
    assert r.status_code == 422
    stage_box = text(r).split("Lead 10%")[1]
    assert stage_box.lstrip().startswith("task 1 role: Must be one of")
    assert count(KindVersion) == before
    assert db.session.scalar(select(OpportunityKind).where(OpportunityKind.key == "field-sale")) is None


def _upload(client, key: str, data: bytes, **form):
    from io import BytesIO

    return client.post("/admin/kinds/upload", data={"key": key, **form, "file": (BytesIO(data), f"{key}.bpmn")},
                       content_type="multipart/form-data")


def test_a_bad_bpmn_upload_shows_the_error_against_the_element_and_stores_nothing(admin, people):
    xml = admin.get("/admin/kinds/standard-sale/bpmn").get_data(as_text=True)
    hostile = xml.replace("</bpmn:process>", '<bpmn:scriptTask id="evil"><bpmn:script>'
                          "__import__('os').system('id')</bpmn:script></bpmn:scriptTask></bpmn:process>", 1)
    versions = count(KindVersion)
    r = _upload(admin, "standard-sale", hostile.encode())
    assert r.status_code == 422
    rows = re.findall(r'<tr><th scope="row"><code>([^<]+)</code></th><td>([^<]+)</td></tr>', r.get_data(as_text=True))
    assert "evil" in dict(rows), rows
    assert "Nothing was stored; Standard sale stays at version 1." in text(r)
    assert count(KindVersion) == versions and kinds.get_kind("standard-sale").current_version.number == 1

    # a new kind from a refused file is not created either
    r = _upload(admin, "evil-kind", hostile.encode(), name="Evil", type="custom")
    assert r.status_code == 422 and "evil" in dict(re.findall(r"<code>([^<]+)</code></th><td>([^<]+)<", r.text))
    assert db.session.scalar(select(OpportunityKind).where(OpportunityKind.key == "evil-kind")) is None

    r = _upload(admin, "standard-sale", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><definitions/>')
    assert r.status_code == 422 and "document" in r.text and "DOCTYPE" in text(r)
    r = _upload(admin, "standard-sale", "not utf-8: \xe6".encode("latin-1"))
    assert r.status_code == 422 and field_error(r, "file") == "The file is not UTF-8 text."
    assert count(KindVersion) == versions


def test_a_good_upload_becomes_the_next_version(admin, people):
    xml = admin.get("/admin/kinds/service-contract/bpmn").data
    r = _upload(admin, "service-contract", xml)
    assert r.status_code == 302
    assert "Version 2 of service-contract stored." in text(admin.get(r.headers["Location"]))
    assert "upload" in text(admin.get("/admin/kinds/service-contract"))


def test_uploading_as_a_new_kind_never_overwrites_an_existing_one(admin, people):
    """The kinds list's "Upload a BPMN file as a new kind" with a key already taken: refused beside the key, what was
    typed kept, nothing stored (it used to store a new version of that kind and drop the name and type typed)."""
    xml = admin.get("/admin/kinds/service-contract/bpmn").data
    versions = count(KindVersion)
    r = _upload(admin, "service-contract", xml, name="My brand new kind", type="stageless", intent="new")
    assert r.status_code == 422 and field_error(r, "key") == "Already taken."
    assert 'value="My brand new kind"' in r.text and "Upload a BPMN file as a new kind" in r.text
    assert count(KindVersion) == versions
    kind = kinds.get_kind("service-contract")
    assert (kind.name, kind.type, kind.current_version.number) == ("Service contract", "custom", 1)
    # the same file as a new kind under a new key is one
    assert _upload(admin, "service-contract-2", xml, name="Service contract 2", type="custom",
                   intent="new").status_code == 302
    assert kinds.get_kind("service-contract-2").current_version.number == 1


def test_the_stage_catalog_adds_and_edits_stages_with_errors_beside_the_fields(admin, people):
    r = admin.post("/admin/stages", data={"key": "site_visit", "name": "Site visit", "default_probability": "150"})
    assert r.status_code == 422 and "Must be greater than or equal to 0" in field_error(r, "default_probability")
    assert 'value="Site visit"' in r.get_data(as_text=True)
    r = admin.post("/admin/stages", data={"key": "site_visit", "name": "Site visit", "default_probability": "30",
                                          "details": "We measure up.", "sla_days": "7"})
    assert r.status_code == 302
    stage = db.session.scalar(select(Stage).where(Stage.key == "site_visit"))
    assert (stage.name, stage.default_probability, stage.sla_days) == ("Site visit", 30, 7)
    r = admin.post("/admin/stages", data={"key": "site_visit", "name": "Again", "default_probability": "30"})
    assert r.status_code == 422 and field_error(r, "key") == "Already taken."

    r = admin.post("/admin/stages/site_visit", data={"name": "Site survey", "default_probability": "35",
                                                     "details": "Measure up.", "sla_days": ""})
    assert r.status_code == 302
    db.session.refresh(stage)
    assert (stage.name, stage.default_probability, stage.sla_days, stage.details) == (
        "Site survey", 35, None, "Measure up.")
    assert "Site survey site_visit 35%" in text(admin.get("/admin/stages"))
    assert admin.get("/admin/stages/nope").status_code == 404


def test_catalog_entries_are_added_and_deactivated(admin, people):
    r = admin.post("/admin/catalogs/lost_reasons", data={"key": "moved", "name": "Customer moved away"})
    assert r.status_code == 302
    r = admin.post("/admin/catalogs/lost_reasons", data={"key": "moved", "name": "Twice"})
    assert r.status_code == 422 and field_error(r, "key") == "Already taken."
    r = admin.post("/admin/catalogs/lost_reasons/price/active", data={"active": "0"})
    assert r.status_code == 302
    rows = {e.key: e for e in db.session.scalars(select(CatalogEntry).where(CatalogEntry.catalog == "lost_reasons"))}
    assert rows["moved"].name == "Customer moved away" and rows["moved"].active
    assert rows["price"].active is False
    page = text(admin.get("/admin/catalogs/lost_reasons"))
    assert "Price Pris price inactive Reactivate" in page and "Customer moved away moved active Deactivate" in page
    assert admin.get("/admin/catalogs/nonsense").status_code == 404


def test_custom_fields_and_questions_are_added(admin, people):
    r = admin.post("/admin/fields", data={"key": "roof", "label": "Roof type", "type": "choice", "choices": ""})
    assert r.status_code == 422 and field_error(r, "choices") == "Give at least one choice."
    r = admin.post("/admin/fields", data={"key": "roof", "label": "Roof type", "type": "choice",
                                          "choices": "flat, pitched", "required": "1"})
    assert r.status_code == 302
    field = db.session.scalar(select(CustomField).where(CustomField.key == "roof"))
    assert (field.choices, field.required) == (["flat", "pitched"], True)

    r = admin.post("/admin/questions", data={"key": "budget", "section": "qualification", "text": "",
                                             "answer_type": "bool"})
    assert r.status_code == 422 and field_error(r, "text") == "Missing data for required field."
    r = admin.post("/admin/questions", data={"key": "budget", "section": "qualification", "text": "Budget agreed?",
                                             "answer_type": "bool", "required": "1", "kind_key": "standard-sale"})
    assert r.status_code == 302
    q = db.session.scalar(select(Question).where(Question.key == "budget"))
    assert (q.section, q.required, q.kind_key) == ("qualification", True, "standard-sale")
    assert "qualification Budget agreed? budget bool yes standard-sale" in text(admin.get("/admin/questions"))


def test_an_admin_creates_a_user_who_can_then_log_in(admin, people):
    r = admin.post("/admin/users", data={"email": "sam@x.test", "name": "Sam", "roles": ["rep", "scheduler"],
                                         "timezone": "Mars/Olympus", "password": "long-enough-1"})
    assert r.status_code == 422 and field_error(r, "timezone") == "Unknown timezone."
    r = admin.post("/admin/users", data={"email": "sam@x.test", "name": "Sam", "timezone": "UTC", "password": "short"})
    assert r.status_code == 422
    assert field_error(r, "password") == "Use at least 12 characters."
    assert field_error(r, "roles") == "Choose at least one role."
    r = admin.post("/admin/users", data={"email": "sam@x.test", "name": "Sam", "roles": ["rep", "scheduler"],
                                         "timezone": "Europe/Oslo", "password": "long-enough-1"})
    assert r.status_code == 302
    sam = db.session.scalar(select(User).where(User.email == "sam@x.test"))
    assert (sam.roles, sam.timezone) == (["rep", "scheduler"], "Europe/Oslo")
    assert users.user_for_password("sam@x.test", "long-enough-1") == sam


def test_exchange_rates_are_set_per_day(admin, people):
    r = admin.post("/admin/rates", data={"currency": "EUR", "base": "USD", "rate": "-1", "valid_from": "2026-03-01"})
    assert r.status_code == 422 and "greater than 0" in field_error(r, "rate")
    r = admin.post("/admin/rates", data={"currency": "eur", "base": "USD", "rate": "1.08", "valid_from": "2026-03-01"})
    assert r.status_code == 422 and "ISO 4217" in field_error(r, "currency")
    for rate in ("1.08", "1.09"):  # the same day again replaces the rate
        r = admin.post("/admin/rates", data={"currency": "EUR", "base": "USD", "rate": rate,
                                             "valid_from": "2026-03-01"})
        assert r.status_code == 302
    rows = list(db.session.scalars(select(ExchangeRate)))
    assert [(r.currency, r.base, r.rate) for r in rows] == [("EUR", "USD", Decimal("1.09"))]
    assert "EUR USD 1.09 2026-03-01" in text(admin.get("/admin/rates"))


def test_admin_forms_need_the_csrf_token(app, admin):
    app.config["WTF_CSRF_ENABLED"] = True
    r = admin.post("/admin/stages", data={"key": "x", "name": "X", "default_probability": "10"})
    assert r.status_code == 400
    assert db.session.scalar(select(Stage).where(Stage.key == "x")) is None


def test_the_designer_sets_a_kinds_own_probability_per_stage(admin, people):
    r = admin.post("/admin/kinds/new", data=design_form(**{"probability.proposal": "35"}))
    assert r.status_code == 302, text(r)
    stages = kinds.get_kind("field-sale").current_version.stages
    assert [(s["key"], s["probability"]) for s in stages] == [("lead", 10), ("proposal", 35)]
    assert 'name="probability.proposal" value="35"' in admin.get("/admin/kinds/field-sale/design").get_data(
        as_text=True)

    refused = admin.post("/admin/kinds/field-sale/design", data=design_form(**{"probability.proposal": "140"}))
    assert refused.status_code == 422
    assert "stage probability" in text(refused)
    assert kinds.get_kind("field-sale").current_version.number == 1


def test_an_admin_sets_whom_each_user_reports_to_which_makes_the_boards_teams(admin, people, client):
    rep, manager = people["rep"], people["manager"]
    page = text(admin.get("/admin/users"))
    assert "Sales rep" in page and "Sales manager" in page  # roles by their names, not their keys
    r = admin.post(f"/admin/users/{rep.id}/manager", data={"manager_id": str(manager.id)})
    assert r.status_code == 302
    assert db.session.get(User, rep.id).manager_id == manager.id
    html = admin.get("/admin/users").get_data(as_text=True)
    assert re.search(rf'aria-label="Whom Rep reports to">\s*<option value="">Nobody</option>.*?'
                     rf'<option value="{manager.id}" selected>Manager</option>', html, re.S)

    r = admin.post(f"/admin/users/{rep.id}/manager", data={"manager_id": str(rep.id)})  # oneself
    assert r.status_code == 422
    assert field_error(r, "manager_id") == "Choose another user this one reports to."
    assert db.session.get(User, rep.id).manager_id == manager.id  # nothing changed
    # a circle: the manager reporting to the rep who reports to the manager (directly, or through a third)
    r = admin.post(f"/admin/users/{manager.id}/manager", data={"manager_id": str(rep.id)})
    assert r.status_code == 422 and field_error(r, "manager_id") == "Choose another user this one reports to."
    assert "Rep already reports to this user, directly or through others." in text(r)
    assert db.session.get(User, manager.id).manager_id is None
    r = admin.post(f"/admin/users/{rep.id}/manager", data={"manager_id": ""})  # nobody
    assert r.status_code == 302 and db.session.get(User, rep.id).manager_id is None

    r = admin.post("/admin/users", data={"email": "sam@x.test", "name": "Sam", "roles": ["rep"], "timezone": "UTC",
                                         "password": "long-enough-1", "manager_id": str(manager.id)})
    assert r.status_code == 302
    assert db.session.scalar(select(User).where(User.email == "sam@x.test")).manager_id == manager.id


def test_a_rep_cannot_set_whom_anyone_reports_to(client, people):
    login(client, people["rep"])
    r = client.post(f"/admin/users/{people['rep'].id}/manager", data={"manager_id": str(people["manager"].id)})
    assert r.status_code == 403
    assert db.session.get(User, people["rep"].id).manager_id is None
