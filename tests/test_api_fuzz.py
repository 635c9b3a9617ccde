"""schemathesis over the whole API, on seeded data: no 5xx, every response matches what the OpenAPI document says."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import pytest
import schemathesis
from flask_migrate import stamp
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from som_flow import create_app
from som_flow.clock import FixedClock
from som_flow.config import TestConfig
from som_flow.extensions import db
from som_flow.models import ROLES
from som_flow.services.catalogs import seed_defaults
from som_flow.services.kinds import install_shipped_kinds
from tests.conftest import _admin_conn
from tests.helpers import Api, make_customer, make_user, token_headers

# A few examples per operation keep both backends well under three minutes; the seed is fixed (derandomize).
EXAMPLES_PER_OPERATION = 8
# unsupported_method: a method the document does not list for a path is a 405 with `Allow`;
# response_headers_conformance: the headers a response declares (401's WWW-Authenticate) are sent as declared
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, unsupported_method]


def seed(client) -> None:
    """Ids the fuzzer can hit: users of every role, customers, deals in several stages, tasks, appointments."""
    people = {role: make_user(f"{role}@x.test", role) for role in ROLES}
    make_user("rep2@x.test", "rep")
    rep = Api(client, "rep@x.test")
    customers = [make_customer(name) for name in ("Acme Inc.", "Northwind Traders", "Globex")]
    deals = []
    for number, customer in enumerate(customers * 2):
        r = rep.post("/opportunities", {"title": f"Deal {number}", "customer_id": customer.id, "kind": "standard-sale",
                                        "amount": f"{1000 * (number + 1)}.00", "currency": "USD",
                                        "sales_rep": people["rep"].id})
        assert r.status_code == 201, r.json
        deals.append(r.json)
    for deal in deals[1:3]:
        Api(client, "manager@x.test").finish_required_tasks(deal["id"])
        assert rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"}).status_code == 200
    assert rep.post(f"/opportunities/{deals[3]['id']}/lose", {"reason": "price"}).status_code == 200
    assert rep.post(f"/opportunities/{deals[4]['id']}/hold").status_code == 200
    r = Api(client, "scheduler@x.test").post("/appointments", {
        "title": "Weekly check-in", "opportunity_id": deals[0]["id"], "attendees": [people["rep"].id],
        "start": "2026-03-03T10:00:00+00:00", "end": "2026-03-03T10:30:00+00:00", "rrule": "FREQ=WEEKLY;COUNT=4"})
    assert r.status_code == 201, r.json
    assert rep.get("/tasks").json["total"] > 0
    call = rep.post(f"/opportunities/{deals[0]['id']}/activities", {"type": "call", "text": "Wants a quote"})
    assert call.status_code == 201, call.json


def _config(url: str) -> dict:
    return {**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}, "SQLALCHEMY_DATABASE_URI": url}


def _documented_api() -> dict:
    """The OpenAPI document, read at collection time from an app that never touches its database."""
    return create_app(_config("sqlite://"), clock=FixedClock()).test_client().get("/api/openapi.json").json


def _without_default_responses(spec: dict) -> dict:
    """The document with no catch-all `default` answer, so status_code_conformance holds every answer to the
    statuses its operation declares (a 5xx is not_a_server_error's to catch)."""
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("default", None)
    return spec


def _operation_labels(spec: dict) -> set[str]:
    return {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded_app(request, tmp_path_factory):
    """One app per backend, seeded once for every operation (the fuzzer may change the data; ids stay)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'som.sqlite'}"
        drop = None
    else:
        base = request.getfixturevalue("pg_template")
        name = f"fuzz{os.getpid()}"
        with _admin_conn(base) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name} TEMPLATE som_template")
        url, drop = f"{base}/{name}", (base, name)
    app = create_app(_config(url), clock=FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)))
    with app.app_context():
        if drop is None:
            db.create_all()
            seed_defaults()
            install_shipped_kinds()
        stamp()  # create_all built the newest schema: recorded as Alembic's head, so /readyz answers 200
        seed(app.test_client())
        headers = token_headers("admin@x.test")
        db.session.remove()
    # no app context held open: each fuzzed request gets its own, with its own session, as in production
    yield request.param, app, headers
    with app.app_context():
        db.engine.dispose()
    if drop is not None:
        with _admin_conn(drop[0]) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {drop[1]} WITH (FORCE)")


DOCUMENT = _without_default_responses(_documented_api())
schema = schemathesis.openapi.from_dict(DOCUMENT)
called: dict[str, set[str]] = {}  # backend → the operations the fuzzer sent at least one request to


def test_the_fuzzer_has_a_test_for_every_documented_operation():
    generated = {result.ok().label for result in schema.get_all_operations()}
    assert generated == _operation_labels(DOCUMENT)


@schema.parametrize()
@settings(derandomize=True, database=None, deadline=None, max_examples=EXAMPLES_PER_OPERATION,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_its_documented_contract(case, seeded_app):
    backend, app, admin_headers = seeded_app
    called.setdefault(backend, set()).add(case.operation.label)
    case.call_and_validate(app=app, headers=admin_headers, checks=CHECKS)


def test_the_fuzzer_called_every_operation_on_each_backend_it_ran_on():
    """No operation silently skipped (e.g. no example could be generated for it): each one was called."""
    for backend, labels in called.items():
        assert labels == _operation_labels(DOCUMENT), (backend, _operation_labels(DOCUMENT) - labels)


def test_what_the_fuzzer_found_stays_fixed(client):
    """Regressions: ids past the INTEGER columns and absurd pages were 500s (or 405s); money was documented as a
    number; a missing parent customer was a 404."""
    make_user("admin@x.test", "admin")
    api = Api(client, "admin@x.test")
    huge = api.patch("/appointments/378018444962690586640384", json={})
    assert huge.status_code == 404 and huge.mimetype == "application/problem+json"
    assert api.get(f"/opportunities/{2**31}").status_code == 404
    # past the id range on a path that has a route for another method: werkzeug said 405
    assert api.patch(f"/customers/{2**31}", json={}).status_code == 404
    assert api.post(f"/opportunities/{2**31}/estimates", {"lines": []}).status_code == 404
    # a job's parent that does not exist is a field of the body, not the resource asked for
    orphan = api.post("/customers", {"kind": "individual", "name": "Job", "parent_id": 2**31 - 2})
    assert orphan.status_code == 422 and "parent_id" in orphan.json["errors"], orphan.json
    far = api.get("/reminders", query_string={"page": 372056553613294656})
    assert far.status_code == 422 and "page" in far.json["errors"], far.json
    spec = client.get("/api/openapi.json").json
    assert spec["components"]["schemas"]["Opportunity"]["properties"]["amount"]["type"] == "string"
    assert "application/problem+json" in spec["components"]["responses"]["DEFAULT_ERROR"]["content"]


def test_the_docs_page_lists_every_operation_with_its_roles_and_loads_nothing_from_elsewhere(client):
    spec = client.get("/api/openapi.json").json
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for path, item in spec["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                assert f'id="{method.upper()}-{path}"' in html, f"{method.upper()} {path} missing"
    assert 'href="/api/openapi.json"' in html
    post_users = html.split('id="POST-/api/v1/users"', 1)[1].split('class="op', 1)[0]
    assert "Roles: admin" in post_users and "UserCreate" in post_users
    assert "Roles: admin, manager, csr, rep, scheduler" in html
    # every asset local: no scripts, stylesheets or images from another origin
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
