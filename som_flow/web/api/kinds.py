"""/kinds: the designer (stage list → BPMN) and BPMN upload/download."""

from __future__ import annotations

from flask import request

from som_flow.errors import ValidationFailed
from som_flow.i18n import gettext
from som_flow.schemas import (
    BpmnQuery,
    DraftCheckQuery,
    DraftCheckSchema,
    KindCreateSchema,
    KindPatchSchema,
    KindSchema,
    KindVersionSchema,
)
from som_flow.services import kinds as kind_service
from som_flow.web.api.common import Blueprint, require_media_type
from som_flow.web.api.openapi import text_schema
from som_flow.web.auth import ANY_ROLE, api_user, roles_required
from som_flow.web.downloads import bpmn_file

blp = Blueprint("kinds", __name__, description="Opportunity kinds as versioned BPMN")
BPMN_MEDIA_TYPES = ("application/xml", "text/xml")


def kind_view(kind) -> dict:
    return {
        "key": kind.key, "name": kind.name, "type": kind.type, "allowed": kind.allowed,
        "record_initial_request": kind.record_initial_request,
        "stages": kind_service.kind_stages(kind),
        "current_version": kind.current_version.number if kind.current_version else None,
        "versions": kind.versions,
        "follow_on": kind_service.current_follow_on(kind),
    }


@blp.route("/kinds")
@roles_required(*ANY_ROLE)
@blp.response(200, KindSchema(many=True))
def list_kinds():
    """List the opportunity kinds with their stages and versions."""
    return [kind_view(k) for k in kind_service.list_kinds()]


@blp.route("/kinds", methods=["POST"])
@roles_required()
@blp.arguments(KindCreateSchema)
@blp.response(201, KindSchema)
def save_kind(data):
    """Create a kind from a stage list, its BPMN generated as version 1; a key already taken is a 422 naming `key`."""
    return kind_view(kind_service.save_designed_kind(data, api_user(), redesign=False))


@blp.route("/kinds/validate", methods=["POST"])
@roles_required()
@blp.arguments(DraftCheckQuery, location="query")
@blp.response(200, DraftCheckSchema)
@blp.doc(requestBody={"required": True, "content": {
    media_type: {"schema": text_schema("BPMN 2.0 XML, UTF-8: the draft to check")} for media_type in BPMN_MEDIA_TYPES}})
def validate_draft(query):
    """Check a BPMN draft as an upload would, storing nothing; 200 says whether it is valid and why not.

    With `type`, the draft is also checked against that kind type; with `process=follow_on`, it is checked as a
    kind's follow-on process (the job's own work). The answer: `valid`, the reasons by element id
    (or field), the stages the draft declares and what an upload would add to it."""
    require_media_type(*BPMN_MEDIA_TYPES)
    return kind_service.check_draft(request.get_data(cache=False), query["type"],
                                    follow_on=query["process"] == "follow_on")


@blp.route("/kinds/<string:key>")
@roles_required(*ANY_ROLE)
@blp.response(200, KindSchema)
def get_kind(key):
    """Get one kind: its stages (in order, with probability), current version and versions."""
    return kind_view(kind_service.get_kind(key))


@blp.route("/kinds/<string:key>", methods=["PUT"])
@roles_required()
@blp.arguments(KindCreateSchema)
@blp.response(200, KindSchema)
def redesign_kind(data, key):
    """Redesign a kind from a stage list: a new version when the process changed (same body as creating one).

    The body's `key` must be the path's (else a 422 naming `key`); the kind keeps its type, and running
    opportunities keep the version they started on."""
    if data["key"] != key:
        raise ValidationFailed(gettext("Check the fields named in the errors."), {"key": [gettext("Invalid value.")]})
    return kind_view(kind_service.save_designed_kind(data, api_user(), redesign=True))


@blp.route("/kinds/<string:key>", methods=["PATCH"])
@roles_required()
@blp.arguments(KindPatchSchema)
@blp.response(200, KindSchema)
def patch_kind(data, key):
    """Rename a kind or allow/disallow it for new opportunities."""
    return kind_view(kind_service.update_kind(key, **data))


@blp.route("/kinds/<string:key>/bpmn")
@roles_required(*ANY_ROLE)
@blp.arguments(BpmnQuery, location="query")
@blp.response(200, text_schema("BPMN 2.0 XML"), content_type="application/xml", description="The BPMN document")
def get_bpmn(query, key):
    """Download the BPMN XML of a kind's version (the current one unless `version` is given)."""
    return bpmn_file(key, kind_service.version_of(kind_service.get_kind(key), query["version"]))


@blp.route("/kinds/<string:key>/bpmn", methods=["PUT"])
@roles_required()
@blp.response(201, KindVersionSchema)
@blp.doc(requestBody={"required": True, "content": {
    media_type: {"schema": text_schema("BPMN 2.0 XML, UTF-8")} for media_type in BPMN_MEDIA_TYPES}})
def put_bpmn(key):
    """Upload BPMN XML as the kind's new version; 422 names the elements that make it unusable, and stores nothing."""
    require_media_type(*BPMN_MEDIA_TYPES)
    return kind_service.import_kind_bpmn(key, request.get_data(cache=False), actor=api_user())
