"""/customers (Customer:Job) and their contact log, /opportunities/{id}/estimates, /estimates/{id}/select, demand."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from som_flow.schemas import ID, DemandLineSchema, OpportunityPatchSchema, OpportunitySchema, page_schema, sane_date
from som_flow.schemas.customers import (
    ContactPatchSchema,
    ContactSchema,
    CustomerCreateSchema,
    CustomerPatchSchema,
    CustomerQuery,
    CustomerSchema,
)
from som_flow.schemas.documents import EstimateCreateSchema, EstimateSchema, PartySchema
from som_flow.services import contact_log
from som_flow.services import customers as customer_service
from som_flow.services import estimates as estimate_service
from som_flow.services.guards import get_opportunity
from som_flow.services.users import user_name
from som_flow.web.api.common import Blueprint, paged
from som_flow.web.api.opportunities import view as opportunity_view
from som_flow.web.auth import ANY_ROLE, api_user, roles_required

blp = Blueprint("customers", __name__, description="Customers, jobs, contacts, estimates and demand")


@blp.route("/customers")
@roles_required(*ANY_ROLE)
@blp.arguments(CustomerQuery, location="query")
@blp.response(200, page_schema(CustomerSchema, "CustomerPage"))
def list_customers(query):
    """Search customers and jobs (in Customer:Job order) by text, exact name and status, a page at a time."""
    items, total = customer_service.search_customers(query["q"], query["status"], query["page"], query["per_page"],
                                                     name=query["name"])
    return paged(items, total, query)


@blp.route("/customers", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(CustomerCreateSchema)
@blp.response(201, CustomerSchema)
def create_customer(data):
    """Create a customer, or a job under a customer (`parent_id`)."""
    return customer_service.create_customer(api_user(), data)


@blp.route("/customers/<int:customer_id>")
@roles_required(*ANY_ROLE)
@blp.response(200, CustomerSchema)
def get_customer(customer_id):
    """Get a customer with its jobs and contacts."""
    return customer_service.get_customer(customer_id)


@blp.route("/customers/<int:customer_id>", methods=["PATCH"])
@roles_required("manager", "csr", "rep")
@blp.arguments(CustomerPatchSchema)
@blp.response(200, CustomerSchema)
def patch_customer(data, customer_id):
    """Change a customer's fields."""
    return customer_service.update_customer(api_user(), customer_id, data)


@blp.route("/customers/<int:customer_id>/contacts", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(ContactSchema)
@blp.response(201, ContactSchema)
def add_contact(data, customer_id):
    """Add a contact person to a customer."""
    return customer_service.add_contact(api_user(), customer_id, data)


@blp.route("/customers/<int:customer_id>/contacts/<int:contact_id>", methods=["PATCH"])
@roles_required("manager", "csr", "rep")
@blp.arguments(ContactPatchSchema)
@blp.response(200, ContactSchema)
def patch_contact(data, customer_id, contact_id):
    """Change a customer's contact person."""
    return customer_service.update_contact(api_user(), customer_id, contact_id, data)


@blp.route("/customers/<int:customer_id>/contacts/<int:contact_id>", methods=["DELETE"])
@roles_required("manager", "csr", "rep")
@blp.response(204)
def remove_contact(customer_id, contact_id):
    """Remove a customer's contact person."""
    customer_service.remove_contact(api_user(), customer_id, contact_id)


@blp.route("/opportunities/<int:opp_id>/estimates")
@roles_required(*ANY_ROLE)
@blp.response(200, EstimateSchema(many=True))
def list_estimates(opp_id):
    """List an opportunity's estimates."""
    return estimate_service.list_estimates(opp_id)


@blp.route("/opportunities/<int:opp_id>/estimates", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(EstimateCreateSchema)
@blp.response(201, EstimateSchema)
def create_estimate(data, opp_id):
    """Write an estimate (its lines) for an opportunity."""
    return estimate_service.create_estimate(api_user(), opp_id, data["lines"])


@blp.route("/estimates/<int:estimate_id>/select", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.response(200, EstimateSchema)
def select_estimate(estimate_id):
    """Make an estimate the opportunity's chosen one (its total becomes the amount)."""
    return estimate_service.select_estimate(api_user(), estimate_id)


@blp.route("/opportunities/<int:opp_id>/demand", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(DemandLineSchema)
@blp.response(201, DemandLineSchema)
def add_demand(data, opp_id):
    """Record a product or service the customer asked for on an opportunity."""
    return estimate_service.add_demand(api_user(), opp_id, data)


class ContactLogEntrySchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    at = fields.DateTime()
    channel = fields.String()
    summary = fields.String()
    user_id = fields.Integer(allow_none=True)
    user = fields.Function(lambda e: user_name(e.user_id))
    opportunity_id = fields.Integer(allow_none=True)


class ContactLogCreateSchema(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(contact_log.CHANNELS))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    at = fields.AwareDateTime(load_default=None, allow_none=True, validate=sane_date)
    user_id = fields.Integer(load_default=None, allow_none=True, validate=ID)


class OpportunityFromInteractionSchema(OpportunityPatchSchema):
    """A new opportunity's fields; title and description default to the log entry's."""

    kind = fields.String(required=True, validate=validate.Length(min=1, max=64))


@blp.route("/customers/<int:customer_id>/contact-log")
@roles_required(*ANY_ROLE)
@blp.response(200, ContactLogEntrySchema(many=True))
def list_contact_log(customer_id):
    """List a customer's contact log, newest first."""
    return contact_log.list_entries(customer_id)


@blp.route("/customers/<int:customer_id>/contact-log", methods=["POST"])
@roles_required(*contact_log.WRITERS)
@blp.arguments(ContactLogCreateSchema)
@blp.response(201, ContactLogEntrySchema)
def add_contact_log_entry(data, customer_id):
    """Log a call, email, meeting or note with a customer."""
    return contact_log.log_contact(api_user(), customer_id, **data)


@blp.route("/customers/<int:customer_id>/contact-log/<int:entry_id>/opportunity", methods=["POST"])
@roles_required(*contact_log.WRITERS)
@blp.arguments(OpportunityFromInteractionSchema)
@blp.response(201, OpportunitySchema)
def opportunity_from_interaction(data, customer_id, entry_id):
    """Open an opportunity from a contact-log entry (once per entry)."""
    opp = contact_log.create_opportunity_from_entry(api_user(), customer_id, entry_id, data)
    return opportunity_view(opp), 201, {"ETag": f'"{opp.version}"'}


# -- parties ---------------------------------------------------------------------------------------
@blp.route("/opportunities/<int:opp_id>/parties")
@roles_required(*ANY_ROLE)
@blp.response(200, PartySchema(many=True))
def list_parties(opp_id):
    """List the partners and contacts involved in an opportunity."""
    return get_opportunity(opp_id).parties


@blp.route("/opportunities/<int:opp_id>/parties", methods=["POST"])
@roles_required("manager", "csr", "rep")
@blp.arguments(PartySchema)
@blp.response(201, PartySchema)
def add_party(data, opp_id):
    """Involve a partner or contact in an opportunity."""
    return customer_service.add_party(api_user(), opp_id, data)


@blp.route("/opportunities/<int:opp_id>/parties/<int:party_id>", methods=["DELETE"])
@roles_required("manager", "csr", "rep")
@blp.response(204)
def remove_party(opp_id, party_id):
    """Remove a partner or contact from an opportunity."""
    customer_service.remove_party(api_user(), opp_id, party_id)
