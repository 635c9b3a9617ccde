"""Schemas of the documents on a deal: estimates and their lines, parties (the API's and the deal page's forms)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from som_flow.schemas import ID, MONEY
from som_flow.services.customers import PARTY_ROLES
from som_flow.services.guards import get_opportunity


class EstimateLineSchema(Schema):
    product = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    description = fields.String(required=True, validate=validate.Length(min=1, max=300))
    quantity = fields.Decimal(required=True, as_string=True, places=3, allow_nan=False,
                              validate=validate.Range(min=0, min_inclusive=False, max=10**9))
    price = fields.Decimal(required=True, **MONEY)
    amount = fields.Decimal(as_string=True, places=2, dump_only=True)


class EstimateCreateSchema(Schema):
    """A new estimate's lines, or a draft's new lines (PATCH)."""

    lines = fields.List(fields.Nested(EstimateLineSchema), required=True, validate=validate.Length(min=1, max=200))


class EstimateSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    opportunity_id = fields.Integer()
    customer_id = fields.Integer()
    status = fields.String()
    lines = fields.List(fields.Nested(EstimateLineSchema))
    total = fields.Decimal(as_string=True, places=2)
    currency = fields.String()
    selected = fields.Function(lambda e: get_opportunity(e.opportunity_id).selected_estimate_id == e.id)


class PartySchema(Schema):
    id = fields.Integer(dump_only=True)
    role = fields.String(required=True, validate=validate.OneOf(PARTY_ROLES))
    customer_id = fields.Integer(allow_none=True, validate=ID)
    contact_id = fields.Integer(allow_none=True, validate=ID)
    name = fields.String(validate=validate.Length(max=200))
