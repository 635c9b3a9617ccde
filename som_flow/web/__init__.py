"""Web layer: the JSON API and the pages, over the services."""

from __future__ import annotations

from flask import Flask
from flask_talisman import Talisman

# our pages load scripts only from /assets (no inline script); inline styles and data: images remain
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "style-src": "'self' 'unsafe-inline'",
    "script-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def register_web(app: Flask) -> None:
    from som_flow.web.api import register_api
    from som_flow.web.auth import register_auth
    from som_flow.web.errors import register_error_handlers
    from som_flow.web.formatting import register_formatting
    from som_flow.web.i18n import register_i18n
    from som_flow.web.observability import install_request_hooks, register_operations
    from som_flow.web.ui import register_ui

    install_request_hooks(app)  # first: the request id and the clock start before any other hook
    register_i18n(app)  # the language each request is answered in, before anything writes a text
    register_auth(app)
    register_api(app)
    register_ui(app)
    register_formatting(app)  # the pages' money, durations and labels
    register_operations(app)  # after the API (its OpenAPI document) and the pages (their rate limiter)
    register_error_handlers(app)

    https = app.config["HTTPS"]
    if https:
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    # HSTS and Secure cookies only when told the site is served over HTTPS; no redirect to https here:
    # TLS ends at a proxy in front of waitress, which owns that redirect (a second one here would loop
    # behind a proxy that does not send X-Forwarded-Proto)
    Talisman(app, force_https=False, strict_transport_security=https, session_cookie_secure=https,
             frame_options="DENY", referrer_policy="same-origin",
             content_security_policy=CONTENT_SECURITY_POLICY)
