"""One error mapping at the edge: problem+json for the API, a flash message or error page for pages."""

from __future__ import annotations

import logging

from flask import Flask, flash, jsonify, redirect, render_template, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from som_flow.errors import SomFlowError
from som_flow.web.redirects import RETURN_TO, back

log = logging.getLogger(__name__)


# outside /api/ yet asked by machines: the operators' probes and metrics (web.observability) answer problem+json
OPERATOR_PATHS = ("/healthz", "/readyz", "/metrics")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in OPERATOR_PATHS


def problem(status: int, title: str, detail: str, errors: dict | None = None):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "errors": errors or {}}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def bearer_challenge() -> str:
    """RFC 6750's WWW-Authenticate for a 401: invalid_token when a token was sent (header or feed `?token=`)."""
    sent = request.headers.get("Authorization", "").lower().startswith("bearer ") or "token" in request.args
    return 'Bearer realm="som_flow"' + (', error="invalid_token"' if sent else "")


def flatten_messages(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as one dotted name per field ('stage_tasks.lead.value.0.title')."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, sub in messages.items():
            for name, msgs in flatten_messages(sub, f"{prefix}.{key}" if prefix else str(key)).items():
                flat.setdefault(name, []).extend(msgs)
    elif isinstance(messages, list | tuple):
        for item in messages:
            if isinstance(item, dict | list | tuple):
                for name, msgs in flatten_messages(item, prefix).items():
                    flat.setdefault(name, []).extend(msgs)
            else:
                flat.setdefault(prefix or "_schema", []).append(str(item))
    else:
        flat.setdefault(prefix or "_schema", []).append(str(messages))
    return flat


def _flatten_webargs(messages: dict) -> dict[str, list[str]]:
    """webargs nests messages by location first ({'json': {'ids': {0: [...]}}}); clients want one dotted path
    per field, e.g. 'ids.0' (a location's own list of messages keeps the location's name)."""
    flat: dict[str, list[str]] = {}
    for location, fields in messages.items():
        for name, msgs in flatten_messages(fields, "" if isinstance(fields, dict) else str(location)).items():
            flat.setdefault(name, []).extend(msgs)
    return flat


def _nul_fields(value, path: str = "") -> list[str]:
    """Dotted paths of strings holding a NUL character (PostgreSQL text cannot store one)."""
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nul_fields(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nul_fields(v, f"{path}.{i}" if path else str(i))]
    return []


def _refusal(exc: SomFlowError) -> str:
    """The refusal in plain words, with the fields' messages unless the sentence already gives them."""
    messages = [f"{name}: {' '.join(msgs)}" for name, msgs in (exc.errors or {}).items()
                if not any(m in exc.detail for m in msgs)]
    return exc.detail + (f" ({'; '.join(messages)})" if messages else "")


def register_error_handlers(app: Flask) -> None:
    @app.before_request
    def _refuse_nul_characters():
        """One rule for every input: no NUL in text. Refused before any view, naming the field, so no
        backend-specific database error can surface as a 500 or write half an action."""
        found = _nul_fields(request.args.to_dict(flat=False))
        if request.mimetype == "application/json":
            found += _nul_fields(request.get_json(silent=True))
        elif request.form:
            found += _nul_fields(request.form.to_dict(flat=False))
        if not found:
            return None
        errors = {name.removesuffix(".0"): ["Text may not contain NUL characters."] for name in found}
        if wants_json():
            return problem(422, "Unprocessable entity", "Invalid fields: " + ", ".join(sorted(errors)), errors)
        return render_template("error.html", status=422, title="Unprocessable entity",
                               detail="Text may not contain NUL characters."), 422

    @app.errorhandler(SomFlowError)
    def _domain_error(exc: SomFlowError):
        if wants_json():
            response = problem(exc.status, exc.title, exc.detail, exc.errors)
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = bearer_challenge()
            return response
        if exc.status in (401,):
            return redirect("/login")
        knows_the_way_back = bool(request.form.get("next")) or RETURN_TO in request.environ
        if request.method == "POST" and (exc.status in (409, 412, 422, 400) or knows_the_way_back):
            # the one place a page's refused action is told: flashed, and back to the form's page
            flash(_refusal(exc), "error")
            return redirect(back())
        return render_template("error.html", status=exc.status, title=exc.title, detail=exc.detail), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if wants_json():
            errors = {}
            data = getattr(exc, "data", None) or {}
            if "messages" in data:
                errors = _flatten_webargs(data["messages"])
            detail = exc.description or exc.name
            if errors:
                detail = "Invalid fields: " + ", ".join(sorted(errors))
            response = problem(exc.code or 500, exc.name, detail, errors)
            # what the exception says about the protocol, e.g. 405's Allow (the body is ours, problem+json)
            for name, value in exc.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response
        return render_template("error.html", status=exc.code, title=exc.name, detail=exc.description), exc.code

    @app.errorhandler(DataError)
    def _data_error(exc: DataError):
        # a value the database cannot hold (out-of-range number, over-long text) that a schema let through:
        # the transaction is rolled back by the unit of work; the caller gets a 422, not a 500
        from som_flow.extensions import db

        db.session.rollback()
        log.warning("database refused a value on %s %s: %s", request.method, request.path, exc.orig)
        detail = "A value is out of range or too long for the database."
        if wants_json():
            return problem(422, "Unprocessable entity", detail, {"body": [detail]})
        return render_template("error.html", status=422, title="Unprocessable entity", detail=detail), 422

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        if wants_json():
            return problem(500, "Internal server error", "Something went wrong; it has been logged.")
        return render_template("error.html", status=500, title="Internal server error",
                               detail="Something went wrong; it has been logged."), 500
