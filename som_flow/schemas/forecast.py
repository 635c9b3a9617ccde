"""Schemas of the forecast, the pipeline report and exchange rates."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from som_flow.schemas import CURRENCY, sane_date
from som_flow.services.forecast import FORECAST_STATUSES, GROUP_BY

AMOUNT = dict(as_string=True, places=2)


class ForecastQuery(Schema):
    group_by = fields.String(load_default="month", validate=validate.OneOf(GROUP_BY))
    currency = fields.String(validate=CURRENCY)
    from_ = fields.Date(data_key="from", validate=sane_date)
    to = fields.Date(validate=sane_date)
    stage = fields.String()
    rep = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    kind = fields.String()
    status = fields.String(load_default="open", validate=validate.OneOf(FORECAST_STATUSES))


class ForecastGroupSchema(Schema):
    key = fields.Raw(metadata={"description": "month 'YYYY-MM', quarter 'YYYY-Qn', stage key, rep id or kind key"})
    label = fields.String()
    count = fields.Integer()
    amount = fields.Decimal(**AMOUNT)
    weighted = fields.Decimal(**AMOUNT)


class ForecastSchema(Schema):
    currency = fields.String()
    group_by = fields.String()
    total_amount = fields.Decimal(**AMOUNT)
    weighted_total = fields.Decimal(**AMOUNT)
    groups = fields.List(fields.Nested(ForecastGroupSchema))


class CompareQuery(Schema):
    period = fields.String(load_default="quarter", validate=validate.OneOf(("month", "quarter")))
    currency = fields.String(validate=CURRENCY)
    periods = fields.Integer(load_default=4, validate=validate.Range(min=1, max=24))


class CompareRowSchema(Schema):
    period = fields.String()
    start = fields.Date()
    end = fields.Date()
    snapshot_taken_at = fields.AwareDateTime(allow_none=True)
    forecast_amount = fields.Decimal(allow_none=True, **AMOUNT)
    forecast_weighted = fields.Decimal(allow_none=True, **AMOUNT)
    won = fields.Decimal(**AMOUNT)


class SnapshotSchema(Schema):
    id = fields.Integer()
    taken_at = fields.AwareDateTime()
    currency = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    total_amount = fields.Decimal(**AMOUNT)
    weighted_total = fields.Decimal(**AMOUNT)
    groups = fields.List(fields.Dict())


class SnapshotCreateSchema(Schema):
    currency = fields.String(validate=CURRENCY)


class ReportQuery(Schema):
    from_ = fields.Date(data_key="from", validate=sane_date)
    to = fields.Date(validate=sane_date)
    kind = fields.String()
    rep = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    currency = fields.String(validate=CURRENCY)


class WinRateSchema(Schema):
    rep = fields.Integer(allow_none=True)
    name = fields.String()
    kind = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    won = fields.Integer()
    decided = fields.Integer()
    win_rate = fields.Float()


class FunnelRowSchema(Schema):
    stage = fields.String()
    name = fields.String()
    entered = fields.Integer()
    advanced = fields.Integer()
    conversion = fields.Float()
    average_days_in_stage = fields.Float(allow_none=True)


class ReportSchema(Schema):
    currency = fields.String()
    win_rate = fields.Float()
    won = fields.Integer()
    lost = fields.Integer()
    average_won_amount = fields.Decimal(**AMOUNT)
    average_cycle_days = fields.Float()
    win_rate_by = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(WinRateSchema)))
    funnel = fields.List(fields.Nested(FunnelRowSchema))
    lost_reasons = fields.List(fields.Nested(Schema.from_dict(
        {"reason": fields.String(allow_none=True), "count": fields.Integer()}, name="LostReasonCount")))
    stuck = fields.List(fields.Integer())
    overdue = fields.List(fields.Integer())


class SuggestionSchema(Schema):
    percent = fields.Integer(allow_none=True)
    sample = fields.Integer()
    basis = fields.String()
    probability = fields.Integer()
    probability_source = fields.String()


class ExchangeRateSchema(Schema):
    id = fields.Integer()
    currency = fields.String()
    base = fields.String()
    rate = fields.Decimal(as_string=True)
    valid_from = fields.Date()


class ExchangeRateCreateSchema(Schema):
    currency = fields.String(required=True, validate=CURRENCY)
    base = fields.String(required=True, validate=CURRENCY)
    # a decimal string like money ("1.25"); documented as one, bounds still enforced on input
    rate = fields.Decimal(required=True, allow_nan=False, as_string=True,
                          validate=validate.Range(min=0, min_inclusive=False, max=1_000_000_000))
    valid_from = fields.Date(required=True, validate=sane_date)
