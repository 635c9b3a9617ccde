"""The deal page edits the deal: one form per tab (Info, Opportunity, Profile, User defined), each read by the
API's patch schema and saved by the same service as PATCH /opportunities/{id}; and the customer/job picker's
lookup.

A refused form shows the deal page again (422) with every value as typed, each error beside its field in plain
words, and the edited tab open; so does a form of a version someone else has saved over since (409), whose
hidden version is then the stored one, so saving again replaces the newer values with the typed ones.
"""

from __future__ import annotations

import math

from flask import Blueprint, abort, flash, g, jsonify, redirect, request, url_for
from flask_login import current_user, login_required
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from som_flow.errors import StaleVersion, ValidationFailed
from som_flow.i18n import gettext
from som_flow.schemas import ID, OpportunityPatchSchema
from som_flow.services import catalogs, opportunities
from som_flow.web.errors import flatten_messages
from som_flow.web.forms import typed_number, typed_numbers
from som_flow.web.ui.deal_forms import edit_options, plain_errors
from som_flow.web.ui.pages import render_deal
from som_flow.web.ui.picker import pick, picker_label, suggestions

bp = Blueprint("deal_edit", __name__)

# each tab's form and the patch fields it edits (customer and job arrive as the picker's text)
GROUPS = {
    "info": ["title", "date", "description", "customer", "job", "address_choice", "department", "sales_rep",
             "employee_lead", "marketing_channel", "marketing_source", "financing_activity", "timeframe",
             "follow_up_date", "anticipated_close_date", "external_reference", "terms_of_sale"],
    "opportunity": ["product", "priority", "amount", "currency", "probability", "probability_level"],
    "profile": [],
    "custom": [],
}


@bp.before_request
@login_required
def _require_login():
    return None


class VersionField(Schema):
    version = fields.Integer(load_default=None, validate=ID)


def _raw(names: list[str]) -> dict:
    """The posted values of `names` for the patch schema: a blank clears a field that may be empty."""
    raw = {}
    for name in names:
        if name not in request.form:
            continue
        value = request.form.get(name, "").strip()
        if value or name == "description":
            raw[name] = value
        else:
            raw[name] = None  # clears the field, or the schema says it is required
    return raw


def _load(raw: dict) -> dict:
    try:
        schema = OpportunityPatchSchema()
        return schema.load(typed_numbers(schema, raw), unknown=EXCLUDE)
    except ValidationError as exc:
        raise ValidationFailed(gettext("Check the highlighted fields."), flatten_messages(exc.messages)) from None


# -- the customer/job picker ----------------------------------------------------------------------
@bp.route("/lookup/customers")
def lookup_customers():
    """The picker's suggestions: customers whose name has `q`, or the jobs of customer `parent`."""
    return jsonify(suggestions(request.args.get("q", ""), request.args.get("parent", "")))


# -- saving a tab ----------------------------------------------------------------------------------
def _info_and_opportunity(opp, group: str) -> dict:
    """The tab's fields through the patch schema, with the picker's customer and job; every refusal at once."""
    errors: dict[str, list[str]] = {}
    try:
        data = _load(_raw([n for n in GROUPS[group] if n not in ("customer", "job")]))
    except ValidationFailed as exc:
        data, errors = {}, dict(exc.errors)
    if group == "info":
        try:
            _customer_and_job(opp, data)
        except ValidationFailed as exc:
            errors.update(exc.errors)
        if data.get("sales_rep", opp.sales_rep_id) == opp.sales_rep_id:
            data.pop("sales_rep", None)  # unchanged: no assignment (which a rep may not do)
    if errors:
        raise ValidationFailed(gettext("Check the highlighted fields."), errors)
    if group == "opportunity" and request.form.get("probability_default"):
        data.pop("probability", None)
        data["probability_source"] = "stage_default"
    elif group == "opportunity" and data.get("probability") == opp.probability:
        data.pop("probability", None)  # unchanged: still the stage's default, not set by hand
    return data


def _customer_and_job(opp, data: dict) -> None:
    """The picker's customer and job into `data` (ids), when they changed. Raises ValidationFailed."""
    customer = opp.customer
    text = request.form.get("customer", "").strip()
    if not text:
        raise ValidationFailed(gettext("Check the highlighted fields."), {"customer": [gettext("Required.")]})
    if text != picker_label(opp.customer):
        customer = pick(text, "customer")
        data["customer_id"] = customer.id
    job_text = request.form.get("job", "").strip()
    if not job_text:
        data["job_id"] = None
    elif not (opp.job and job_text == picker_label(opp.job) and customer.id == opp.customer_id):
        data["job_id"] = pick(job_text, "job", among=list(customer.jobs)).id


def _typed(kind: str, raw: str):
    """A typed input's text as its value (None when blank); ValueError for a number that is none."""
    raw = raw.strip()
    if raw == "":
        return None
    if kind == "bool":
        return {"yes": True, "no": False}.get(raw, raw)
    if kind == "number":
        raw = typed_number(raw)  # as the page writes numbers in its language ("90,5" on a Norwegian page)
        number = float(raw)
        if not math.isfinite(number):
            raise ValueError(raw)
        return int(number) if number.is_integer() and "." not in raw else number
    return raw


def _typed_values(prefix: str, definitions: list[tuple[str, str]]) -> dict:
    """The posted `<prefix>.<key>` inputs as typed values (a blank one is None: removed by the merge)."""
    values, errors = {}, {}
    for key, kind in definitions:
        name = f"{prefix}.{key}"
        if name not in request.form:
            continue
        try:
            values[key] = _typed(kind, request.form.get(name, ""))
        except ValueError:
            errors[name] = ["Enter a number."]
    if errors:
        raise ValidationFailed(gettext("Check the highlighted fields."), errors)
    return values


def _answers_and_custom(opp, group: str) -> dict:
    if group == "profile":
        questions = catalogs.list_questions(opp.kind.key if opp.kind else None)
        return {"answers": _typed_values("answers", [(q.key, q.answer_type) for q in questions])}
    return {"custom": _typed_values("custom", [(f.key, f.type) for f in catalogs.list_custom_fields()])}


@bp.route("/opportunities/<int:opp_id>/edit/<group>", methods=["GET", "POST"])
def edit_deal(opp_id: int, group: str):
    if group not in GROUPS:
        abort(404)
    if request.method == "GET":  # a form's `next` after a refused edit: the deal page itself
        return redirect(url_for("pages.opportunity_page", opp_id=opp_id, _anchor=group))
    opp = opportunities.get_opportunity(opp_id)
    try:
        try:
            version = VersionField().load({"version": request.form.get("version") or None})["version"]
        except ValidationError:
            raise ValidationFailed(gettext("Reload the page and try again."), {}) from None
        data = (_info_and_opportunity(opp, group) if group in ("info", "opportunity")
                else _answers_and_custom(opp, group))
        opportunities.update_opportunity(current_user, opp_id, data, expected_version=version)
    except ValidationFailed as exc:
        errors = plain_errors(exc.errors)
        flash(gettext("Not saved: check the fields marked below.") if errors
              else gettext("Not saved: %(why)s", why=exc.detail), "error")
        return render_deal(opp_id, edit_form=request.form, edit_errors=errors, editing=group, status=422)
    except StaleVersion as exc:  # someone saved first: what was typed stays, against the version now stored
        current = opportunities.get_opportunity(opp_id)
        flash(gettext("Not saved: %(number)s has changed since you loaded it (version %(loaded)s, now %(version)s). "
                      "What you typed is kept below and the saved values are shown above; save again to replace "
                      "them with yours.", number=current.number, loaded=request.form.get("version") or "?",
                      version=current.version), "error")
        return render_deal(opp_id, edit_form=request.form, edit_errors={}, editing=group, status=exc.status)
    flash(gettext("Saved."), "ok")
    return redirect(url_for("pages.opportunity_page", opp_id=opp_id, _anchor=group))


def _options_once(opp=None) -> dict:
    """edit_options, worked out once per page (four tabs ask for them)."""
    cache = g.setdefault("deal_edit_options", {})
    key = opp.id if opp is not None else None
    if key not in cache:
        cache[key] = edit_options(opp)
    return cache[key]


@bp.app_context_processor
def _edit_helpers():
    return {"deal_edit_options": _options_once}
