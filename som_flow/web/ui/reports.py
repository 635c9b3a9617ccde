"""/forecast: the weighted forecast with a chart, the pipeline report, forecast vs actual — and CSV of each table."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import Schema, fields, validate

from som_flow.errors import Forbidden, SomFlowError
from som_flow.i18n import gettext
from som_flow.models import Opportunity
from som_flow.schemas import ID, sane_date
from som_flow.services import catalogs, csv_io, forecast, kinds, opportunities, reports, users
from som_flow.web.formatting import money
from som_flow.web.forms import load_args

bp = Blueprint("reports", __name__)
READERS = ("admin", "manager", "rep")


@bp.before_request
@login_required
def _readers_only():
    if not current_user.has_role(*READERS):
        raise Forbidden(gettext("The forecast is for managers and reps."))


class ForecastPageQuery(Schema):
    """The page's choices; the API's bounds (dates 1900-2200, ids), its enumerations falling back to defaults."""

    group_by = fields.String(load_default="month")
    currency = fields.String(validate=validate.Length(max=3))
    from_ = fields.Date(data_key="from", load_default=None, validate=sane_date)
    to = fields.Date(load_default=None, validate=sane_date)
    kind = fields.String(load_default=None)
    rep = fields.Integer(load_default=None, validate=ID)
    period = fields.String(load_default="quarter")


def _choices() -> dict:
    """What the page was asked for, with defaults; a date out of range or a bad rep id is a 422 naming it."""
    choice = load_args(ForecastPageQuery())
    choice["group_by"] = choice["group_by"] if choice["group_by"] in forecast.GROUP_BY else "month"
    choice["currency"] = (choice.get("currency") or current_app.config["DEFAULT_CURRENCY"]).upper()
    choice["period"] = "month" if choice["period"] == "month" else "quarter"
    return choice


TABLES = ("forecast", "report", "compare")
# which computed table each CSV comes from
CSV_SOURCES = {"forecast": "forecast", "compare": "compare", "funnel": "report", "lost_reasons": "report",
               "win_rate_rep": "report", "win_rate_kind": "report", "win_rate_source": "report",
               "stuck": "report", "overdue": "report"}


def _tables(choice: dict, wanted: tuple[str, ...] = TABLES) -> dict:
    """The tables asked for (the page wants all three, a CSV one); a missing exchange rate raises."""
    tables = {}
    if "forecast" in wanted:
        filters = forecast.Filters.for_user(current_user, from_=choice["from_"], to=choice["to"],
                                            kind=choice["kind"], rep=choice["rep"])
        tables["forecast"] = forecast.forecast(current_user, group_by=choice["group_by"],
                                               currency=choice["currency"], filters=filters)
    if "report" in wanted:
        filters = forecast.Filters.for_user(current_user, status="all", from_=choice["from_"], to=choice["to"],
                                            kind=choice["kind"], rep=choice["rep"])
        tables["report"] = reports.pipeline_report(current_user, filters=filters, currency=choice["currency"])
    if "compare" in wanted:
        tables["compare"] = forecast.forecast_vs_actual(current_user, period=choice["period"],
                                                        currency=choice["currency"])
    return tables


def _deals(ids: list[int], limit: int | None = 200) -> list[Opportunity]:
    """The deals behind a list of ids, in that order (the page shows the first `limit`; a CSV all)."""
    return opportunities.get_many(ids[:limit] if limit else ids)


def _chart(groups: list[dict]) -> list[dict]:
    """Bar lengths (percent of the widest) for the amount and weighted bars."""
    widest = max((g["amount"] for g in groups), default=0) or 1
    return [{**g, "amount_pct": float(100 * g["amount"] / widest), "weighted_pct": float(100 * g["weighted"] / widest)}
            for g in groups]


@bp.route("/forecast")
def forecast_page():
    choice = _choices()
    context = {"choice": choice, "kinds": kinds.list_kinds(), "reps": [u for u in users.list_users()
                                                                       if u.has_role("rep")],
               "currencies": [e.key for e in catalogs.list_entries("currencies")],
               "is_manager": current_user.has_role("admin", "manager"), "args": request.args.to_dict()}
    try:
        tables = _tables(choice)
    except SomFlowError as exc:
        # a missing rate: say which pair, and where to add it; never show a raw cross-currency sum
        message = "; ".join(exc.errors.get("currency", [])) or exc.detail
        return render_template("forecast.html", error=message, **context), exc.status
    tables["chart"] = _chart(tables["forecast"]["groups"])
    tables["stuck"] = _deals(tables["report"]["stuck"])
    tables["overdue"] = _deals(tables["report"]["overdue"])
    return render_template("forecast.html", error=None, **context, **tables)


@bp.route("/forecast/snapshot", methods=["POST"])
def snapshot_now():
    if not current_user.has_role("admin", "manager"):
        raise Forbidden(gettext("Only managers take forecast snapshots."))
    taken = forecast.take_snapshot(request.form.get("currency") or None, force=True)
    flash(gettext("Snapshot taken: weighted %(total)s.", total=money(taken.weighted_total, taken.currency)), "ok")
    return redirect(url_for("reports.forecast_page"))


def _rows(name: str, tables: dict, currency: str) -> tuple[list[str], list[list]]:
    if name == "forecast":
        result = tables["forecast"]
        return (["key", "label", "count", "amount", "weighted", "currency"],
                [[g["key"], g["label"], g["count"], g["amount"], g["weighted"], currency] for g in result["groups"]])
    if name == "compare":
        return (["period", "snapshot_taken_at", "forecast_amount", "forecast_weighted", "won", "currency"],
                [[r["period"], r["snapshot_taken_at"], r["forecast_amount"], r["forecast_weighted"], r["won"],
                  currency] for r in tables["compare"]])
    report = tables["report"]
    if name == "funnel":
        return (["stage", "name", "entered", "advanced", "conversion", "average_days_in_stage"],
                [[r["stage"], r["name"], r["entered"], r["advanced"], r["conversion"], r["average_days_in_stage"]]
                 for r in report["funnel"]])
    if name == "lost_reasons":
        return ["reason", "count"], [[r["reason"], r["count"]] for r in report["lost_reasons"]]
    if name.startswith("win_rate_"):
        by = name.removeprefix("win_rate_")
        return ([by, "won", "decided", "win_rate"],
                [[r.get("name") or r[by], r["won"], r["decided"], r["win_rate"]] for r in report["win_rate_by"][by]])
    deals = _deals(report[name], limit=None)  # stuck / overdue
    return (["id", "number", "title", "stage", "stage_entered_at", "anticipated_close_date", "amount", "currency"],
            [[o.id, o.number, o.title, o.stage, o.stage_entered_at, o.anticipated_close_date, o.amount, o.currency]
             for o in deals])


@bp.route("/forecast/<name>.csv")
def export_csv(name: str):
    if name not in CSV_SOURCES:
        return render_template("error.html", status=404, title="Not found", detail=f"No table {name!r}."), 404
    choice = _choices()
    header, rows = _rows(name, _tables(choice, (CSV_SOURCES[name],)), choice["currency"])
    return Response(csv_io.write_table(header, rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
