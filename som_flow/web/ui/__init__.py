"""Server-rendered pages (Jinja); the same services and role rules as the API."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from som_flow.errors import SomFlowError
from som_flow.services.users import user_for_password

# not "/static": the app's own static route owns that path and would answer 404 for these files
bp = Blueprint("ui", __name__, template_folder="../templates", static_folder="../static",
               static_url_path="/assets")


def _rate_limited(key: str) -> bool:
    """A small in-process sliding window; enough to slow password guessing on one server."""
    # per app, so two apps in one process (tests, embedded use) do not share a window
    window = current_app.extensions.setdefault("som_login_attempts", defaultdict(deque))[key]
    t = time.monotonic()
    while window and t - window[0] > 60:
        window.popleft()
    window.append(t)
    return len(window) > current_app.config["LOGIN_ATTEMPTS_PER_MINUTE"]


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        email = request.form.get("email", "")
        if _rate_limited(request.remote_addr or "?") or _rate_limited(email.lower()):
            flash("Too many attempts; wait a minute.", "error")
            return render_template("login.html"), 429
        user = user_for_password(email, request.form.get("password", ""))
        if user is None:
            flash("Wrong e-mail or password.", "error")
            return render_template("login.html"), 401
        login_user(user)
        target = request.args.get("next") or ""
        return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("ui.home"))
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("ui.login"))


@bp.route("/")
@login_required
def home():
    return redirect(url_for("pages.opportunities"))


def register_ui(app: Flask) -> None:
    from som_flow.web.ui import pages

    app.register_blueprint(bp)
    app.register_blueprint(pages.bp)
    from som_flow.web.ui.reports import bp as reports_bp

    app.register_blueprint(reports_bp)
    from som_flow.web.ui.admin import bp as admin_bp

    app.register_blueprint(admin_bp)
    from som_flow.web.ui.schedule import bp as schedule_bp

    app.register_blueprint(schedule_bp)
    from som_flow.web.ui.customers import bp as customers_bp

    app.register_blueprint(customers_bp)

    @app.template_filter("local")
    def _local(when, fmt: str = "%a %d %b %H:%M"):
        """A UTC datetime in the signed-in user's own timezone (reminders say 08:00 local)."""
        if when is None:
            return ""
        zone = getattr(current_user, "timezone", None) or "UTC"
        return when.astimezone(ZoneInfo(zone)).strftime(fmt)

    @app.context_processor
    def _globals():
        from som_flow.services import notify

        if not current_user.is_authenticated:
            return {"unread_count": 0, "bell_items": []}
        items, total = notify.list_notifications(current_user, unread=True, per_page=8)
        return {"unread_count": total, "bell_items": items}


__all__ = ["bp", "register_ui", "SomFlowError"]
