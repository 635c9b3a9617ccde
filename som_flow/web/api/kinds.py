"""/kinds: the designer (stage list → BPMN) and BPMN upload/download."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from som_flow.schemas import BpmnQuery, KindCreateSchema, KindPatchSchema, KindSchema, KindVersionSchema
from som_flow.services import kinds as kind_service
from som_flow.web.auth import ANY_ROLE, api_user, roles_required
from som_flow.web.downloads import bpmn_file

blp = Blueprint("kinds", __name__, description="Opportunity kinds as versioned BPMN")


def kind_view(kind) -> dict:
    return {
        "key": kind.key, "name": kind.name, "type": kind.type, "allowed": kind.allowed,
        "record_initial_request": kind.record_initial_request,
        "stages": kind_service.kind_stages(kind),
        "current_version": kind.current_version.number if kind.current_version else None,
        "versions": kind.versions,
    }


@blp.route("/kinds")
@roles_required(*ANY_ROLE)
@blp.response(200, KindSchema(many=True))
def list_kinds():
    return [kind_view(k) for k in kind_service.list_kinds()]


@blp.route("/kinds", methods=["POST"])
@roles_required()
@blp.arguments(KindCreateSchema)
@blp.response(201, KindSchema)
def save_kind(data):
    return kind_view(kind_service.save_designed_kind(data, api_user()))


@blp.route("/kinds/<string:key>")
@roles_required(*ANY_ROLE)
@blp.response(200, KindSchema)
def get_kind(key):
    return kind_view(kind_service.get_kind(key))


@blp.route("/kinds/<string:key>", methods=["PATCH"])
@roles_required()
@blp.arguments(KindPatchSchema)
@blp.response(200, KindSchema)
def patch_kind(data, key):
    return kind_view(kind_service.update_kind(key, **data))


@blp.route("/kinds/<string:key>/bpmn")
@roles_required(*ANY_ROLE)
@blp.arguments(BpmnQuery, location="query")
@blp.response(200, content_type="application/xml")
def get_bpmn(query, key):
    return bpmn_file(key, kind_service.version_of(kind_service.get_kind(key), query["version"]))


@blp.route("/kinds/<string:key>/bpmn", methods=["PUT"])
@roles_required()
@blp.response(201, KindVersionSchema)
@blp.doc(requestBody={"content": {"application/xml": {"schema": {"type": "string"}}}})
def put_bpmn(key):
    return kind_service.import_kind_bpmn(key, request.get_data(cache=False), actor=api_user())
