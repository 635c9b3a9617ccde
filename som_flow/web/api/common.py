"""Helpers shared by the API blueprints: the blueprint class, the body readers, paging and If-Match."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import flask_smorest
from flask import Request, request
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import UnsupportedMediaType

from som_flow.errors import PreconditionFailed, StaleVersion
from som_flow.i18n import gettext

IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
            "description": "The opportunity's version as its ETag (\"3\"); a different version is a 412."}


def _has_body(req: Request) -> bool:
    return bool(req.content_length) or "chunked" in req.headers.get("Transfer-Encoding", "").lower()


def _refuse_media_type(req: Request, expected: str) -> None:
    sent = req.mimetype or "no Content-Type"
    raise UnsupportedMediaType(gettext("This endpoint takes %(expected)s, not %(sent)s.", expected=expected, sent=sent))


class JsonBodyParser(FlaskParser):
    """webargs ignores a body that is not JSON (the fields then look missing); we answer 415 naming the type."""

    def _raw_load_json(self, req: Request):
        if _has_body(req) and not is_json_request(req):
            _refuse_media_type(req, "application/json")
        return super()._raw_load_json(req)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint whose JSON bodies must be sent as JSON."""

    ARGUMENTS_PARSER = JsonBodyParser()


def require_media_type(*media_types: str) -> None:
    """415 unless the body was sent as one of `media_types` (an empty body passes, for the caller to judge)."""
    if _has_body(request) and request.mimetype not in media_types:
        _refuse_media_type(request, " or ".join(media_types))


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
        raise PreconditionFailed(gettext("If-Match must carry the opportunity's version, e.g. \"3\"."))


@contextmanager
def stale_if_match_is_412(expected: int | None) -> Iterator[None]:
    """A version the client named in `If-Match` that is not the stored one is a 412 (API.md), not the 409 a writer
    gets who named none, or named it in the body."""
    try:
        yield
    except StaleVersion as exc:
        if expected is None:
            raise
        raise PreconditionFailed(exc.detail) from exc
