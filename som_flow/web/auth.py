"""Who is asking: bearer tokens for the API, Flask-Login sessions for pages; the role checks."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Flask, g, request, session
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf

from som_flow.errors import Forbidden, Unauthorized
from som_flow.extensions import login_manager
from som_flow.i18n import gettext
from som_flow.models import User
from som_flow.services.users import user_for_session, user_for_token

# the page session's secret in the (signed) Flask session; its hash is a user_session row while it lasts
PAGE_SESSION_FIELD = "som_session"


def register_auth(app: Flask) -> None:
    login_manager.login_view = "ui.login"

    @login_manager.user_loader
    def _load(user_id: str) -> User | None:
        return user_for_session(int(user_id), session.get(PAGE_SESSION_FIELD))

    @app.before_request
    def _check_the_session_afresh():
        # Flask-Login caches the user on `g`, which outlives a request when one app context spans several
        # (tests, embedded use): a logout elsewhere or a password change must count from the next request
        g.pop("_login_user", None)


def api_user() -> User:
    """The API caller: a bearer token, or a logged-in page session that sends its CSRF token."""
    # kept on the request, not `g`: `g` lives as long as the app context, which may span requests
    if "som.user" in request.environ:
        return request.environ["som.user"]
    header = request.headers.get("Authorization", "")
    user = None
    if header.lower().startswith("bearer "):
        user = user_for_token(header[7:].strip())
        if user is None:
            raise Unauthorized(gettext("The bearer token is not valid."))
    elif current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            try:
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except CSRFError:
                raise Forbidden(gettext("Missing or wrong CSRF token."))
            except Exception:  # noqa: BLE001 - wtforms raises ValidationError
                raise Forbidden(gettext("Missing or wrong CSRF token."))
        user = current_user._get_current_object()
    if user is None:
        raise Unauthorized(gettext("Send 'Authorization: Bearer <token>'."))
    request.environ["som.user"] = user
    return user


def roles_required(*roles: str) -> Callable:
    """Allow the endpoint to callers with any of `roles` (admin always passes)."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            user = api_user()
            if not user.has_role("admin", *roles):
                raise Forbidden(gettext("This needs one of the roles: %(roles)s.", roles=", ".join(("admin",) + roles)))
            return fn(*args, **kwargs)

        wrapper.som_roles = ("admin",) + roles  # read by the role-matrix test
        return wrapper

    return decorate


ANY_ROLE = ("manager", "csr", "rep", "scheduler")
