"""POST /api/v1/kinds/validate: an admin's BPMN draft is checked as an upload would be (services.kinds.check_draft),
answering what is wrong by element, the stages it declares and what an upload would add, and storing nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from som_flow.extensions import db
from som_flow.models import KindVersion, OpportunityKind
from som_flow.processes import shipped_bpmn
from tests.helpers import Api, make_user

GATE = '<spiffworkflow:property name="som.gate" value="true"/>'


@pytest.fixture
def admin(client):
    make_user("admin@x.test", "admin")
    return Api(client, "admin@x.test")


def _stored() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(OpportunityKind)),
            db.session.scalar(select(func.count()).select_from(KindVersion)))


def _check(api: Api, xml: str | bytes, query: str = "", content_type: str = "application/xml"):
    return api.client.post(f"/api/v1/kinds/validate{query}", data=xml,
                           headers={**api.headers, "Content-Type": content_type})


def test_a_valid_draft_is_valid_with_its_stages_in_order_and_nothing_is_stored(admin):
    before = _stored()
    r = _check(admin, shipped_bpmn("standard-sale"), "?type=standard")
    assert r.status_code == 200, r.json
    assert r.json["valid"] is True
    assert r.json["errors"] == {}
    assert [s["key"] for s in r.json["stages"]] == ["lead", "qualification", "proposal", "negotiation"]
    assert r.json["stages"][0]["name"] == "Lead"
    assert isinstance(r.json["added"], list)
    assert _stored() == before


def test_a_stage_without_its_gate_is_refused_naming_the_stage_element_and_nothing_is_stored(admin):
    xml = shipped_bpmn("standard-sale")
    assert xml.count(GATE) >= 2
    before = _stored()
    r = _check(admin, xml.replace(GATE, "", 1))
    assert r.status_code == 200, r.json
    assert r.json["valid"] is False
    assert list(r.json["errors"]) == ["stage_lead"]
    assert "gate" in r.json["errors"]["stage_lead"][0]
    assert _stored() == before


def test_a_draft_that_does_not_fit_the_kind_type_names_the_type(admin):
    r = _check(admin, shipped_bpmn("stageless"), "?type=standard")
    assert r.status_code == 200
    assert r.json["valid"] is False
    assert "stageless" in r.json["errors"]["type"][0]
    # without a type the same draft is fine: only the process itself is checked
    assert _check(admin, shipped_bpmn("stageless")).json["valid"] is True


@pytest.mark.parametrize("body", [b"", b"<bpmn:definitions", b"not xml at all", "\u00e9".encode("latin-1")])
def test_a_broken_or_empty_draft_is_an_answer_naming_the_document_never_a_500(admin, body):
    r = _check(admin, body)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert r.json["valid"] is False
    assert r.json["errors"] and all(messages for messages in r.json["errors"].values())
    assert r.json["stages"] == []


def test_an_unknown_kind_type_is_a_422_naming_type(admin):
    r = _check(admin, shipped_bpmn("standard-sale"), "?type=huge")
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert "type" in str(r.json["errors"])


def test_a_json_body_is_a_415_naming_the_xml_media_types(admin):
    r = _check(admin, '{"bpmn": "<x/>"}', content_type="application/json")
    assert r.status_code == 415
    assert "application/xml" in r.json["detail"]


@pytest.mark.parametrize("role", ["rep", "csr", "manager", "scheduler"])
def test_only_admins_check_drafts(client, role):
    make_user(f"{role}@x.test", role)
    r = _check(Api(client, f"{role}@x.test"), shipped_bpmn("standard-sale"))
    assert r.status_code == 403


def test_without_a_token_the_check_is_a_401(client):
    r = client.post("/api/v1/kinds/validate", data=shipped_bpmn("standard-sale"),
                    headers={"Content-Type": "application/xml"})
    assert r.status_code == 401


def test_the_check_is_in_the_openapi_document(client):
    operation = client.get("/api/openapi.json").json["paths"]["/api/v1/kinds/validate"]["post"]
    assert operation["operationId"] == "validateDraft"
    assert set(operation["requestBody"]["content"]) == {"application/xml", "text/xml"}
    assert {"200", "401", "403", "415", "422"} <= set(operation["responses"])
