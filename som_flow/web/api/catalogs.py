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
@blp.response(200, StageSchema(many=True))
@roles_required(*ANY_ROLE)
def list_stages():
    return catalogs.list_stages()


@blp.route("/stages", methods=["POST"])
@blp.arguments(StageCreateSchema)
@blp.response(201, StageSchema)
@roles_required()
def create_stage(data):
    return catalogs.create_stage(**data)


@blp.route("/catalogs/<string:name>")
@blp.response(200, CatalogEntrySchema(many=True))
@roles_required(*ANY_ROLE)
def list_entries(name):
    return catalogs.list_entries(name)


@blp.route("/catalogs/<string:name>", methods=["POST"])
@blp.arguments(CatalogEntryCreateSchema)
@blp.response(201, CatalogEntrySchema)
@roles_required()
def create_entry(data, name):
    return catalogs.create_entry(name, **data)


@blp.route("/custom-fields")
@blp.response(200, CustomFieldSchema(many=True))
@roles_required(*ANY_ROLE)
def list_custom_fields():
    return catalogs.list_custom_fields()


@blp.route("/custom-fields", methods=["POST"])
@blp.arguments(CustomFieldCreateSchema)
@blp.response(201, CustomFieldSchema)
@roles_required()
def create_custom_field(data):
    return catalogs.create_custom_field(**data)
