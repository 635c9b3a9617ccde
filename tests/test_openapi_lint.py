"""The OpenAPI document is valid OpenAPI 3 and complete enough for a generated client: the style rules CI holds."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from som_flow import create_app
from som_flow.clock import FixedClock
from som_flow.config import TestConfig

METHODS = ("get", "post", "put", "patch", "delete")
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def spec() -> dict:
    """The document as clients fetch it, from an app that never touches its database."""
    config = {**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
              "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    response = create_app(config, clock=FixedClock()).test_client().get("/api/openapi.json")
    assert response.status_code == 200
    return response.json


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method], item.get("parameters", []) + item[method].get("parameters", [])


def resolve(spec: dict, obj: dict) -> dict:
    while "$ref" in obj:
        *_, section, name = obj["$ref"].split("/")
        obj = spec["components"][section][name]
    return obj


def test_the_document_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    validate(spec)  # raises, naming the offending part, on anything invalid


def test_every_operation_has_a_unique_operation_id_and_a_one_line_summary(spec):
    ids = [op.get("operationId") for _, _, op, _ in operations(spec)]
    assert all(ids) and len(ids) == len(set(ids)), sorted(i for i in ids if not i or ids.count(i) > 1)
    for path, method, op, _ in operations(spec):
        assert re.fullmatch(r"[a-z][A-Za-z0-9]*", op["operationId"]), op["operationId"]
        summary = op.get("summary", "")
        assert summary and "\n" not in summary and len(summary) <= 120, f"{method.upper()} {path}: {summary!r}"


def test_every_operation_declares_its_4xx_answers_as_problem_details(spec):
    for path, method, op, params in operations(spec):
        where = f"{method.upper()} {path}"
        statuses = set(op["responses"])
        if op.get("security") == []:  # the operators' probes: anyone may call them, so no 401 nor 403
            assert not {"401", "403"} & statuses, where
        else:
            assert {"401", "403"} <= statuses, where
        assert "404" in statuses or "{" not in path, f"{where}: an id in the path but no 404"
        assert "404" not in statuses or "{" in path, f"{where}: a 404 without an id in the path"
        if "requestBody" in op:
            assert {"415", "422"} <= statuses, where
        if any(p["in"] == "header" and p["name"] == "If-Match" for p in params):
            assert "412" in statuses, where
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")) or status == "default":
                assert list(resolve(spec, response)["content"]) == [PROBLEM], f"{where} {status}"
    unauthorized = resolve(spec, {"$ref": "#/components/responses/UNAUTHORIZED"})
    assert "WWW-Authenticate" in unauthorized["headers"]


def test_every_path_parameter_is_declared_and_every_declared_one_is_in_the_path(spec):
    for path, method, _, params in operations(spec):
        in_template = set(re.findall(r"\{([^}]+)\}", path))
        declared = {p["name"] for p in params if p["in"] == "path"}
        assert in_template == declared, f"{method.upper()} {path}: {in_template} vs {declared}"
        assert all(p.get("required") for p in params if p["in"] == "path")


def test_every_response_and_request_body_names_its_media_type(spec):
    for path, method, op, _ in operations(spec):
        for status, response in op["responses"].items():
            content = resolve(spec, response).get("content", {})
            if status == "204":
                assert not content
                continue
            assert content, f"{method.upper()} {path} {status} has no media type"
            assert all("schema" in media for media in content.values()), f"{method.upper()} {path} {status}"
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            assert "schema" in media, f"{method.upper()} {path} takes {media_type} without a schema"


def test_the_xml_csv_and_icalendar_bodies_are_described(spec):
    paths = spec["paths"]

    def produced(path, method="get", status="200"):
        return set(paths[f"/api/v1{path}"][method]["responses"][status]["content"])

    def taken(path, method):
        return set(paths[f"/api/v1{path}"][method]["requestBody"]["content"])

    assert taken("/kinds/{key}/bpmn", "put") == {"application/xml", "text/xml"}
    assert "422" in paths["/api/v1/kinds/{key}/bpmn"]["put"]["responses"]
    assert produced("/kinds/{key}/bpmn") == {"application/xml"}
    assert produced("/customers.csv") == produced("/opportunities.csv") == {"text/csv"}
    assert taken("/imports/customers", "post") == taken("/imports/opportunities", "post") \
        == {"text/csv", "multipart/form-data"}
    feed = paths["/api/v1/calendar/{user_id}.ics"]["get"]
    assert produced("/calendar/{user_id}.ics") == {"text/calendar"}
    assert {"in": "query", "name": "token"}.items() <= next(p for p in feed["parameters"]
                                                           if p["name"] == "token").items()
