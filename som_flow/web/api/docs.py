"""/api/docs: the OpenAPI document as a plain server-rendered page (no CDN, no script), with each operation's roles."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, render_template

bp = Blueprint("api_docs", __name__)
METHODS = ("get", "post", "put", "patch", "delete")


def _roles(path: str, method: str) -> tuple[str, ...] | None:
    """The roles the view accepts (what `roles_required` recorded), found by matching a concrete URL."""
    adapter = current_app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(re.sub(r"\{[^}]+\}", "1", path), method=method.upper())
    except Exception:  # noqa: BLE001 - a path the router cannot match has no recorded roles
        return None
    return getattr(current_app.view_functions[endpoint], "som_roles", None)


def operations(spec: dict) -> list[dict]:
    """One row per path × method: summary, parameters, request body schema, responses, roles."""
    rows = []
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])  # path-level, e.g. the id in the URL
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            body = op.get("requestBody", {}).get("content", {})
            params = shared + op.get("parameters", [])
            rows.append({
                "path": path, "method": method.upper(), "summary": op.get("summary") or op.get("description") or "",
                "tag": (op.get("tags") or ["api"])[0],
                "parameters": [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                                "type": p.get("schema", {}).get("type", "")} for p in params],
                "body": [f"{ctype}: {_schema_name(c.get('schema', {}))}" for ctype, c in body.items()],
                "responses": sorted(op.get("responses", {})),
                "roles": _roles(path, method),
            })
    return rows


def _schema_name(schema: dict) -> str:
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1] or schema.get("type", "")


@bp.route("/api/docs")
def docs():
    spec = current_app.extensions["som_api"].spec.to_dict()
    return render_template("api_docs.html", spec=spec, operations=operations(spec))
