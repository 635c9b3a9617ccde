"""One error mapping at the edge: problem+json for the API, a flash message or error page for pages."""

from __future__ import annotations

import logging

from flask import Flask, flash, jsonify, redirect, render_template, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from som_flow.errors import SomFlowError
from som_flow.i18n import gettext, lazy_gettext
from som_flow.web.redirects import RETURN_TO, back

log = logging.getLogger(__name__)


# outside /api/ yet asked by machines: the operators' probes and metrics (web.observability) answer problem+json
OPERATOR_PATHS = ("/healthz", "/readyz", "/metrics")


# the HTTP errors werkzeug raises, in the request's language (its names, the API's titles, kept as the English)
HTTP_TEXTS = {
    400: (lazy_gettext("Bad Request"), lazy_gettext("The request could not be understood.")),
    401: (lazy_gettext("Unauthorized"), lazy_gettext("Log in or send a valid token.")),
    403: (lazy_gettext("Forbidden"), lazy_gettext("You may not do this.")),
    404: (lazy_gettext("Not Found"), lazy_gettext("There is nothing at this address.")),
    405: (lazy_gettext("Method Not Allowed"), lazy_gettext("This address does not take that method.")),
    413: (lazy_gettext("Request Entity Too Large"), lazy_gettext("The upload is larger than the site accepts.")),
    415: (lazy_gettext("Unsupported Media Type"), lazy_gettext("Send the body as the endpoint describes it.")),
    422: (lazy_gettext("Unprocessable Entity"), lazy_gettext("Check the fields named in the errors.")),
    429: (lazy_gettext("Too Many Requests"), lazy_gettext("Too many requests in a short time. Wait a minute.")),
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in OPERATOR_PATHS


def translated_errors(errors: dict | None) -> dict[str, list[str]]:
    """Each field's messages in the request's language where the catalog has them (marshmallow's own and the
    services' fixed sentences); a message it has not is kept as it came."""
    return {name: [gettext(str(m)) for m in msgs] for name, msgs in (errors or {}).items()}


def translated_problems(problems: dict[str, dict]) -> dict[str, dict]:
    """SomFlowError.problem() bodies (a bulk action's refusals, by id) with their titles and field messages in the
    request's language, as problem() writes a single one."""
    return {key: {**body, "title": gettext(body["title"]), "errors": translated_errors(body["errors"])}
            for key, body in problems.items()}


def problem(status: int, title: str, detail: str, errors: dict | None = None):
    """problem+json (RFC 9457); `title` and `detail` in the request's language."""
    body = {"type": "about:blank", "title": str(title), "status": status, "detail": str(detail),
            "errors": translated_errors(errors)}
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
    detail = gettext(exc.detail)
    messages = [f"{name}: {' '.join(msgs)}" for name, msgs in translated_errors(exc.errors).items()
                if not any(m in detail for m in msgs)]
    return detail + (f" ({'; '.join(messages)})" if messages else "")


def invalid_fields(errors: dict) -> str:
    return gettext("Invalid fields: %(fields)s", fields=", ".join(sorted(errors)))


def _http_texts(exc: HTTPException) -> tuple[str, str]:
    """An HTTP error's title and detail in the request's language: ours for the common codes, unless the code
    that raised it gave its own description (abort(404, "No such kind"))."""
    known = HTTP_TEXTS.get(exc.code or 0)
    if known is None:
        return exc.name, exc.description or exc.name
    own = exc.description if exc.description != type(exc).description else None
    return str(known[0]), gettext(own) if own else str(known[1])


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
        nul = gettext("Text may not contain NUL characters.")
        errors = {name.removesuffix(".0"): [nul] for name in found}
        if wants_json():
            return problem(422, gettext("Unprocessable entity"), invalid_fields(errors), errors)
        return render_template("error.html", status=422, title=gettext("Unprocessable entity"), detail=nul), 422

    @app.errorhandler(SomFlowError)
    def _domain_error(exc: SomFlowError):
        if wants_json():
            response = problem(exc.status, gettext(exc.title), gettext(exc.detail), exc.errors)
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
        return render_template("error.html", status=exc.status, title=gettext(exc.title), detail=gettext(exc.detail)), \
            exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if wants_json():
            errors = {}
            data = getattr(exc, "data", None) or {}
            if "messages" in data:
                errors = _flatten_webargs(data["messages"])
            title, detail = _http_texts(exc)
            if errors:
                detail = invalid_fields(errors)
            response = problem(exc.code or 500, title, detail, errors)
            # what the exception says about the protocol, e.g. 405's Allow (the body is ours, problem+json)
            for name, value in exc.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response
        title, detail = _http_texts(exc)
        return render_template("error.html", status=exc.code, title=title, detail=detail), exc.code

    @app.errorhandler(DataError)
    def _data_error(exc: DataError):
        # a value the database cannot hold (out-of-range number, over-long text) that a schema let through:
        # the transaction is rolled back by the unit of work; the caller gets a 422, not a 500
        from som_flow.extensions import db

        db.session.rollback()
        log.warning("database refused a value on %s %s: %s", request.method, request.path, exc.orig)
        detail = gettext("A value is out of range or too long for the database.")
        if wants_json():
            return problem(422, gettext("Unprocessable entity"), detail, {"body": [detail]})
        return render_template("error.html", status=422, title=gettext("Unprocessable entity"), detail=detail), 422

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        title, detail = gettext("Internal server error"), gettext("Something went wrong; it has been logged.")
        if wants_json():
            return problem(500, title, detail)
        return render_template("error.html", status=500, title=title, detail=detail), 500
