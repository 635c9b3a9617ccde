"""Schemas of the pipeline board: who and which signals a viewer asks for, and the board's columns and cards."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from som_flow.schemas import CURRENCY, ID, MAX_ID
from som_flow.services.board import SIGNALS, WHO
from som_flow.services.opportunities import BOARD_CARDS

AMOUNT = dict(as_string=True, places=2)


class BoardQuery(Schema):
    kind = fields.String(metadata={"description": "the kind's key; default: the first standard kind"})
    currency = fields.String(validate=CURRENCY, metadata={"description": "the columns' totals in this currency"})
    who = fields.String(validate=validate.OneOf(WHO), metadata={
        "description": "mine: my deals; team: my team's (who reports to me, or to my manager); all. Default: mine "
                       "for a rep, all for a manager, admin or the office"})
    only = fields.String(validate=validate.OneOf(SIGNALS), metadata={"description": "only the deals with this signal"})


class BoardColumnQuery(BoardQuery):
    """The board's filters and where a column goes on from: what a column's "Show more" asks for."""

    stage = fields.String(metadata={"description": "only this stage's column (a key of the kind's stages); a "
                                                   "stageless kind has none"})
    after = fields.Integer(validate=validate.Range(min=0, max=MAX_ID), metadata={
        "description": "only the cards of deals with an id above this (the last card already shown); default 0"})


class BoardApiQuery(BoardColumnQuery):
    per_column = fields.Integer(validate=validate.Range(min=1, max=BOARD_CARDS), metadata={
        "description": f"cards a column shows at most, 1-{BOARD_CARDS}; default {BOARD_CARDS}"})


class BoardCardSchema(Schema):
    id = fields.Integer(attribute="opportunity.id")
    number = fields.String(attribute="opportunity.number")
    title = fields.String(attribute="opportunity.title")
    customer = fields.String(attribute="opportunity.customer_name")
    amount = fields.Decimal(attribute="opportunity.amount", **AMOUNT)
    currency = fields.String(attribute="opportunity.currency")
    probability = fields.Integer(attribute="opportunity.probability")
    status = fields.String(attribute="opportunity.status")
    sales_rep_id = fields.Integer(attribute="opportunity.sales_rep_id", allow_none=True)
    anticipated_close_date = fields.Date(attribute="opportunity.anticipated_close_date", allow_none=True)
    version = fields.Integer(attribute="opportunity.version")
    signals = fields.List(fields.String(), metadata={"description": f"any of: {', '.join(SIGNALS)}"})
    move_to = fields.List(fields.String(), metadata={"description": "stage keys its process allows it to move to"})


class BoardStageSchema(Schema):
    key = fields.String()
    name = fields.String()
    probability = fields.Integer(allow_none=True)


class BoardColumnSchema(Schema):
    stage = fields.Nested(BoardStageSchema, allow_none=True,
                          metadata={"description": "null: a stageless kind's deals, as one list"})
    count = fields.Integer(metadata={"description": "every deal of the column the viewer asked for"})
    total = fields.Decimal(allow_none=True, **AMOUNT)
    weighted = fields.Decimal(allow_none=True, **AMOUNT)
    cards = fields.List(fields.Nested(BoardCardSchema), metadata={"description": "the oldest 50 of the column"})


class BoardSchema(Schema):
    kind = fields.String(attribute="kind.key")
    who = fields.String()
    only = fields.String(allow_none=True)
    currency = fields.String()
    rate_error = fields.String(allow_none=True)
    columns = fields.List(fields.Nested(BoardColumnSchema))


class ReportsToSchema(Schema):
    """PUT /users/{id}/manager: whom the user reports to (the board's "my team")."""

    manager_id = fields.Integer(required=True, allow_none=True, validate=ID)
