"""Web layer: the JSON API and the pages, over the services."""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    from som_flow.web.api import register_api
    from som_flow.web.auth import register_auth
    from som_flow.web.errors import register_error_handlers
    from som_flow.web.ui import register_ui

    register_auth(app)
    register_api(app)
    register_ui(app)
    register_error_handlers(app)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'",
        )
        return response
