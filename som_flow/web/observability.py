"""What operators and their tools ask of a running process: /healthz (alive), /readyz (database reachable, schema
current), /metrics (Prometheus), and a request id on every answer and every log line of its request.

The three endpoints sit outside /api/v1 (where probes and scrapers look for them), are described in the OpenAPI
document with the API, set no cookie and are never rate limited.
"""

from __future__ import annotations

import functools
import hmac
import logging
import time

from flask import Flask, Response, current_app, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from som_flow.errors import Forbidden
from som_flow.i18n import gettext
from som_flow.logs import REQUEST_ID_HEADER, REQUEST_ID_KEY, request_id_for
from som_flow.services.health import check_readiness
from som_flow.web.api.openapi import text_schema
from som_flow.web.auth import api_user
from som_flow.web.errors import problem
from som_flow.web.metrics import exposition, install_metrics, observe_request

blp = Blueprint("operations", __name__, description="For operators: liveness, readiness and metrics (outside /api/v1)")
access_log = logging.getLogger("som_flow.access")
_STARTED = "som.started"  # the WSGI environ key: when the request began (perf_counter)
# the probes and the scraper call every few seconds on every host: their lines would drown the rest
QUIET_ENDPOINTS = {"operations.healthz", "operations.readyz", "operations.metrics", "static"}
PUBLIC = {"security": []}  # OpenAPI: no credentials needed


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "Always `ok` when the process answers"})


class ReadinessSchema(Schema):
    status = fields.String(required=True, metadata={"description": "`ready`"})
    migrations = fields.List(fields.String(), required=True,
                             metadata={"description": "The database's Alembic revisions (this code's newest)"})


@blp.route("/healthz")
@blp.response(200, HealthSchema)
@blp.doc(**PUBLIC)
def healthz():
    """Liveness: the process answers (the database is not asked)."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.response(200, ReadinessSchema)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE",
                  description="Not ready: `errors` names `database` (unreachable) or `migrations` (not current)")
@blp.doc(**PUBLIC)
def readyz():
    """Readiness: the database is reachable and at the migrations this code ships; else a 503 naming which."""
    readiness = check_readiness()
    if not readiness.ready:
        detail = " ".join(message for messages in readiness.problems.values() for message in messages)
        return problem(503, "Service Unavailable", detail, readiness.problems)
    return {"status": "ready", "migrations": list(readiness.revisions)}


def _admin_or_metrics_token(view):
    """An admin (bearer token or page session), or the scraper sending SOM_FLOW_METRICS_TOKEN as its bearer token.
    Raises Unauthorized (401) or Forbidden (403), answered as problem+json (web.errors.OPERATOR_PATHS)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        expected = current_app.config.get("METRICS_TOKEN")
        header = request.headers.get("Authorization", "")
        sent = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not (expected and sent and hmac.compare_digest(sent.encode(), expected.encode())):
            if not api_user().has_role("admin"):
                raise Forbidden(gettext("The metrics are for admins and for the scraper's token "
                                        "(SOM_FLOW_METRICS_TOKEN)."))
        return view(*args, **kwargs)

    wrapper.som_roles = ("admin",)  # read by the role-matrix test (the metrics token is not a user)
    return wrapper


@blp.route("/metrics")
@blp.response(200, text_schema("Prometheus text exposition format"), content_type="text/plain")
@_admin_or_metrics_token
def metrics():
    """Prometheus metrics: request and stage-move latency, reminder deliveries, failures, backlog and lag."""
    return exposition()


# ---- the request id and the access log --------------------------------------------------------------------------

def _begin() -> None:
    request.environ[_STARTED] = time.perf_counter()
    request.environ[REQUEST_ID_KEY] = request_id_for(request.headers.get(REQUEST_ID_HEADER))


def _finish(response: Response) -> Response:
    started = request.environ.get(_STARTED)
    if started is None:  # a hook registered before ours answered first: nothing to time
        return response
    seconds = time.perf_counter() - started
    endpoint = request.url_rule.endpoint if request.url_rule is not None else None
    response.headers[REQUEST_ID_HEADER] = request.environ[REQUEST_ID_KEY]
    observe_request(endpoint, request.method, response.status_code, seconds)
    # the path without its query (a calendar feed's ?token= must not reach the logs); a %0A in it must not start
    # a forged line of a text log (the JSON field is escaped by JSON itself)
    shown = request.path.replace("\r", "\\r").replace("\n", "\\n")
    access_log.log(logging.DEBUG if endpoint in QUIET_ENDPOINTS else logging.INFO,
                   "%s %s %s %.1f ms", request.method, shown, response.status_code, seconds * 1000,
                   extra={"method": request.method, "path": request.path, "status": response.status_code,
                          "endpoint": endpoint, "duration_ms": round(seconds * 1000, 2)})
    return response


def install_request_hooks(app: Flask) -> None:
    """Before every other hook (call this first): each request gets its id and its clock, each answer the
    X-Request-ID header, a latency observation and an access-log line."""
    app.before_request(_begin)
    app.after_request(_finish)  # after_request runs in reverse: ours last, so the others' time counts
    install_metrics()


def register_operations(app: Flask) -> None:
    """The endpoints, in the API's OpenAPI document; exempt from every rate limit."""
    app.extensions["som_api"].register_blueprint(blp)
    for limiter in app.extensions.get("limiter", ()):
        limiter.exempt(blp)
