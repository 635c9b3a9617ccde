"""/stages, /catalogs/{name}, /custom-fields: admins configure, everyone reads."""

from __future__ import annotations

from flask_smorest import Blueprint

from som_flow.schemas import (
    CatalogEntryCreateSchema,
    CatalogEntrySchema,
    CustomFieldCreateSchema,
    CustomFieldSchema,
    StageCreateSchema,
    StageSchema,
)
from som_flow.services import catalogs
from som_flow.web.auth import ANY_ROLE, roles_required

blp = Blueprint("catalogs", __name__, description="Stages, catalogs and custom fields")


@blp.route("/stages")
@roles_required(*ANY_ROLE)
@blp.response(200, StageSchema(many=True))
def list_stages():
    return catalogs.list_stages()


@blp.route("/stages", methods=["POST"])
@roles_required()
@blp.arguments(StageCreateSchema)
@blp.response(201, StageSchema)
def create_stage(data):
    return catalogs.create_stage(**data)


@blp.route("/catalogs/<string:name>")
@roles_required(*ANY_ROLE)
@blp.response(200, CatalogEntrySchema(many=True))
def list_entries(name):
    return catalogs.list_entries(name)


@blp.route("/catalogs/<string:name>", methods=["POST"])
@roles_required()
@blp.arguments(CatalogEntryCreateSchema)
@blp.response(201, CatalogEntrySchema)
def create_entry(data, name):
    return catalogs.create_entry(name, **data)


@blp.route("/custom-fields")
@roles_required(*ANY_ROLE)
@blp.response(200, CustomFieldSchema(many=True))
def list_custom_fields():
    return catalogs.list_custom_fields()


@blp.route("/custom-fields", methods=["POST"])
@roles_required()
@blp.arguments(CustomFieldCreateSchema)
@blp.response(201, CustomFieldSchema)
def create_custom_field(data):
    return catalogs.create_custom_field(**data)
