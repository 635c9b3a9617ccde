"""Activities in the browser: the deal page's History tab as the timeline with its "Log activity" form, the same
form and list on the customer page, and editing or adding to an activity."""

from __future__ import annotations

from datetime import UTC, datetime
from math import ceil
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, g, make_response, redirect, request, url_for
from flask_login import current_user, login_required
from marshmallow import Schema, fields, validate

from som_flow.errors import ValidationFailed
from som_flow.i18n import gettext, lazy_gettext
from som_flow.models import Opportunity
from som_flow.schemas import ID
from som_flow.services import activities, timeline
from som_flow.services.guards import get_opportunity
from som_flow.services.users import list_active_users
from som_flow.web.forms import load_args, load_form, local_datetime
from som_flow.web.redirects import back, return_to
from som_flow.web.ui.deal_forms import check_fields, plain_errors

bp = Blueprint("activity_pages", __name__)
PER_PAGE = 25


@bp.before_request
@login_required
def _require_login():
    return None


def _zone() -> ZoneInfo:
    try:
        return ZoneInfo(current_user.timezone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _local(at: datetime | None) -> str:
    return at.astimezone(_zone()).strftime("%Y-%m-%d %H:%M %Z") if at else ""


class TimelinePageQuery(Schema):
    type = fields.String(validate=validate.OneOf(timeline.GROUPS))
    history_page = fields.Integer(validate=validate.Range(min=1, max=1_000_000))


class WhoForm(Schema):
    user_id = fields.Integer(validate=ID)


def _query() -> dict:
    """The timeline's filter and page from the query string; a value that means nothing shows everything."""
    try:
        return load_args(TimelinePageQuery())
    except ValidationFailed:
        return {}


def form_context(can_log: bool) -> dict:
    """The "Log activity" form: the types, and a refused form's values and messages (kept as typed)."""
    return {"activity_types": {t: gettext(activities.TYPE_NAMES[t]) for t in activities.TYPES},
            "activity_form": g.get("activity_form", {}), "activity_errors": g.get("activity_errors", {}),
            "can_log_activity": can_log, "can_edit_activity": lambda a: activities.can_edit(current_user, a),
            "activity_until": lambda a: _local(activities.edit_until(a)),
            "activity_when": lambda iso: _local(datetime.fromisoformat(iso)) if iso else "",
            "activity_users": list_active_users() if can_log else []}


def timeline_context(opp: Opportunity) -> dict:
    """What the deal page's History tab shows: one page of the timeline, its filter, and the form."""
    query = _query()
    group, page = query.get("type"), query.get("history_page", 1)
    items, total = timeline.timeline(opp, group=group, page=page, per_page=PER_PAGE, local=_local)
    return {"timeline": items, "timeline_total": total, "timeline_group": group, "timeline_page": page,
            "timeline_pages": max(1, ceil(total / PER_PAGE)),
            "timeline_groups": {k: gettext(v) for k, v in timeline.GROUP_NAMES.items()},
            **form_context(activities.can_log(current_user, opp))}


def customer_context(customer_id: int) -> dict:
    """The customer page's activities (its deals' too), newest first, with the same form."""
    items, total = activities.activities_of_customer(customer_id, 1, 100)
    return {"activities": items, "activities_total": total, "deal_origins": activities.deals_started_by(items),
            **form_context(activities.can_log(current_user))}


# the page's names of the next task's fields, and the service's
NEXT_TASK_FIELDS = {"next_task.title": "next_task_title", "next_task.due_at": "next_task_due"}
# the "Log activity" form's labels (templates/_activity.html), which name a refused field
ACTIVITY_LABELS = {"type": lazy_gettext("Type"), "at": lazy_gettext("When"), "user_id": lazy_gettext("Who talked"),
                   "outcome": lazy_gettext("Outcome"), "text": lazy_gettext("Text"),
                   "next_task_title": lazy_gettext("Next task"), "next_task_due": lazy_gettext("Due")}


def _refusal(exc: ValidationFailed) -> ValidationFailed:
    """A refused activity (the page's reading or the service's "The activity is incomplete: ...") named field by
    field with the form's labels, in the reader's language; its messages in plain words beside the fields."""
    errors = {NEXT_TASK_FIELDS.get(k, k): v for k, v in exc.errors.items()}
    if not errors:
        return exc
    return ValidationFailed(check_fields(errors, ACTIVITY_LABELS).detail, plain_errors(errors))


def _read_next_task(errors: dict) -> dict | None:
    """The log form's optional next task (a title and a due time in the viewer's zone); None when no title."""
    title = request.form.get("next_task_title", "").strip()
    try:
        due = local_datetime("next_task_due", _zone(), "next task's due time")
    except ValidationFailed as exc:
        errors.update(exc.errors)
        return None
    if not title:
        if due is not None:
            errors["next_task_title"] = [gettext("Say what the next task is, or leave its due time empty.")]
        return None
    if len(title) > 200:
        errors["next_task_title"] = [gettext("Keep the title under 200 characters.")]
        return None
    return {"title": title, "due_at": due.astimezone(UTC) if due else None}


def _read_form(*, next_task: bool = False) -> dict:
    """The posted "Log activity" form; every field's problem at once (the service words the rest)."""
    errors, data = {}, {"type": request.form.get("type", ""), "text": request.form.get("text", ""),
                        "outcome": request.form.get("outcome", "").strip() or None}
    try:
        at = local_datetime("at", _zone(), "time")
        data["at"] = at.astimezone(UTC) if at else None
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        data["user_id"] = load_form(WhoForm(), ["user_id"]).get("user_id")
    except ValidationFailed:
        errors["user_id"] = [gettext("Choose who talked to the customer.")]
    if next_task:
        data["next_task"] = _read_next_task(errors)
    if errors:
        raise check_fields(errors, ACTIVITY_LABELS)
    return data


def _show_again(view: str, exc: ValidationFailed, **args):
    """The page again with the form as it was typed and each message beside its field."""
    g.activity_form, g.activity_errors = request.form, exc.errors
    flash(exc.detail, "error")
    response = make_response(current_app.view_functions[view](**args))  # whatever the view answers, as refused
    response.status_code = 422
    return response


# a refused form is shown at its own address; other forms on that page go back there, so it answers GET too
@bp.route("/opportunities/<int:opp_id>/activities")
def opportunity_activities(opp_id: int):
    return redirect(url_for("pages.opportunity_page", opp_id=opp_id) + "#history")


@bp.route("/customers/<int:customer_id>/activities")
def customer_activities(customer_id: int):
    return redirect(url_for("customer_pages.customer_page", customer_id=customer_id) + "#contact-log")


@bp.route("/opportunities/<int:opp_id>/activities", methods=["POST"])
def log_on_opportunity(opp_id: int):
    get_opportunity(opp_id)
    try:
        logged = activities.log_on_opportunity(current_user, opp_id, _read_form(next_task=True))
    except ValidationFailed as exc:
        return _show_again("pages.opportunity_page", _refusal(exc), opp_id=opp_id)
    flash(gettext("Logged, and the next task is on your list.") if getattr(logged, "next_task_id", None)
          else gettext("Logged."), "ok")
    return redirect(url_for("pages.opportunity_page", opp_id=opp_id) + "#history")


@bp.route("/customers/<int:customer_id>/activities", methods=["POST"])
def log_on_customer(customer_id: int):
    try:
        activities.log_on_customer(current_user, customer_id, _read_form())
    except ValidationFailed as exc:
        return _show_again("customer_pages.customer_page", _refusal(exc), customer_id=customer_id)
    flash(gettext("Logged."), "ok")
    return redirect(url_for("customer_pages.customer_page", customer_id=customer_id) + "#contact-log")


def _where(activity_id: int) -> str:
    activity = activities.get_activity(activity_id)
    if activity.opportunity_id:
        return url_for("pages.opportunity_page", opp_id=activity.opportunity_id) + "#history"
    return url_for("customer_pages.customer_page", customer_id=activity.customer_id) + "#contact-log"


@bp.route("/activities/<int:activity_id>/edit", methods=["POST"])
def edit(activity_id: int):
    return_to(_where(activity_id))  # a refusal is flashed there (web/errors.py)
    data = {"type": request.form.get("type", ""), "text": request.form.get("text", ""),
            "outcome": request.form.get("outcome", "")}
    try:
        activities.edit_activity(current_user, activity_id, data)
    except ValidationFailed as exc:
        raise _refusal(exc) from None  # flashed on the page it came from (web/errors.py)
    flash(gettext("Saved."), "ok")
    return redirect(back(_where(activity_id)))


@bp.route("/activities/<int:activity_id>/append", methods=["POST"])
def append(activity_id: int):
    return_to(_where(activity_id))
    activities.append_to_activity(current_user, activity_id, request.form.get("text", ""))
    flash(gettext("Added."), "ok")
    return redirect(back(_where(activity_id)))
