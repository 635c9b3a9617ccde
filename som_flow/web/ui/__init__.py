"""Server-rendered pages (Jinja); the same services and role rules as the API."""

from __future__ import annotations

import hashlib
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user

from som_flow.i18n import gettext
from som_flow.services.users import end_session, normalise_email, start_session, user_for_password
from som_flow.web.auth import PAGE_SESSION_FIELD
from som_flow.web.formatting import strftime_local
from som_flow.web.redirects import safe_next

# not "/static": the app's own static route owns that path and would answer 404 for these files
bp = Blueprint("ui", __name__, template_folder="../templates", static_folder="../static",
               static_url_path="/assets")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        user = user_for_password(request.form.get("email", ""), request.form.get("password", ""))
        if user is None:  # 401 is what the login throttle counts
            flash(gettext("Wrong e-mail or password."), "error")
            return render_template("login.html"), 401
        secret = start_session(user, replacing=session.get(PAGE_SESSION_FIELD))
        session.clear()  # nothing from before the login carries into it
        login_user(user)
        session[PAGE_SESSION_FIELD] = secret
        return redirect(safe_next(request.args.get("next"), url_for("ui.home")))
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
def logout():
    end_session(session.get(PAGE_SESSION_FIELD))
    logout_user()
    session.clear()
    return redirect(url_for("ui.login"))


@bp.route("/")
@login_required
def home():
    return redirect(url_for("pages.opportunities"))


# login throttling ----------------------------------------------------------------------------------
def _address() -> str:
    return request.remote_addr or "unknown"


def _address_and_email() -> str:
    # the e-mail as the lookup reads it, hashed: a 10 kB bogus e-mail costs the same few bytes as a real one
    email = hashlib.sha256(normalise_email(request.form.get("email", "")).encode()).hexdigest()
    return f"{_address()}|{email}"


def _failed(response) -> bool:
    return response.status_code == 401


def _too_many_attempts(_exc: RateLimitExceeded) -> ResponseReturnValue:
    flash(gettext("Too many failed log-ins from here. Wait a minute, then try again."), "error")
    return render_template("login.html"), 429


def _throttle_logins(app: Flask) -> None:
    """Failed page logins per minute, counted per address and e-mail and per address alone, so guessing
    from one place slows down while the owner still logs in from their own. One limiter per app: its
    memory storage (expired keys are dropped) is per instance."""
    limiter = Limiter(_address, app=app, storage_uri="memory://", strategy="moving-window")
    view = app.view_functions["ui.login"]
    view = limiter.limit(lambda: f"{current_app.config['LOGIN_ATTEMPTS_PER_MINUTE']}/minute",
                         key_func=_address_and_email, methods=["POST"], deduct_when=_failed)(view)
    view = limiter.limit(lambda: f"{5 * current_app.config['LOGIN_ATTEMPTS_PER_MINUTE']}/minute",
                         key_func=_address, methods=["POST"], deduct_when=_failed)(view)
    app.view_functions["ui.login"] = view
    app.register_error_handler(RateLimitExceeded, _too_many_attempts)


def register_ui(app: Flask) -> None:
    from som_flow.web.ui import pages

    app.register_blueprint(bp)
    _throttle_logins(app)
    app.register_blueprint(pages.bp)
    from som_flow.web.ui.reports import bp as reports_bp

    app.register_blueprint(reports_bp)
    from som_flow.web.ui.admin import bp as admin_bp

    app.register_blueprint(admin_bp)
    from som_flow.web.ui.schedule import bp as schedule_bp

    app.register_blueprint(schedule_bp)
    from som_flow.web.ui.customers import bp as customers_bp

    app.register_blueprint(customers_bp)
    from som_flow.web.ui.activities import bp as activities_bp

    app.register_blueprint(activities_bp)
    from som_flow.web.ui.deal_edit import bp as deal_edit_bp

    app.register_blueprint(deal_edit_bp)
    from som_flow.web.ui.deal_docs import bp as deal_docs_bp

    app.register_blueprint(deal_docs_bp)
    from som_flow.web.ui.settings import bp as settings_bp

    app.register_blueprint(settings_bp)

    @app.template_filter("local")
    def _local(when, fmt: str = "%a %d %b %H:%M"):
        """A UTC datetime in the signed-in user's own timezone (reminders say 08:00 local), its weekday and
        month names in the page's language."""
        if when is None:
            return ""
        zone = getattr(current_user, "timezone", None) or "UTC"
        return strftime_local(when.astimezone(ZoneInfo(zone)), fmt)

    @app.context_processor
    def _globals():
        from som_flow.services import notify

        if not current_user.is_authenticated:
            return {"unread_count": 0, "bell_items": []}
        items, total = notify.list_notifications(current_user, unread=True, per_page=8)
        return {"unread_count": total, "bell_items": items}

