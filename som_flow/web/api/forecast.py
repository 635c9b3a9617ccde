"""/forecast, /reports/pipeline, /exchange-rates: managers read the numbers; a rep alone sees their own deals."""

from __future__ import annotations

from som_flow.schemas.forecast import (
    CompareQuery,
    CompareRowSchema,
    ExchangeRateCreateSchema,
    ExchangeRateSchema,
    ForecastQuery,
    ForecastSchema,
    ReportQuery,
    ReportSchema,
    SnapshotCreateSchema,
    SnapshotSchema,
    SuggestionSchema,
)
from som_flow.services import catalogs, forecast, reports
from som_flow.services.opportunities import get_opportunity
from som_flow.web.api.common import Blueprint
from som_flow.web.auth import ANY_ROLE, api_user, roles_required

blp = Blueprint("forecast", __name__, description="Forecast, pipeline report and exchange rates")
READERS = ("manager", "rep")


@blp.route("/forecast")
@roles_required(*READERS)
@blp.arguments(ForecastQuery, location="query")
@blp.response(200, ForecastSchema)
def get_forecast(query):
    """The weighted forecast of open deals, grouped and converted to one currency."""
    group_by, currency = query.pop("group_by"), query.pop("currency", None)
    filters = forecast.Filters.for_user(api_user(), **query)
    return forecast.forecast(api_user(), group_by=group_by, currency=currency, filters=filters)


@blp.route("/forecast/compare")
@roles_required(*READERS)
@blp.arguments(CompareQuery, location="query")
@blp.response(200, CompareRowSchema(many=True))
def compare_forecast(query):
    """Per period, the forecast snapshot taken before it beside what was won in it."""
    return forecast.forecast_vs_actual(api_user(), **query)


@blp.route("/forecast/snapshots", methods=["POST"])
@roles_required("manager")
@blp.arguments(SnapshotCreateSchema)
@blp.response(201, SnapshotSchema)
def take_snapshot(data):
    """Take a forecast snapshot now."""
    return forecast.take_snapshot(data.get("currency"), force=True)


@blp.route("/reports/pipeline")
@roles_required(*READERS)
@blp.arguments(ReportQuery, location="query")
@blp.response(200, ReportSchema)
def pipeline_report(query):
    """The pipeline report: funnel, win rates, stuck and overdue deals."""
    currency = query.pop("currency", None)
    filters = forecast.Filters.for_user(api_user(), status="all", **query)
    return reports.pipeline_report(api_user(), filters=filters, currency=currency)


@blp.route("/opportunities/<int:opp_id>/probability-suggestion")
@roles_required(*ANY_ROLE)
@blp.response(200, SuggestionSchema)
def probability_suggestion(opp_id):
    """The won share of similar decided deals, as a suggested probability."""
    opp = get_opportunity(opp_id)
    return {**reports.suggested_probability(opp), "probability": opp.probability,
            "probability_source": opp.probability_source}


@blp.route("/exchange-rates")
@roles_required(*ANY_ROLE)
@blp.response(200, ExchangeRateSchema(many=True))
def list_exchange_rates():
    """List the dated exchange rates."""
    return catalogs.list_exchange_rates()


@blp.route("/exchange-rates", methods=["POST"])
@roles_required()
@blp.arguments(ExchangeRateCreateSchema)
@blp.response(201, ExchangeRateSchema)
def set_exchange_rate(data):
    """Set an exchange rate from a date on."""
    return catalogs.set_exchange_rate(**data)
