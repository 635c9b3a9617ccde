"""/stages, /catalogs/{name}, /custom-fields, /preferences: admins configure, everyone reads."""

from __future__ import annotations

from som_flow.schemas import (
    CatalogEntryCreateSchema,
    CatalogEntrySchema,
    CustomFieldCreateSchema,
    CustomFieldSchema,
    RequiredFieldsSchema,
    StageCreateSchema,
    StageSchema,
)
from som_flow.services import catalogs
from som_flow.services.fields import required_on_create, set_required_on_create
from som_flow.web.api.common import Blueprint
from som_flow.web.auth import ANY_ROLE, roles_required

blp = Blueprint("catalogs", __name__, description="Stages, catalogs and custom fields")


@blp.route("/stages")
@roles_required(*ANY_ROLE)
@blp.response(200, StageSchema(many=True))
def list_stages():
    """List the stage catalog with default probabilities and SLAs."""
    return catalogs.list_stages()


@blp.route("/stages", methods=["POST"])
@roles_required()
@blp.arguments(StageCreateSchema)
@blp.response(201, StageSchema)
def create_stage(data):
    """Add a stage to the catalog."""
    return catalogs.create_stage(**data)


@blp.route("/catalogs/<string:name>")
@roles_required(*ANY_ROLE)
@blp.response(200, CatalogEntrySchema(many=True))
def list_entries(name):
    """List the entries of a catalog (lead sources, lost reasons, ...)."""
    return catalogs.list_entries(name)


@blp.route("/catalogs/<string:name>", methods=["POST"])
@roles_required()
@blp.arguments(CatalogEntryCreateSchema)
@blp.response(201, CatalogEntrySchema)
def create_entry(data, name):
    """Add an entry to a catalog."""
    return catalogs.create_entry(name, **data)


@blp.route("/custom-fields")
@roles_required(*ANY_ROLE)
@blp.response(200, CustomFieldSchema(many=True))
def list_custom_fields():
    """List the custom fields an opportunity can carry."""
    return catalogs.list_custom_fields()


@blp.route("/custom-fields", methods=["POST"])
@roles_required()
@blp.arguments(CustomFieldCreateSchema)
@blp.response(201, CustomFieldSchema)
def create_custom_field(data):
    """Define a custom field."""
    return catalogs.create_custom_field(**data)


@blp.route("/preferences/required-fields")
@roles_required(*ANY_ROLE)
@blp.response(200, RequiredFieldsSchema)
def get_required_fields():
    """The office's required fields on every new opportunity (an admin preference)."""
    return {"fields": required_on_create()}


@blp.route("/preferences/required-fields", methods=["PUT"])
@roles_required()
@blp.arguments(RequiredFieldsSchema)
@blp.response(200, RequiredFieldsSchema)
def set_required_fields(data):
    """Set the office's required fields on every new opportunity."""
    return {"fields": set_required_on_create(data["fields"])}
