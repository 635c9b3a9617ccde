"""/opportunities: create, list, edit, move, win, lose, hold, assign, history, bulk; archive or delete one made
by mistake; an estimate's lines and the demand lines."""

from __future__ import annotations

from som_flow.schemas import (
    AssignSchema,
    BulkResultSchema,
    BulkSchema,
    DemandLinePatchSchema,
    DemandLineSchema,
    EventSchema,
    LoseSchema,
    OpportunityCreateSchema,
    OpportunityPatchSchema,
    OpportunityQuery,
    OpportunitySchema,
    PageQuery,
    StageMoveSchema,
    WinSchema,
    page_schema,
)
from som_flow.schemas.documents import EstimateCreateSchema, EstimateSchema
from som_flow.services import archive
from som_flow.services import estimates as estimate_service
from som_flow.services import opportunities as opps
from som_flow.services.fields import qualification, required_qualification
from som_flow.services.history import history_page
from som_flow.services.next_activity import next_activities
from som_flow.services.permissions import REOPENERS
from som_flow.web.api.common import IF_MATCH, Blueprint, if_match, paged, stale_if_match_is_412
from som_flow.web.auth import ANY_ROLE, api_user, roles_required
from som_flow.web.errors import translated_problems

blp = Blueprint("opportunities", __name__, description="Opportunities and their process")
OpportunityPage = page_schema(OpportunitySchema, "OpportunityPage")


def view(opp, page: dict | None = None):
    """Attach the process-derived fields the contract promises (plain attributes, not columns); a list passes what
    it read for its whole page at once (`page`, page_reads of its deals), a single deal reads its own."""
    page = page or page_reads([opp])
    kind_key = opp.kind.key if opp.kind else None
    if kind_key not in page["questions"]:  # each kind's required questions once a page
        page["questions"][kind_key] = required_qualification(kind_key)
    opp.allowed_stages = opps.allowed_stages(opp)
    opp.open_tasks = page["open_tasks"][opp.id]
    opp.qualified, opp.qualified_why = qualification(opp, page["questions"][kind_key])
    opp.next_activity = page["upcoming"].get(opp.id)
    return opp


def page_reads(items: list) -> dict:
    """What view() shows of a page of deals, read for all of them at once: their next activities and open tasks
    (two statements however many deals), and each kind's required questions as view() meets the kind."""
    ids = [o.id for o in items]
    return {"upcoming": next_activities(ids), "open_tasks": opps.open_tasks_of(ids), "questions": {}}


def _respond(opp):
    return view(opp), 200, {"ETag": f'"{opp.version}"'}


@blp.route("/opportunities")
@roles_required(*ANY_ROLE)
@blp.arguments(OpportunityQuery, location="query")
@blp.response(200, OpportunityPage)
def list_opportunities(query):
    """Search opportunities, a page at a time."""
    items, total = opps.search_opportunities(user=api_user(), **query)
    page = page_reads(items)
    return paged([view(o, page) for o in items], total, query)


@blp.route("/opportunities", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(OpportunityCreateSchema)
@blp.response(201, OpportunitySchema)
def create_opportunity(data):
    """Create an opportunity; its kind's process starts in the first stage."""
    opp = opps.create_opportunity(api_user(), data)
    return view(opp), 201, {"ETag": f'"{opp.version}"'}


@blp.route("/opportunities/<int:opp_id>")
@roles_required(*ANY_ROLE)
@blp.response(200, OpportunitySchema)
def get_opportunity(opp_id):
    """Get an opportunity with its allowed stages and open tasks; the ETag is its version."""
    return _respond(opps.get_opportunity(opp_id))


@blp.route("/opportunities/<int:opp_id>", methods=["PATCH"])
@roles_required("manager", "csr", "rep")
@blp.arguments(OpportunityPatchSchema)
@blp.response(200, OpportunitySchema)
@blp.doc(parameters=[IF_MATCH])
def patch_opportunity(data, opp_id):
    """Change an opportunity's fields (with `If-Match`, only at that version)."""
    expected = if_match()
    with stale_if_match_is_412(expected):
        return _respond(opps.update_opportunity(api_user(), opp_id, data, expected_version=expected))


@blp.route("/opportunities/<int:opp_id>/stage", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(StageMoveSchema)
@blp.response(200, OpportunitySchema)
@blp.doc(parameters=[IF_MATCH])
def move_to_stage(data, opp_id):
    """Move an opportunity to a stage the process allows (with `If-Match`, only at that version).

    A stale `If-Match` is a 412; a stale `version` in the body is a 409, as another writer's move is."""
    header = if_match() if data.get("version") is None else None
    with stale_if_match_is_412(header):
        return _respond(opps.move_to_stage(api_user(), opp_id, data["stage"],
                                           expected_version=data.get("version") or header))


@blp.route("/opportunities/<int:opp_id>/win", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(WinSchema)
@blp.response(200, OpportunitySchema)
def win_opportunity(data, opp_id):
    """Close an opportunity as won."""
    return _respond(opps.win(api_user(), opp_id, **data))


@blp.route("/opportunities/<int:opp_id>/lose", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(LoseSchema)
@blp.response(200, OpportunitySchema)
def lose_opportunity(data, opp_id):
    """Close an opportunity as lost, with a reason."""
    return _respond(opps.lose(api_user(), opp_id, **data))


def _simple(action: str, service, roles: tuple[str, ...], summary: str):
    def endpoint(opp_id):
        return _respond(service(api_user(), opp_id))

    endpoint.__doc__ = summary  # the operation's summary in the OpenAPI document, read when it is routed
    view = roles_required(*roles)(blp.response(200, OpportunitySchema)(endpoint))
    return blp.route(f"/opportunities/<int:opp_id>/{action}", methods=["POST"], endpoint=f"{action}_opportunity")(view)


_simple("hold", opps.hold, ("manager", "csr", "rep"), "Put an open opportunity on hold.")
_simple("resume", opps.resume, ("manager", "csr", "rep"), "Resume an opportunity on hold.")
_simple("reopen", opps.reopen, REOPENERS, "Reopen a closed opportunity at the stage it closed in.")
_simple("claim", opps.claim, ("manager", "rep"), "Take an unassigned opportunity as its sales rep.")
_simple("unassign", opps.unassign, ("manager", "csr", "rep"), "Take the sales rep off an opportunity.")


@blp.route("/opportunities/<int:opp_id>/assign", methods=["POST"])
@roles_required("manager", "csr")
@blp.arguments(AssignSchema)
@blp.response(200, OpportunitySchema)
def assign_opportunity(data, opp_id):
    """Assign an opportunity to a user."""
    return _respond(opps.assign(api_user(), opp_id, data["user_id"]))


@blp.route("/opportunities/<int:opp_id>/history")
@roles_required(*ANY_ROLE)
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_schema(EventSchema, "EventPage"))
def opportunity_history(query, opp_id):
    """The opportunity's history, oldest first, a page at a time: stage moves, edits, tasks, as events."""
    items, total = history_page(opps.get_opportunity(opp_id), query["page"], query["per_page"])
    return paged(items, total, query)


@blp.route("/opportunities/bulk", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(BulkSchema)
@blp.response(200, BulkResultSchema)
def bulk_update(data):
    """Apply one action (stage, assign, lose, hold) to many opportunities; each succeeds or fails alone."""
    ids, action = data.pop("ids"), data.pop("action")
    done, failed = opps.bulk(api_user(), ids, action, data)
    return {"done": done, "failed": translated_problems(failed)}


# -- undoing a deal made by mistake ---------------------------------------------------------------------
_simple("archive", archive.archive_opportunity, archive.UNDOERS,
        "Archive an opportunity made by mistake (hidden from lists; its history kept).")
_simple("unarchive", archive.unarchive_opportunity, archive.UNDOERS, "Show an archived opportunity again.")


@blp.route("/opportunities/<int:opp_id>", methods=["DELETE"])
@roles_required(*archive.UNDOERS)
@blp.response(204)
def delete_opportunity(opp_id):
    """Delete an opportunity made by mistake (409 once it has estimates or a job)."""
    archive.delete_opportunity(api_user(), opp_id)


# -- an estimate's lines, the deal's demand lines --------------------------------------------------------
@blp.route("/estimates/<int:estimate_id>", methods=["PATCH"])
@roles_required("manager", "csr", "rep")
@blp.arguments(EstimateCreateSchema)
@blp.response(200, EstimateSchema)
def patch_estimate(data, estimate_id):
    """Replace a draft estimate's lines (a selected estimate's total becomes the amount again)."""
    return estimate_service.update_estimate(api_user(), estimate_id, data["lines"])


@blp.route("/opportunities/<int:opp_id>/demand")
@roles_required(*ANY_ROLE)
@blp.response(200, DemandLineSchema(many=True))
def list_demand(opp_id):
    """List an opportunity's primary demand lines."""
    return estimate_service.list_demand(opp_id)


@blp.route("/opportunities/<int:opp_id>/demand/<int:line_id>", methods=["PATCH"])
@roles_required("manager", "csr", "rep")
@blp.arguments(DemandLinePatchSchema)
@blp.response(200, DemandLineSchema)
def patch_demand(data, opp_id, line_id):
    """Change a primary demand line."""
    return estimate_service.update_demand(api_user(), opp_id, line_id, data)


@blp.route("/opportunities/<int:opp_id>/demand/<int:line_id>", methods=["DELETE"])
@roles_required("manager", "csr", "rep")
@blp.response(204)
def delete_demand(opp_id, line_id):
    """Remove a primary demand line."""
    estimate_service.remove_demand(api_user(), opp_id, line_id)
