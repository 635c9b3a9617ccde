"""The pages people work in: opportunities, pipeline board, my tasks, schedule, forecast, admin."""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import Schema, ValidationError, fields

from som_flow.errors import SomFlowError, ValidationFailed
from som_flow.models import Appointment, Event, Opportunity
from som_flow.schemas import (
    ID,
    AssignSchema,
    BulkSchema,
    LoseSchema,
    OpportunityCreateSchema,
    OpportunityQuery,
    StageMoveSchema,
    WinSchema,
)
from som_flow.services import (
    appointments,
    catalogs,
    estimates,
    forecast,
    kinds,
    notify,
    opportunities,
    reports,
    tasks,
    users,
)
from som_flow.services import customers as customer_service
from som_flow.services import history as history_service
from som_flow.services.fields import qualification
from som_flow.services.permissions import can_reopen
from som_flow.services.unit_of_work import now
from som_flow.web.forms import load_args, load_form
from som_flow.web.redirects import back, return_to

bp = Blueprint("pages", __name__)


@bp.before_request
@login_required
def _require_login():
    return None


SORTS = {"-id": "Newest", "anticipated_close_date": "Close date", "-amount": "Amount (largest)",
         "-probability": "Probability", "title": "Title"}
BULK_ACTIONS = {"stage": "Move to stage", "assign": "Assign to", "lose": "Mark lost", "hold": "Put on hold"}


def _list_filters() -> dict:
    """The list's filters from the query string, read by the API's schema: a bad value is a 422 naming it."""
    return {**load_args(OpportunityQuery()), "page": 1, "per_page": 100}


@bp.route("/opportunities", methods=["GET", "POST"])
def opportunities_page():
    results = None
    if request.method == "POST":  # bulk: each deal in its own transaction, a result per row
        try:
            data = load_form(BulkSchema(), ["ids", "action", "stage", "user_id", "reason"], multi=("ids",))
        except ValidationFailed as exc:
            flash(exc.detail, "error")
        else:
            ids, action = data.pop("ids"), data.pop("action")
            done, failed = opportunities.bulk(current_user, ids, action, data)
            results = {"done": set(done), "failed": {int(k): v["detail"] for k, v in failed.items()}}
            flash(f"{BULK_ACTIONS[action]}: {len(done)} done, {len(failed)} refused.", "ok" if not failed else "error")
    args = request.args
    items, total = opportunities.search_opportunities(user=current_user, **_list_filters())
    return render_template("opportunities.html", items=items, total=total, stages=catalogs.list_stages(),
                           args=args, sorts=SORTS, bulk_actions=BULK_ACTIONS, kinds=kinds.list_kinds(),
                           reps=users.list_reps(), lost_reasons=catalogs.list_entries("lost_reasons"), results=results,
                           can_bulk=current_user.has_role("admin", "manager", "csr", "rep"))


bp.add_url_rule("/opportunities", endpoint="opportunities", view_func=opportunities_page)


@bp.route("/opportunities/<int:opp_id>")
def opportunity_page(opp_id: int):
    """The seed-000 tabs: Info, Profile, Opportunity, Tasks, Appointments, Estimates, History, User defined."""
    opp = opportunities.get_opportunity(opp_id)
    ok, why = qualification(opp)
    history = history_service.history(opp)
    stages = {s.key: s for s in catalogs.list_stages()}
    questions = catalogs.list_questions(opp.kind.key if opp.kind else None)
    all_tasks = opportunities.tasks_of(opp)
    return render_template(
        "opportunity.html", opp=opp, allowed=opportunities.allowed_stages(opp), tasks=all_tasks,
        history=[(e, _describe(e, stages)) for e in history], stage_history=_stage_history(opp, history, stages),
        qualified=ok, why=why, stages=stages, profile=[q for q in questions if q.section == "profile"],
        qualification=[q for q in questions if q.section == "qualification"],
        appointments=_appointments(opp), estimates=estimates.list_estimates(opp.id),
        custom_fields=catalogs.list_custom_fields(), lost_reasons=catalogs.list_entries("lost_reasons"),
        names=catalogs.entry_names(), users=users.list_reps(), local=_local_time,
        suggestion=reports.suggested_probability(opp) if not opp.closed else None,
        can_claim=current_user.has_role("admin", "manager", "rep") and opp.sales_rep_id in (None, current_user.id),
        can_assign=current_user.has_role("admin", "manager", "csr"),
        can_reopen=can_reopen(current_user, opp),
        # the note greets whoever opens the deal, not every return to it after pressing a button on it
        show_popup=bool(opp.customer.popup_on_open and opp.customer.popup_notes
                        and urlsplit(request.referrer or "").path != request.path))


def _local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """A stored UTC time in the viewer's own timezone."""
    return value.astimezone(ZoneInfo(current_user.timezone or "UTC")).strftime(fmt) if value else ""


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _stage_history(opp: Opportunity, events: list[Event], stages: dict) -> list[dict]:
    """Each visit to a stage (the StageStay rows the reports read), who moved it there and how long it stayed."""
    moves = [e for e in events if e.type == "stage_changed"]
    rows = []
    for stay in history_service.stage_stays(opp):
        # the move that opened the stay is logged in the same transaction, a moment before
        mover = next((e for e in reversed(moves) if e.data.get("to") == stay.stage
                      and e.at <= stay.entered_at + timedelta(seconds=5)), None)
        rows.append({"stage": stages[stay.stage].name if stay.stage in stages else stay.stage,
                     "entered": stay.entered_at, "left": stay.left_at, "how": stay.outcome,
                     "by": (mover.actor.name if mover.actor else "system") if mover else "",
                     "time": _duration((stay.left_at or now()) - stay.entered_at)})
    return rows


def _describe(e: Event, stages: dict) -> str:
    """One line of history a person can read."""
    d = e.data or {}

    def stage(key):
        return stages[key].name if key in stages else (key or "start")

    if e.type == "stage_changed":
        return f"stage {d.get('from') or 'start'} → {d.get('to')}"
    if e.type == "field_changed":
        return f"{d.get('field')}: {d.get('old')} → {d.get('new')}"
    if e.type in ("assigned", "unassigned"):
        return f"{e.type} {d.get('name') or ''}".strip()
    if e.type in ("won", "lost"):
        return f"{e.type} from {stage(d.get('stage'))}: {d.get('reason') or ''} {d.get('explanation') or ''}".strip()
    if e.type == "appointment_booked":
        return f"appointment booked: {d.get('title')} at {d.get('start')}"
    if "task" in d:
        return f"{e.type.replace('_', ' ')}: {d['task']}"
    detail = ", ".join(f"{k} {v}" for k, v in d.items() if k not in ("task_id", "appointment_id"))
    return f"{e.type.replace('_', ' ')}{': ' + detail if detail else ''}"


def _appointments(opp: Opportunity) -> list[tuple[Appointment, datetime | None]]:
    """The deal's appointments with the next time each one happens (none when it is over)."""
    out = []
    for appt in appointments.appointments_of(opp.id):
        upcoming = appointments.occurrences(appt, now(), now() + timedelta(days=400))[:1]
        out.append((appt, upcoming[0].start if upcoming else None))
    return out


class NewOpportunityQuery(Schema):
    customer_id = fields.Integer(validate=ID)


def _id_or_none(raw: str | None) -> int | None:
    """A refused form's customer, to choose it again; a value that is no id chooses none."""
    try:
        return NewOpportunityQuery().load({"customer_id": raw})["customer_id"]
    except ValidationError:
        return None


@bp.route("/opportunities/new", methods=["GET", "POST"])
def new_opportunity():
    errors, form = {}, {}
    if request.method == "POST":
        try:
            data = load_form(OpportunityCreateSchema(), ["title", "kind", "customer_id", "sales_rep", "amount"])
            opp = opportunities.create_opportunity(current_user, data)
        except SomFlowError as exc:
            # shown again as it was typed, each message beside its field
            flash(exc.detail, "error")
            errors, form = exc.errors, request.form
        else:
            flash(f"{opp.number} created.", "ok")
            if opp.customer.credit_hold:
                flash(f"{opp.customer.name} is on credit hold.", "error")
            return redirect(url_for("pages.opportunity_page", opp_id=opp.id))
    customers = customer_service.list_top_level_customers()
    # from a customer's page: that customer (or job) is chosen, and a credit hold is shown before saving
    chosen_id = _id_or_none(form.get("customer_id")) if form else load_args(NewOpportunityQuery()).get("customer_id")
    chosen = customer_service.find_customer(chosen_id) if chosen_id else None
    if chosen is not None and chosen not in customers:
        customers.append(chosen)
    return render_template("new_opportunity.html", customers=customers, reps=users.list_reps(), chosen=chosen,
                           kinds=[k for k in kinds.list_kinds() if k.allowed], errors=errors,
                           form=form), 422 if errors else 200


# each action's form, read by the API's schema for the same action
ACTION_FORMS = {"stage": (StageMoveSchema, ["stage", "version"]), "assign": (AssignSchema, ["user_id"]),
                "win": (WinSchema, ["explanation"]), "lose": (LoseSchema, ["reason", "explanation"])}


@bp.route("/opportunities/<int:opp_id>/<action>", methods=["POST"])
def opportunity_action(opp_id: int, action: str):
    actions = {
        "stage": lambda d: opportunities.move_to_stage(current_user, opp_id, d["stage"],
                                                       expected_version=d["version"]),
        "assign": lambda d: opportunities.assign(current_user, opp_id, d["user_id"]),
        "claim": lambda d: opportunities.claim(current_user, opp_id),
        "unassign": lambda d: opportunities.unassign(current_user, opp_id),
        "hold": lambda d: opportunities.hold(current_user, opp_id),
        "resume": lambda d: opportunities.resume(current_user, opp_id),
        "reopen": lambda d: opportunities.reopen(current_user, opp_id),
        "win": lambda d: opportunities.win(current_user, opp_id, explanation=d["explanation"]),
        "lose": lambda d: opportunities.lose(current_user, opp_id, reason=d["reason"], explanation=d["explanation"]),
    }
    if action not in actions:
        abort(404)
    return_to(url_for("pages.opportunity_page", opp_id=opp_id))  # a refusal is flashed there (web/errors.py)
    schema, names = ACTION_FORMS.get(action, (Schema, []))
    actions[action](load_form(schema(), names))
    flash("Saved.", "ok")
    return redirect(url_for("pages.opportunity_page", opp_id=opp_id))


@bp.route("/pipeline")
def pipeline():
    # standard kinds first: the board most users mean
    all_kinds = sorted((k for k in kinds.list_kinds() if k.type != "stageless"), key=lambda k: k.type != "standard")
    key = request.args.get("kind") or (all_kinds[0].key if all_kinds else None)
    kind = kinds.get_kind(key) if key else None
    currency = (request.args.get("currency") or current_app.config["DEFAULT_CURRENCY"]).upper()
    columns, rate_error = [], None
    if kind is not None:
        by_stage = defaultdict(list)
        for opp in opportunities.open_deals(kind_id=kind.id):
            by_stage[opp.stage].append(opp)
        rates = forecast.Rates(now().date())
        for stage in kinds.kind_stages(kind):
            cards = by_stage.get(stage["key"], [])
            try:  # totals only in one currency: a missing rate says so instead of summing USD with NOK
                totals = forecast.column_totals(cards, currency, rates)
            except SomFlowError as exc:
                rate_error, totals = exc.errors["currency"][0], {"total": None, "weighted": None}
            columns.append({"stage": stage, "cards": cards, **totals})
    return render_template("pipeline.html", kinds=all_kinds, kind=kind, columns=columns, currency=currency,
                           currencies=[e.key for e in catalogs.list_entries("currencies")], rate_error=rate_error)


@bp.route("/tasks")
def my_tasks():
    hidden = request.args.get("include_hidden") == "1"
    mine, _ = tasks.search_tasks(current_user, assignee="me", include_hidden=hidden, per_page=200)
    pool, _ = tasks.search_tasks(current_user, assignee="none", include_hidden=hidden, per_page=200)
    # overdue / today / upcoming, "today" in the user's own timezone
    zone, at = ZoneInfo(current_user.timezone or "UTC"), now()
    today = at.astimezone(zone).date()
    groups: dict[str, list] = {"Overdue": [], "Today": [], "Upcoming": []}
    for task in mine:
        if task.due_at is not None and task.due_at < at:
            groups["Overdue"].append(task)
        elif task.due_at is not None and task.due_at.astimezone(zone).date() == today:
            groups["Today"].append(task)
        else:
            groups["Upcoming"].append(task)
    # one completion key per render: a double click submits the same key twice, which is one completion
    return render_template("tasks.html", mine=mine, groups=groups, pool=pool, include_hidden=hidden,
                           completion_key=secrets.token_urlsafe(16))


@bp.route("/tasks/<task_id>/complete", methods=["POST"])
def complete_task(task_id: str):
    data = {k: v for k, v in request.form.items() if k not in ("csrf_token", "idempotency_key", "next")}
    key = request.form.get("idempotency_key", "")[:64] or None  # only ever compared, so a cut is harmless
    return_to(url_for("pages.my_tasks"))
    try:
        opportunities.complete_task(current_user, task_id, data, idempotency_key=key)
    except ValidationFailed as exc:
        # an answer the form does not take: the page the form was on, again, with what was typed and the
        # message beside its field (the task_fields macro reads them through refused_task_form)
        g.refused_task = {"task_id": task_id, "values": data, "errors": exc.errors}
        flash(exc.detail, "error")
        deal = re.fullmatch(r"/opportunities/(\d+)", urlsplit(request.form.get("next", "")).path)
        page = opportunity_page(int(deal.group(1))) if deal else my_tasks()
        return page, 422
    flash("Task done.", "ok")
    return redirect(back())


@bp.app_template_global()
def refused_task_form(task_id: str) -> dict:
    """What was typed into task `task_id`'s refused completion form and why it was refused ({} otherwise)."""
    refused = g.get("refused_task") or {}
    return refused if refused.get("task_id") == task_id else {}


@bp.app_template_global()
def assignable_reps() -> list:
    """The people a deal can be given to, for a task done by an assignment (chosen there, the rep is assigned)."""
    return users.list_reps() if current_user.has_role("admin", "manager", "csr") else []


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
def claim_task(task_id: str):
    return_to(url_for("pages.my_tasks"))
    tasks.claim_task(current_user, task_id)
    return redirect(back())


@bp.route("/notifications")
def notifications():
    rows, _ = notify.list_notifications(current_user, per_page=100)
    return render_template("notifications.html", rows=rows)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
def read_notification(notification_id: int):
    return_to(url_for("pages.notifications"))
    notify.mark_read(current_user, notification_id)
    return redirect(back())


@bp.route("/notifications/read", methods=["POST"])
def read_all_notifications():
    notify.mark_read(current_user)
    flash("All notifications marked read.", "ok")
    return redirect(back(url_for("pages.notifications")))


