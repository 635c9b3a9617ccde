"""What the OpenAPI document says beyond what flask-smorest derives: an operationId for every operation and the
4xx answers each can give, so a generated client covers every operation and every error it will meet."""

from __future__ import annotations

import http

from apispec import BasePlugin

METHODS = ("get", "post", "put", "patch", "delete")


def text_schema(description: str) -> dict:
    """The schema of a text body (CSV, XML, iCalendar) in `@blp.response(200, text_schema(...), content_type=...)`."""
    return {"type": "string", "description": description}


def operation_id(endpoint: str) -> str:
    """`opportunities.create_opportunity` → `createOpportunity`: view names are unique across the API."""
    first, *rest = endpoint.rsplit(".", 1)[-1].split("_")
    return first + "".join(word.capitalize() for word in rest)


def error_statuses(path: str, method: str, operation: dict) -> list[int]:
    """The 4xx statuses this operation can answer, from what it takes (the web edge's rules, in one place)."""
    # every operation needs a caller (bearer, session or feed token) with a role, but the public few
    # (`security: []`: the operators' probes) that anyone may call
    statuses = [] if operation.get("security") == [] else [401, 403]
    if "{" in path:
        statuses.append(404)  # an id in the path that names nothing
    if method != "get":
        statuses.append(409)  # the process refuses it, or another writer got there first (unit_of_work)
    body = operation.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        statuses.append(400)  # malformed JSON
    if any(p.get("in") == "header" and p.get("name") == "If-Match" for p in operation.get("parameters", [])):
        statuses.append(412)
    if body:
        statuses += [415, 422]  # a body in another media type; a body that does not hold what it must
    # flask-smorest itself declares the 422 of every operation that takes query arguments
    return statuses


class ProtocolPlugin(BasePlugin):
    """An apispec plugin run on each path flask-smorest documents (after the marshmallow plugin)."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        endpoint = kwargs["rule"].endpoint
        for method, operation in (operations or {}).items():
            if method not in METHODS:
                continue
            operation.setdefault("operationId", operation_id(endpoint))
            responses = operation.setdefault("responses", {})
            for status in error_statuses(path, method, operation):
                if status not in responses and str(status) not in responses:
                    # the name of a response component ProblemApi registers: problem+json, resolved to a $ref
                    responses[str(status)] = http.HTTPStatus(status).name
