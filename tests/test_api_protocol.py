"""HTTP as clients expect it: 401 with a Bearer challenge, 405 with Allow, 415 for a body in the wrong media type."""

from __future__ import annotations

import re

import pytest

from tests.helpers import Api, make_customer, make_user, token_headers

PROBLEM = "application/problem+json"


@pytest.fixture
def admin(app, client):
    make_user("admin@x.test", "admin")
    return Api(client, "admin@x.test")


def test_no_token_is_a_401_with_a_bearer_challenge(client):
    r = client.get("/api/v1/opportunities")
    assert r.status_code == 401 and r.mimetype == PROBLEM
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="som_flow"'


def test_a_wrong_token_is_a_401_that_says_the_token_is_invalid(client):
    r = client.get("/api/v1/users/me", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.mimetype == PROBLEM
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="som_flow", error="invalid_token"'
    feed = client.get("/api/v1/calendar/1.ics?token=not-a-token")
    assert feed.status_code == 401
    assert feed.headers["WWW-Authenticate"] == 'Bearer realm="som_flow", error="invalid_token"'


def test_pages_still_send_the_anonymous_to_the_login_page(client):
    r = client.get("/opportunities")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert "WWW-Authenticate" not in r.headers


def test_a_wrong_method_is_a_405_listing_the_allowed_methods(admin, client):
    r = client.delete("/api/v1/opportunities", headers=admin.headers)
    assert r.status_code == 405 and r.mimetype == PROBLEM
    allowed = {m.strip() for m in r.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed and "DELETE" not in allowed
    assert r.json["status"] == 405


@pytest.mark.parametrize("content_type, body", [
    ("text/plain", '{"title": "Roof", "customer_id": 1, "kind": "standard-sale"}'),
    ("application/x-www-form-urlencoded", "title=Roof&customer_id=1&kind=standard-sale"),
])
def test_a_json_endpoint_refuses_another_media_type_with_a_415_and_writes_nothing(admin, client, content_type, body):
    make_customer()
    before = admin.get("/opportunities").json["total"]
    r = client.post("/api/v1/opportunities", data=body, headers={**admin.headers, "Content-Type": content_type})
    assert r.status_code == 415 and r.mimetype == PROBLEM
    assert "application/json" in r.json["detail"] and content_type in r.json["detail"]
    assert admin.get("/opportunities").json["total"] == before
    # the same body as JSON is fine (a charset parameter included)
    ok = client.post("/api/v1/opportunities", data=body if content_type == "text/plain" else "{}",
                     headers={**admin.headers, "Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code in (201, 422) and ok.status_code != 415


def test_the_bpmn_upload_takes_xml_in_either_media_type_and_nothing_else(admin, client):
    xml = admin.get("/kinds/standard-sale/bpmn").data
    refused = client.put("/api/v1/kinds/copy/bpmn", data=xml, headers={**admin.headers, "Content-Type": "text/plain"})
    assert refused.status_code == 415 and refused.mimetype == PROBLEM
    assert "application/xml" in refused.json["detail"] and "text/xml" in refused.json["detail"]
    assert admin.get("/kinds/copy").status_code == 404
    taken = client.put("/api/v1/kinds/copy/bpmn", data=xml, headers={**admin.headers, "Content-Type": "text/xml"})
    assert taken.status_code == 201, taken.json


def test_a_csv_import_sent_as_json_is_a_415_naming_csv(admin, client):
    r = client.post("/api/v1/imports/customers", json={"name": "Acme"}, headers=admin.headers)
    assert r.status_code == 415 and r.mimetype == PROBLEM
    assert "text/csv" in r.json["detail"]


def test_every_operation_that_takes_a_body_refuses_one_in_an_undeclared_media_type(admin, client):
    """Driven by the OpenAPI document, so what it declares and what the server takes cannot drift apart."""
    spec = client.get("/api/openapi.json").json
    checked = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "requestBody" not in op:
                continue
            assert "text/plain" not in op["requestBody"]["content"]
            url = re.sub(r"\{[^}]+\}", "1", path)
            r = client.open(url, method=method.upper(), data="hello", headers={**admin.headers,
                                                                               "Content-Type": "text/plain"})
            assert r.status_code == 415, f"{method.upper()} {path}: {r.status_code} {r.data[:200]}"
            checked += 1
    assert checked > 30


def test_an_unauthorised_caller_hears_401_or_403_before_any_415(app, client):
    make_user("rep@x.test", "rep")
    anonymous = client.post("/api/v1/stages", data="x", headers={"Content-Type": "text/plain"})
    assert anonymous.status_code == 401
    rep = client.post("/api/v1/stages", data="x", headers={**token_headers("rep@x.test"),
                                                           "Content-Type": "text/plain"})
    assert rep.status_code == 403
