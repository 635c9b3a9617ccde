"""One error hierarchy for the whole code base; each error knows its HTTP status."""

from __future__ import annotations


class SomFlowError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class NotFound(SomFlowError):
    status = 404
    title = "Not found"


class Forbidden(SomFlowError):
    status = 403
    title = "Forbidden"


class Unauthorized(SomFlowError):
    status = 401
    title = "Unauthorized"


class Conflict(SomFlowError):
    """The process or another writer does not allow it (illegal move, closed deal, stale version)."""

    status = 409
    title = "Conflict"


class StaleVersion(Conflict):
    title = "The opportunity has changed"


class PreconditionFailed(SomFlowError):
    status = 412
    title = "Precondition failed"


class ValidationFailed(SomFlowError):
    """Invalid or missing fields; `errors` names them."""

    status = 422
    title = "Unprocessable entity"


class InvalidProcess(ValidationFailed):
    """A BPMN document that cannot be used; `errors` is keyed by element id."""

    title = "Invalid BPMN process"
