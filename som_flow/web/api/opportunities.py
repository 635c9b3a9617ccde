"""/opportunities: create, list, edit, move, win, lose, hold, assign, history, bulk."""

from __future__ import annotations

from flask_smorest import Blueprint

from som_flow.schemas import (
    AssignSchema,
    BulkResultSchema,
    BulkSchema,
    EventSchema,
    LoseSchema,
    OpportunityCreateSchema,
    OpportunityPatchSchema,
    OpportunityQuery,
    OpportunitySchema,
    StageMoveSchema,
    WinSchema,
    page_schema,
)
from som_flow.services import opportunities as opps
from som_flow.services.permissions import REOPENERS
from som_flow.web.api.common import if_match, paged
from som_flow.web.auth import ANY_ROLE, api_user, roles_required

blp = Blueprint("opportunities", __name__, description="Opportunities and their process")
OpportunityPage = page_schema(OpportunitySchema, "OpportunityPage")


def view(opp):
    """Attach the process-derived fields the contract promises (plain attributes, not columns)."""
    opp.allowed_stages = opps.allowed_stages(opp)
    opp.open_tasks = opps.open_tasks(opp)
    opp.qualified, opp.qualified_why = opps.qualified(opp)
    return opp


def _respond(opp):
    return view(opp), 200, {"ETag": f'"{opp.version}"'}


@blp.route("/opportunities")
@roles_required(*ANY_ROLE)
@blp.arguments(OpportunityQuery, location="query")
@blp.response(200, OpportunityPage)
def list_opportunities(query):
    items, total = opps.search_opportunities(user=api_user(), **query)
    return paged([view(o) for o in items], total, query)


@blp.route("/opportunities", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(OpportunityCreateSchema)
@blp.response(201, OpportunitySchema)
def create_opportunity(data):
    opp = opps.create_opportunity(api_user(), data)
    return view(opp), 201, {"ETag": f'"{opp.version}"'}


@blp.route("/opportunities/<int:opp_id>")
@roles_required(*ANY_ROLE)
@blp.response(200, OpportunitySchema)
def get_opportunity(opp_id):
    return _respond(opps.get_opportunity(opp_id))


@blp.route("/opportunities/<int:opp_id>", methods=["PATCH"])
@roles_required("manager", "csr", "rep")
@blp.arguments(OpportunityPatchSchema)
@blp.response(200, OpportunitySchema)
def patch_opportunity(data, opp_id):
    expected = if_match()
    if expected is not None:
        opp = opps.get_opportunity(opp_id)
        if opp.version != expected:
            from som_flow.errors import PreconditionFailed

            raise PreconditionFailed(f"{opp.number} is at version {opp.version}, not {expected}.")
    return _respond(opps.update_opportunity(api_user(), opp_id, data, expected_version=expected))


@blp.route("/opportunities/<int:opp_id>/stage", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(StageMoveSchema)
@blp.response(200, OpportunitySchema)
def move(data, opp_id):
    return _respond(opps.move_to_stage(api_user(), opp_id, data["stage"],
                                       expected_version=data.get("version") or if_match()))


@blp.route("/opportunities/<int:opp_id>/win", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(WinSchema)
@blp.response(200, OpportunitySchema)
def win(data, opp_id):
    return _respond(opps.win(api_user(), opp_id, **data))


@blp.route("/opportunities/<int:opp_id>/lose", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(LoseSchema)
@blp.response(200, OpportunitySchema)
def lose(data, opp_id):
    return _respond(opps.lose(api_user(), opp_id, **data))


def _simple(action: str, service, roles: tuple[str, ...]):
    @blp.route(f"/opportunities/<int:opp_id>/{action}", methods=["POST"], endpoint=action)
    @roles_required(*roles)
    @blp.response(200, OpportunitySchema)
    def endpoint(opp_id):
        return _respond(service(api_user(), opp_id))

    return endpoint


_simple("hold", opps.hold, ("manager", "csr", "rep"))
_simple("resume", opps.resume, ("manager", "csr", "rep"))
_simple("reopen", opps.reopen, REOPENERS)
_simple("claim", opps.claim, ("manager", "rep"))
_simple("unassign", opps.unassign, ("manager", "csr", "rep"))


@blp.route("/opportunities/<int:opp_id>/assign", methods=["POST"])
@roles_required("manager", "csr")
@blp.arguments(AssignSchema)
@blp.response(200, OpportunitySchema)
def assign(data, opp_id):
    return _respond(opps.assign(api_user(), opp_id, data["user_id"]))


@blp.route("/opportunities/<int:opp_id>/history")
@roles_required(*ANY_ROLE)
@blp.response(200, EventSchema(many=True))
def history(opp_id):
    return opps.history(opps.get_opportunity(opp_id))


@blp.route("/opportunities/bulk", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(BulkSchema)
@blp.response(200, BulkResultSchema)
def bulk(data):
    ids, action = data.pop("ids"), data.pop("action")
    done, failed = opps.bulk(api_user(), ids, action, data)
    return {"done": done, "failed": failed}
