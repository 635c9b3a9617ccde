"""/opportunities/{id}/activities, /customers/{id}/activities, /activities/{id} and a deal's timeline."""

from __future__ import annotations

from som_flow.schemas import page_schema
from som_flow.schemas.activities import (
    ActivityAppendSchema,
    ActivityCreateSchema,
    ActivityPatchSchema,
    ActivityQuery,
    ActivitySchema,
    DealActivityCreateSchema,
    TimelineItemSchema,
    TimelineQuery,
)
from som_flow.services import activities, timeline
from som_flow.services.guards import get_opportunity
from som_flow.web.api.common import Blueprint, paged
from som_flow.web.auth import ANY_ROLE, api_user, roles_required

blp = Blueprint("activities", __name__, description="Notes and logged calls, e-mails, meetings; a deal's timeline")
ActivityPage = page_schema(ActivitySchema, "ActivityPage")
WRITERS = ("manager", "csr", "rep")  # a rep only on own deals (services.activities.require_log)


@blp.route("/opportunities/<int:opp_id>/activities")
@roles_required(*ANY_ROLE)
@blp.arguments(ActivityQuery, location="query")
@blp.response(200, ActivityPage)
def list_opportunity_activities(query, opp_id):
    """List a deal's notes and logged calls, e-mails, meetings and visits, newest first."""
    items, total = activities.activities_of_opportunity(opp_id, query["page"], query["per_page"])
    return paged(items, total, query)


@blp.route("/opportunities/<int:opp_id>/activities", methods=["POST"])
@roles_required(*WRITERS)
@blp.arguments(DealActivityCreateSchema)
@blp.response(201, ActivitySchema)
def log_opportunity_activity(data, opp_id):
    """Log a note, call, e-mail, meeting or visit on a deal (a rep on own deals); it shows on its customer too."""
    return activities.log_on_opportunity(api_user(), opp_id, data)


@blp.route("/customers/<int:customer_id>/activities")
@roles_required(*ANY_ROLE)
@blp.arguments(ActivityQuery, location="query")
@blp.response(200, ActivityPage)
def list_customer_activities(query, customer_id):
    """List a customer's activities, those on its deals and its contact log included, newest first."""
    items, total = activities.activities_of_customer(customer_id, query["page"], query["per_page"])
    return paged(items, total, query)


@blp.route("/customers/<int:customer_id>/activities", methods=["POST"])
@roles_required(*WRITERS)
@blp.arguments(ActivityCreateSchema)
@blp.response(201, ActivitySchema)
def log_customer_activity(data, customer_id):
    """Log a note, call, e-mail, meeting or visit on a customer."""
    return activities.log_on_customer(api_user(), customer_id, data)


@blp.route("/activities/<int:activity_id>", methods=["PATCH"])
@roles_required(*WRITERS)
@blp.arguments(ActivityPatchSchema)
@blp.response(200, ActivitySchema)
def edit_activity(data, activity_id):
    """Correct an activity: its author only, for 15 minutes after writing it (then 409: append instead)."""
    return activities.edit_activity(api_user(), activity_id, data)


@blp.route("/activities/<int:activity_id>/append", methods=["POST"])
@roles_required(*WRITERS)
@blp.arguments(ActivityAppendSchema)
@blp.response(200, ActivitySchema)
def append_to_activity(data, activity_id):
    """Add a dated line to an activity, the original kept (whoever may log where it is)."""
    return activities.append_to_activity(api_user(), activity_id, data["text"])


@blp.route("/opportunities/<int:opp_id>/timeline")
@roles_required(*ANY_ROLE)
@blp.arguments(TimelineQuery, location="query")
@blp.response(200, page_schema(TimelineItemSchema, "TimelinePage"))
def opportunity_timeline(query, opp_id):
    """A deal's timeline: every change and every activity, newest first, with who and when; `type` filters."""
    items, total = timeline.timeline(get_opportunity(opp_id), group=query["type"], page=query["page"],
                                     per_page=query["per_page"])
    return paged(items, total, query)
