"""One error hierarchy for the whole code base; each error knows its HTTP status.

The titles are English here (the engine raises these and knows no Flask); the web edge writes them in the
request's language (web/errors.py: gettext(exc.title)), so each is marked for the catalog with N_.
"""

from __future__ import annotations


def N_(text: str) -> str:  # gettext's name for "extract now, translate where shown" (as som_flow.i18n.N_)
    return text


class SomFlowError(Exception):
    status = 400
    title = N_("Bad request")

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}

    def problem(self) -> dict:
        """The error as a problem+json body (RFC 9457), for an answer that holds several (a bulk action's refusals);
        its title in English, as the edge writes it in the request's language (web/errors.py)."""
        return {"type": "about:blank", "title": self.title, "status": self.status, "detail": self.detail,
                "errors": self.errors}


class NotFound(SomFlowError):
    status = 404
    title = N_("Not found")


class Forbidden(SomFlowError):
    status = 403
    title = N_("Forbidden")


class Unauthorized(SomFlowError):
    status = 401
    title = N_("Unauthorized")


class Conflict(SomFlowError):
    """The process or another writer does not allow it (illegal move, closed deal, stale version)."""

    status = 409
    title = N_("Conflict")


class StaleVersion(Conflict):
    title = N_("The opportunity has changed")


class PreconditionFailed(SomFlowError):
    status = 412
    title = N_("Precondition failed")


class ValidationFailed(SomFlowError):
    """Invalid or missing fields; `errors` names them."""

    status = 422
    title = N_("Unprocessable entity")


class InvalidProcess(ValidationFailed):
    """A BPMN document that cannot be used; `errors` is keyed by element id."""

    title = N_("Invalid BPMN process")
