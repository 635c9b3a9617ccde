"""Helpers shared by the API blueprints."""

from __future__ import annotations

from flask import request

from som_flow.errors import PreconditionFailed


def paged(items, total: int, query: dict) -> dict:
    return {"items": items, "total": total, "page": query["page"], "per_page": query["per_page"]}


def if_match() -> int | None:
    """The `If-Match` version a client sent (ETag form "3" or 3); 412 on a malformed value."""
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    try:
        return int(raw.strip().strip('W/').strip('"'))
    except ValueError:
        raise PreconditionFailed("If-Match must carry the opportunity's version, e.g. \"3\".")
