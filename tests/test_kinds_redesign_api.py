"""POST /kinds creates a kind and never overwrites one; PUT /kinds/{key} is how a client redesigns a kind."""

from __future__ import annotations

import pytest

from tests.helpers import Api, make_customer, make_user

DESIGN = {"key": "field-sale", "name": "Field sale", "type": "custom", "stages": ["lead", "qualification", "proposal"],
          "stage_tasks": {"qualification": [{"title": "Qualify budget", "role": "rep"}]}}
REDESIGN = {**DESIGN, "name": "Field sale (short)", "stages": ["lead", "proposal"], "stage_tasks": {}}


@pytest.fixture
def admin(app, client):
    make_user("admin@x.test", "admin")
    make_user("rep@x.test", "rep")
    make_user("manager@x.test", "manager")
    return Api(client, "admin@x.test")


def put_design(api: Api, key: str, body: dict):
    """PUT a JSON design (Api.put sends BPMN XML)."""
    return api.client.put(f"/api/v1/kinds/{key}", json=body, headers=api.headers)


def _designed(api: Api) -> dict:
    r = api.post("/kinds", DESIGN)
    assert r.status_code == 201, r.json
    return r.json


def _stage_keys(kind: dict) -> list[str]:
    return [s["key"] for s in kind["stages"]]


def test_posting_a_key_already_taken_is_refused_naming_key_and_the_kind_is_left_as_it_was(admin):
    before = _designed(admin)
    r = admin.post("/kinds", REDESIGN)
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert r.json["errors"] == {"key": ["Already taken."]}
    assert "field-sale" in r.json["detail"]
    after = admin.get("/kinds/field-sale").json
    assert after == before
    assert after["current_version"] == 1 and [v["number"] for v in after["versions"]] == [1]
    assert _stage_keys(after) == ["lead", "qualification", "proposal"] and after["name"] == "Field sale"
    assert b"Qualify budget" in admin.get("/kinds/field-sale/bpmn").data


def test_posting_a_shipped_kinds_key_does_not_overwrite_it(admin):
    before = admin.get("/kinds/standard-sale").json
    r = admin.post("/kinds", {"key": "standard-sale", "name": "Mine now", "type": "standard", "stages": ["lead"]})
    assert r.status_code == 422 and list(r.json["errors"]) == ["key"], r.json
    assert admin.get("/kinds/standard-sale").json == before


def test_a_taken_key_is_told_in_norwegian_as_the_other_catalogs_tell_it(admin):
    _designed(admin)
    norwegian = {**admin.headers, "Accept-Language": "nb"}
    r = admin.client.post("/api/v1/kinds", json=DESIGN, headers=norwegian)
    assert r.status_code == 422 and r.json["errors"] == {"key": ["Allerede i bruk."]}
    stage = admin.client.post("/api/v1/stages", json={"key": "lead", "name": "Lead", "default_probability": 10},
                              headers=norwegian)
    assert stage.status_code == 422 and stage.json["errors"] == r.json["errors"]


def test_an_admin_redesigns_a_kind_with_put_and_running_deals_keep_their_version(admin, client):
    _designed(admin)
    manager = Api(client, "manager@x.test")
    old = manager.post("/opportunities", {"title": "Old deal", "customer_id": make_customer().id, "kind": "field-sale"})
    assert old.status_code == 201, old.json

    r = put_design(admin, "field-sale", REDESIGN)
    assert r.status_code == 200, r.json
    assert r.json["current_version"] == 2 and [v["number"] for v in r.json["versions"]] == [1, 2]
    assert _stage_keys(r.json) == ["lead", "proposal"] and r.json["name"] == "Field sale (short)"
    assert admin.get("/kinds/field-sale").json == r.json
    assert b"Qualify budget" not in admin.get("/kinds/field-sale/bpmn").data
    assert b"Qualify budget" in admin.get("/kinds/field-sale/bpmn?version=1").data
    assert manager.get(f"/opportunities/{old.json['id']}").json["kind_version"] == 1
    new = manager.post("/opportunities", {"title": "New deal", "customer_id": make_customer().id, "kind": "field-sale"})
    assert new.json["kind_version"] == 2


def test_putting_the_same_design_again_keeps_the_version(admin):
    _designed(admin)
    r = put_design(admin, "field-sale", DESIGN)
    assert r.status_code == 200, r.json
    assert r.json["current_version"] == 1 and [v["number"] for v in r.json["versions"]] == [1]


def test_putting_an_unknown_kind_is_a_404_and_creates_nothing(admin):
    r = put_design(admin, "no-such-kind", {**DESIGN, "key": "no-such-kind"})
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert admin.get("/kinds/no-such-kind").status_code == 404


def test_the_body_key_must_be_the_paths_and_nothing_is_stored_otherwise(admin):
    before = _designed(admin)
    other = put_design(admin, "field-sale", {**REDESIGN, "key": "standard-sale"})
    assert other.status_code == 422 and list(other.json["errors"]) == ["key"], other.json
    missing = put_design(admin, "field-sale", {k: v for k, v in REDESIGN.items() if k != "key"})
    assert missing.status_code == 422 and "key" in missing.json["errors"], missing.json
    assert admin.get("/kinds/field-sale").json == before
    assert admin.get("/kinds/standard-sale").json["current_version"] == 1


def test_a_redesign_keeps_the_kinds_type(admin):
    before = _designed(admin)
    r = put_design(admin, "field-sale", {**REDESIGN, "type": "standard"})
    assert r.status_code == 422 and "type" in r.json["errors"], r.json
    assert admin.get("/kinds/field-sale").json == before


def test_only_admins_redesign_a_kind(admin, client):
    before = _designed(admin)
    rep = Api(client, "rep@x.test")
    assert put_design(rep, "field-sale", REDESIGN).status_code == 403
    assert client.put("/api/v1/kinds/field-sale", json=REDESIGN).status_code == 401
    assert admin.get("/kinds/field-sale").json == before


def test_the_openapi_document_describes_the_redesign(client):
    spec = client.get("/api/openapi.json").json
    put = spec["paths"]["/api/v1/kinds/{key}"]["put"]
    assert put["operationId"] == "redesignKind"
    assert put["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/KindCreate"}
    assert put["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Kind"}
    assert {"401", "403", "404", "422"} <= set(put["responses"])
