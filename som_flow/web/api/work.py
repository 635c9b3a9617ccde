"""/tasks, /appointments, /calendar, /reminders, /notifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Response, jsonify, request
from marshmallow import Schema, fields, validate

from som_flow.errors import Unauthorized, ValidationFailed
from som_flow.i18n import gettext
from som_flow.schemas import (
    FiredSchema,
    FireSchema,
    IdempotencyKeyHeader,
    NotificationQuery,
    NotificationSchema,
    ReminderQuery,
    ReminderSchema,
    TaskCompleteSchema,
    TaskPatchSchema,
    TaskQuery,
    TaskSchema,
    page_schema,
    sane_date,
)
from som_flow.schemas.tasks import TaskBulkResultSchema, TaskBulkSchema, TaskCreateSchema, task_items
from som_flow.services import appointments as appts
from som_flow.services import notify, reminders, task_bulk, tasks
from som_flow.services.opportunities import complete_task
from som_flow.services.permissions import calendar_owner, require_see_calendar
from som_flow.services.unit_of_work import now
from som_flow.web.api.common import Blueprint, paged
from som_flow.web.api.openapi import text_schema
from som_flow.web.auth import ANY_ROLE, api_user, roles_required
from som_flow.web.errors import translated_problems

blp = Blueprint("work", __name__, description="Tasks, appointments, reminders and notifications")
CALENDAR_TOKEN = {"in": "query", "name": "token", "required": False, "schema": {"type": "string"},
                  "description": "An API token (`som-flow tokens create`), for calendar apps that cannot send headers"}


class AwareDateTime(fields.AwareDateTime):
    def __init__(self, **kwargs):
        super().__init__(default_timezone=None, validate=sane_date, **kwargs)


# -- tasks -----------------------------------------------------------------------------------------
@blp.route("/tasks")
@roles_required(*ANY_ROLE)
@blp.arguments(TaskQuery(), location="query")  # one instance: webargs would make one per request from the class
@blp.response(200, page_schema(TaskSchema, "TaskPage"))
def list_tasks(query):
    """List tasks, filtered by opportunity, assignee, pool and state."""
    rows, total = tasks.task_rows(api_user(), **query)
    # written out from plain rows, as TaskSchema would dump them (schemas.tasks.task_items): the list is read often
    return jsonify(paged(task_items(rows), total, query))


@blp.route("/tasks", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(TaskCreateSchema)
@blp.response(201, TaskSchema)
def create_task(data):
    """Add a task to a deal, for someone (`assignee_id`), a pool (`role`) or yourself.

    It is done, snoozed and reassigned like the process's tasks but never gates a stage. A due date outside
    1900..2200 or without an offset is a 422 naming `due_at`."""
    return tasks.create_task(api_user(), data)


@blp.route("/tasks/bulk", methods=["POST"])
@roles_required(*ANY_ROLE)
@blp.arguments(TaskBulkSchema)
@blp.response(200, TaskBulkResultSchema)
def bulk_tasks(data):
    """Complete (tasks without a form), snooze (`follow_up_at`) or reassign (`user_id`) many tasks.

    Each task in its own transaction with the single action's checks; `failed` holds each refused id's problem."""
    done, failed = task_bulk.bulk_tasks(api_user(), data["ids"], data["action"], follow_up_at=data["follow_up_at"],
                                        user_id=data["user_id"])
    return {"done": done, "failed": translated_problems(failed)}


@blp.route("/tasks/<string:task_id>", methods=["PATCH"])
@roles_required(*ANY_ROLE)
@blp.arguments(TaskPatchSchema)
@blp.response(200, TaskSchema)
def patch_task(data, task_id):
    """Set or clear the follow-up date (the task's assignee or a manager); until then it is hidden."""
    return tasks.set_follow_up(api_user(), task_id, data["follow_up_at"])


@blp.route("/tasks/<string:task_id>/complete", methods=["POST"])
@roles_required(*ANY_ROLE)
@blp.arguments(TaskCompleteSchema)
@blp.arguments(IdempotencyKeyHeader, location="headers")
@blp.response(200, TaskSchema)
def complete(data, headers, task_id):
    """Complete the task with its form fields; the process steps on.

    Of racing completions one wins; the others get 409 naming who completed the task. Send an `Idempotency-Key`
    to make a retry safe: the same user's retry with it gets the completed task back.
    """
    return complete_task(api_user(), task_id, data["data"], idempotency_key=headers.get("idempotency_key"))


@blp.route("/tasks/<string:task_id>/claim", methods=["POST"])
@roles_required(*ANY_ROLE)
@blp.response(200, TaskSchema)
def claim_task(task_id):
    """Take an unassigned task."""
    return tasks.claim_task(api_user(), task_id)


@blp.route("/tasks/<string:task_id>/unassign", methods=["POST"])
@roles_required(*ANY_ROLE)
@blp.response(200, TaskSchema)
def unassign_task(task_id):
    """Put a task back in its pool."""
    return tasks.unassign_task(api_user(), task_id)


class TaskAssignSchema(Schema):
    user_id = fields.Integer(required=True, validate=validate.Range(min=1))


@blp.route("/tasks/<string:task_id>/assign", methods=["POST"])
@roles_required("manager", "csr")
@blp.arguments(TaskAssignSchema)
@blp.response(200, TaskSchema)
def assign_task(data, task_id):
    """Assign a task to a user."""
    return tasks.assign_task(api_user(), task_id, data["user_id"])


# -- appointments ----------------------------------------------------------------------------------
class AppointmentSchema(Schema):
    id = fields.Integer()
    opportunity_id = fields.Integer(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    title = fields.String()
    location = fields.String()
    notes = fields.String()
    timezone = fields.String()
    start = fields.DateTime(attribute="start_at")
    end = fields.DateTime(attribute="end_at")
    attendees = fields.Function(lambda a: [u.id for u in a.attendees])
    status = fields.String()
    rrule = fields.String(allow_none=True)
    memorized_from_id = fields.Integer(allow_none=True)
    exdates = fields.List(fields.String())
    series_id = fields.Integer(allow_none=True)  # set on a detached (separately edited) occurrence
    recurrence_id = fields.DateTime(allow_none=True)  # the series occurrence it replaces
    warnings = fields.Function(lambda a: [f"{o.title} overlaps" for o in appts.overlaps(a)])


class OccurrenceSchema(Schema):
    id = fields.Function(lambda o: o.appointment.id)
    title = fields.Function(lambda o: o.appointment.title)
    opportunity_id = fields.Function(lambda o: o.appointment.opportunity_id)
    start = fields.DateTime()
    end = fields.DateTime()
    status = fields.Function(lambda o: o.appointment.status)
    attendees = fields.Function(lambda o: [u.id for u in o.appointment.attendees])
    rrule = fields.Function(lambda o: o.appointment.rrule)
    series_id = fields.Function(lambda o: o.appointment.series_id)


class AppointmentCreateSchema(Schema):
    opportunity_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    start = AwareDateTime(required=True)
    end = AwareDateTime(required=True)
    attendees = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)), load_default=list)
    location = fields.String(load_default="", validate=validate.Length(max=300))
    notes = fields.String(load_default="", validate=validate.Length(max=5000))
    rrule = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    timezone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class AppointmentPatchSchema(Schema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    start = AwareDateTime()
    end = AwareDateTime()
    attendees = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)))
    location = fields.String(validate=validate.Length(max=300))
    notes = fields.String(validate=validate.Length(max=5000))
    rrule = fields.String(allow_none=True, validate=validate.Length(max=300))
    timezone = fields.String(validate=validate.Length(min=1, max=64))
    # the start of one occurrence of a repeating appointment: by default only that one changes (it is detached)
    occurrence = AwareDateTime(metadata={"description": "The start of one occurrence of a series"})
    scope = fields.String(validate=validate.OneOf(appts.SCOPES), metadata={
        "description": "With `occurrence`: `this` (the default) changes only that occurrence, `following` it and "
                       "the later ones (a new series from there), `all` the whole series, moved as far as it"})


class OccurrenceArg(Schema):
    occurrence = AwareDateTime(load_default=None)
    scope = fields.String(load_default=None, validate=validate.OneOf(appts.SCOPES))


class CompleteArg(Schema):
    occurrence = AwareDateTime(load_default=None)


class AppointmentQuery(Schema):
    start = AwareDateTime(data_key="from", load_default=None)
    end = AwareDateTime(data_key="to", load_default=None)
    user = fields.String(load_default=None, validate=validate.Regexp(r"^(me|\d+)$"))


class MemorizeSchema(Schema):
    users = fields.List(fields.Integer(validate=validate.Range(min=1)), required=True,
                        validate=validate.Length(min=1, max=50))


@blp.route("/appointments")
@roles_required(*ANY_ROLE)
@blp.arguments(AppointmentQuery, location="query")
@blp.response(200, OccurrenceSchema(many=True))
def list_appointments(query):
    """List appointment occurrences in a range (series expanded)."""
    start = query["start"] or now() - timedelta(days=7)
    end = query["end"] or start + timedelta(days=42)
    if end <= start or end - start > timedelta(days=400):
        raise ValidationFailed(gettext("Choose a range of at most 400 days"),
                               {"to": [gettext("After from, within 400 days.")]})
    user = query["user"]
    wanted = api_user().id if user == "me" else (int(user) if user else None)
    return appts.find_appointments(start, end, calendar_owner(api_user(), wanted))


@blp.route("/appointments", methods=["POST"])
@roles_required("manager", "csr", "rep", "scheduler")
@blp.arguments(AppointmentCreateSchema)
@blp.response(201, AppointmentSchema)
def create_appointment(data):
    """Book an appointment, once or repeating (`rrule`)."""
    return appts.create_appointment(api_user(), data)


@blp.route("/appointments/<int:appt_id>", methods=["PATCH"])
@roles_required("manager", "csr", "rep", "scheduler")
@blp.arguments(AppointmentPatchSchema)
@blp.response(200, AppointmentSchema)
def patch_appointment(data, appt_id):
    """Edit an appointment (a whole series), or with `occurrence` one occurrence (`scope`: this, following, all).

    For one occurrence the series skips it (EXDATE) and the answer is the new detached appointment carrying the
    changes; for `following` the series ends before it and the answer is the new series from there on. Its
    attendees, the office (csr, scheduler), managers and admins may change an appointment; another rep may not."""
    occurrence, scope = data.pop("occurrence", None), data.pop("scope", None)
    return appts.change_appointment(api_user(), appt_id, data, occurrence, scope)


@blp.route("/appointments/<int:appt_id>", methods=["DELETE"])
@roles_required("manager", "csr", "rep", "scheduler")
@blp.arguments(OccurrenceArg, location="query")
@blp.response(204)
def delete_appointment(query, appt_id):
    """Delete an appointment (a series with its detached occurrences), or with `?occurrence=` one occurrence.

    `scope`: `this` (the default with an occurrence) only that one; `following` it and the later ones (the series
    ends before it); `all` the whole series."""
    appts.cancel_appointment(api_user(), appt_id, query["occurrence"], query["scope"])


@blp.route("/appointments/<int:appt_id>/complete", methods=["POST"])
@roles_required("manager", "csr", "rep", "scheduler")
@blp.arguments(CompleteArg, location="query")
@blp.response(200, AppointmentSchema)
def complete_appointment(query, appt_id):
    """Mark an appointment as held; of a series with `?occurrence=`, only that occurrence (it is detached)."""
    return appts.set_status(api_user(), appt_id, "completed", query["occurrence"])


@blp.route("/appointments/<int:appt_id>/memorize", methods=["POST"])
@roles_required("manager", "csr", "rep", "scheduler")
@blp.arguments(MemorizeSchema)
@blp.response(201, AppointmentSchema(many=True))
def memorize_appointment(data, appt_id):
    """Copy an appointment to other users' calendars."""
    return appts.memorize(api_user(), appt_id, data["users"])


@blp.route("/calendar/<int:user_id>.ics")
@blp.response(200, text_schema("iCalendar (RFC 5545)"), content_type="text/calendar",
              description="The user's appointments as an iCalendar feed")
@blp.doc(parameters=[CALENDAR_TOKEN], security=[{"bearer": []}, {}])
def calendar_feed(user_id):
    """The user's iCalendar feed; `?token=` is accepted here so calendar apps can subscribe.

    Without a token the caller's bearer token (or page session) is used instead."""
    from som_flow.services.users import get_user, user_for_token

    token = request.args.get("token")
    if token:
        caller = user_for_token(token)
        if caller is None:
            raise Unauthorized(gettext("The token is not valid."))
    else:
        caller = api_user()
    require_see_calendar(caller, user_id)
    body = appts.calendar_feed(get_user(user_id))
    return Response(body, mimetype="text/calendar")


# -- reminders and notifications -------------------------------------------------------------------
@blp.route("/reminders")
@roles_required(*ANY_ROLE)
@blp.arguments(ReminderQuery, location="query")
@blp.response(200, page_schema(ReminderSchema, "ReminderPage"))
def list_reminders(query):
    """List reminders by user, state and kind."""
    items, total = reminders.list_reminders(api_user(), user_filter=query["user"], state=query["state"],
                                            kind=query["kind"], page=query["page"], per_page=query["per_page"])
    return paged(items, total, query)


@blp.route("/reminders/fire", methods=["POST"])
@roles_required("scheduler")
@blp.arguments(FireSchema)
@blp.response(200, FiredSchema)
def fire_reminders(data):
    """Deliver the due reminders now (all, or those of some opportunities)."""
    fired = reminders.fire_due_reminders(owner=f"api:{api_user().id}:{datetime.now(UTC).timestamp()}",
                                         opportunity_ids=data["opportunity_ids"])
    return {"fired": fired}


@blp.route("/notifications")
@roles_required(*ANY_ROLE)
@blp.arguments(NotificationQuery, location="query")
@blp.response(200, page_schema(NotificationSchema, "NotificationPage"))
def list_notifications(query):
    """List the caller's notifications, newest first."""
    items, total = notify.list_notifications(api_user(), unread=query["unread"], page=query["page"],
                                             per_page=query["per_page"])
    return paged(items, total, query)


@blp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@roles_required(*ANY_ROLE)
@blp.response(200, NotificationSchema)
def read_notification(notification_id):
    """Mark a notification as read."""
    return notify.mark_read(api_user(), notification_id)

