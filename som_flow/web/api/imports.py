"""CSV out (/customers.csv, /opportunities.csv) and in (/imports/customers, /imports/opportunities)."""

from __future__ import annotations

from flask import Response, jsonify, request
from marshmallow import Schema, fields, validate

from som_flow.errors import ValidationFailed
from som_flow.i18n import gettext
from som_flow.schemas import OpportunityQuery
from som_flow.services import csv_io
from som_flow.web.api.common import Blueprint, require_media_type
from som_flow.web.api.openapi import text_schema
from som_flow.web.auth import ANY_ROLE, api_user, roles_required

blp = Blueprint("imports", __name__, description="CSV export and import of customers and opportunities")

IMPORT_ROLES = ("manager",)  # and admin, who always passes
CSV_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": text_schema("CSV with a header row")},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                       "properties": {"file": {"type": "string", "format": "binary"}}}},
}}}


class CustomerExportQuery(Schema):
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    status = fields.String(load_default=None, validate=validate.OneOf(["prospect", "active", "inactive"]))


class OpportunityExportQuery(OpportunityQuery):
    sort = fields.String(load_default="id", validate=OpportunityQuery._declared_fields["sort"].validate)

    class Meta:
        exclude = ("page", "per_page")


class ImportQuery(Schema):
    dry_run = fields.Boolean(load_default=False)


class RowReportSchema(Schema):
    line = fields.Integer()
    ok = fields.Boolean()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class ImportReportSchema(Schema):
    rows = fields.List(fields.Nested(RowReportSchema))
    created = fields.Integer()
    dry_run = fields.Boolean()


def _csv(text: str, name: str) -> Response:
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _upload() -> str:
    """The CSV text: the request body, or the `file` field of a multipart form."""
    require_media_type("text/csv", "multipart/form-data")
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed(gettext("Send the CSV as the form field 'file'"), {"file": [gettext("Missing.")]})
        return csv_io.decode(upload.read())
    return csv_io.decode(request.get_data())


def _answer(report: dict):
    """201 with the report; 200 for a dry run; 422 problem+json (with the report) when a row failed."""
    if report["dry_run"]:
        return report, 200
    failed = [r for r in report["rows"] if not r["ok"]]
    if not failed:
        return report, 201
    errors = {f"{r['line']}.{field}": messages for r in failed for field, messages in r["errors"].items()}
    lines = ", ".join(str(r["line"]) for r in failed)
    response = jsonify({"type": "about:blank", "title": "Unprocessable entity", "status": 422,
                        "detail": f"{len(failed)} row(s) have errors (lines {lines}); nothing was imported.",
                        "errors": errors, **report})
    response.status_code = 422
    response.mimetype = "application/problem+json"
    return response


@blp.route("/customers.csv")
@roles_required(*ANY_ROLE)
@blp.arguments(CustomerExportQuery, location="query")
@blp.response(200, text_schema("CSV with a header row"), content_type="text/csv",
              description="Customers and jobs as CSV, parents first")
def export_customers(query):
    """Export customers and their jobs as CSV (the import's columns)."""
    return _csv(csv_io.export_customers(query["q"], query["status"]), "customers.csv")


@blp.route("/opportunities.csv")
@roles_required(*ANY_ROLE)
@blp.arguments(OpportunityExportQuery, location="query")
@blp.response(200, text_schema("CSV with a header row"), content_type="text/csv", description="Opportunities as CSV")
def export_opportunities(query):
    """Export the opportunities the caller may see, filtered like the list, as CSV."""
    return _csv(csv_io.export_opportunities(api_user(), **query), "opportunities.csv")


@blp.route("/imports/customers", methods=["POST"])
@roles_required(*IMPORT_ROLES)
@blp.arguments(ImportQuery, location="query")
@blp.doc(**CSV_BODY)
@blp.response(201, ImportReportSchema)
@blp.alt_response(200, schema=ImportReportSchema, description="The dry run's report")
def import_customers(query):
    """Import customers from CSV, all or nothing; `dry_run` reports what would happen."""
    return _answer(csv_io.import_customers(api_user(), _upload(), dry_run=query["dry_run"]))


@blp.route("/imports/opportunities", methods=["POST"])
@roles_required(*IMPORT_ROLES)
@blp.arguments(ImportQuery, location="query")
@blp.doc(**CSV_BODY)
@blp.response(201, ImportReportSchema)
@blp.alt_response(200, schema=ImportReportSchema, description="The dry run's report")
def import_opportunities(query):
    """Import opportunities from CSV, all or nothing; `dry_run` reports what would happen."""
    return _answer(csv_io.import_opportunities(api_user(), _upload(), dry_run=query["dry_run"]))
