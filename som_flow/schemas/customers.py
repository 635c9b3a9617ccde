"""Schemas of customers (and their jobs and contacts): the API's and the customer pages' forms."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from som_flow.models.customers import CUSTOMER_KINDS, CUSTOMER_STATUSES
from som_flow.schemas import ID, PageQuery


class AddressSchema(Schema):
    street = fields.String(validate=validate.Length(max=200))
    city = fields.String(validate=validate.Length(max=100))
    zip = fields.String(validate=validate.Length(max=20))
    state = fields.String(validate=validate.Length(max=100))
    country = fields.String(validate=validate.Length(max=100))


class ContactSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    email = fields.Email(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50))


class JobSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    full_name = fields.String()
    status = fields.String()


class CustomerSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    name = fields.String()
    full_name = fields.String()
    status = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    bill_to = fields.Dict()
    work_address = fields.Dict()
    parent_id = fields.Integer(allow_none=True)
    credit_hold = fields.Boolean()
    popup_notes = fields.String()
    popup_on_open = fields.Boolean()
    payment_terms = fields.String(allow_none=True)
    jobs = fields.List(fields.Nested(JobSchema))
    contacts = fields.List(fields.Nested(ContactSchema))


_CUSTOMER_FIELDS = dict(
    kind=fields.String(validate=validate.OneOf(CUSTOMER_KINDS)),
    name=fields.String(validate=validate.Length(min=1, max=200)),
    status=fields.String(validate=validate.OneOf(CUSTOMER_STATUSES)),
    email=fields.Email(allow_none=True),
    phone=fields.String(allow_none=True, validate=validate.Length(max=50)),
    bill_to=fields.Nested(AddressSchema),
    work_address=fields.Nested(AddressSchema),
    parent_id=fields.Integer(allow_none=True, validate=ID),
    credit_hold=fields.Boolean(),
    payment_terms=fields.String(allow_none=True, validate=validate.Length(max=100)),
    popup_notes=fields.String(validate=validate.Length(max=5000)),
    popup_on_open=fields.Boolean(),
)
CustomerPatchSchema = Schema.from_dict(dict(_CUSTOMER_FIELDS), name="CustomerPatchSchema")
CustomerCreateSchema = Schema.from_dict({
    **_CUSTOMER_FIELDS,
    "kind": fields.String(required=True, validate=validate.OneOf(CUSTOMER_KINDS)),
    "name": fields.String(required=True, validate=validate.Length(min=1, max=200)),
}, name="CustomerCreateSchema")


class ContactPatchSchema(Schema):
    """A contact's fields to change: only those given change (no defaults, so nothing is wiped by leaving it out)."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    role = fields.String(allow_none=True, validate=validate.Length(max=100))
    email = fields.Email(allow_none=True)
    phone = fields.String(allow_none=True, validate=validate.Length(max=50))


class CustomerQuery(PageQuery):
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    # the whole name, trimmed and case ignored: "is there a customer called this already?"
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    status = fields.String(load_default=None, validate=validate.OneOf(CUSTOMER_STATUSES))
