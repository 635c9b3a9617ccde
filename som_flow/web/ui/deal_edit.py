"""The deal page edits the deal: one form per tab (Info, Opportunity, Profile, User defined), each read by the
API's patch schema and saved by the same service as PATCH /opportunities/{id}; and the customer/job picker's
lookup.

A refused form shows the deal page again (422) with every value as typed, each error beside its field in plain
words, and the edited tab open.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_login import current_user, login_required
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from som_flow.errors import ValidationFailed
from som_flow.schemas import ID, OpportunityPatchSchema
from som_flow.services import catalogs, users
from som_flow.services import customers as customer_service
from som_flow.services import opportunities
from som_flow.services.fields import REQUIRABLE_FIELDS, VALUE_TYPES, required_on_create
from som_flow.services.permissions import can_change_opportunity
from som_flow.web.errors import flatten_messages
from som_flow.web.ui.pages import render_deal

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
CATALOG_SELECTS = {
    "department": "departments", "marketing_channel": "marketing_channels", "marketing_source": "marketing_sources",
    "financing_activity": "financing_activities", "timeframe": "timeframes", "product": "products",
    "priority": "priorities", "currency": "currencies", "probability_level": "probability_levels",
}


@bp.before_request
@login_required
def _require_login():
    return None


class VersionField(Schema):
    version = fields.Integer(load_default=None, validate=ID)


# marshmallow's words → what a person reads beside the field
_PLAIN = [
    (re.compile(r"^(Missing data for required field|Field may not be null|Shorter than minimum length 1)\.$"),
     "Required."),
    (re.compile(r"^Not a valid integer\.$"), "Enter a whole number."),
    (re.compile(r"^Not a valid (number|decimal)\.$"), "Enter a number."),
    (re.compile(r"^Not a valid date\.$"), "Enter a date (YYYY-MM-DD)."),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"At most \1 characters."),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
     r"Enter a value from \1 to \2."),
    (re.compile(r"^Must be one of: .*$"), "Choose one of the listed values."),
    (re.compile(r"^Unknown value; choose from .*$"), "Choose one of the listed values."),
]


def plain(message: str) -> str:
    for pattern, words in _PLAIN:
        if pattern.match(message):
            return pattern.sub(words, message)
    return message


def _plain_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    # the patch schema's names → the form's ("customer_id" is typed into "customer")
    rename = {"customer_id": "customer", "job_id": "job", "opened_on": "date"}
    return {rename.get(name, name): [plain(m) for m in msgs] for name, msgs in errors.items()}


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
        return OpportunityPatchSchema().load(raw, unknown=EXCLUDE)
    except ValidationError as exc:
        raise ValidationFailed("Check the highlighted fields.", flatten_messages(exc.messages)) from None


# -- the customer/job picker -----------------------------------------------------------------------
_PICKED = re.compile(r"#(\d{1,9})\s*$")


def picker_label(customer) -> str:
    """How the picker shows a customer or job, and reads it back: its name and number."""
    return f"{customer.full_name} · #{customer.id}"


def _pick(text: str, field: str, among=None):
    """The customer (or job, `among` the customer's jobs) typed into the picker: its "#id", else the one whose
    name matches. Raises ValidationFailed naming `field` when none or several match."""
    found = _PICKED.search(text)
    if found:
        chosen = customer_service.find_customer(int(found.group(1)))
        candidates = [chosen] if chosen is not None else []
    elif among is not None:
        candidates = [c for c in among if text.lower() in (c.name.lower(), c.full_name.lower())]
    else:
        items, _ = customer_service.search_customers(q=text, per_page=20)
        exact = [c for c in items if text.lower() in (c.name.lower(), c.full_name.lower())]
        candidates = exact or items
    if among is not None:
        candidates = [c for c in candidates if c in among]
    if len(candidates) != 1:
        what = "a job of the customer" if among is not None else "a customer"
        raise ValidationFailed("Check the highlighted fields.",
                               {field: [f"Choose {what} from the list ({'none' if not candidates else 'several'} "
                                        f"match \u201c{text}\u201d)."]})
    return candidates[0]


@bp.route("/lookup/customers")
def lookup_customers():
    """The picker's suggestions: customers whose name has `q`, or the jobs of customer `parent`."""
    parent = request.args.get("parent", "")
    if parent.isdigit():
        customer = customer_service.find_customer(int(parent))
        rows = list(customer.jobs) if customer else []
    else:
        rows, _ = customer_service.search_customers(q=request.args.get("q", "")[:200], per_page=20)
    return jsonify([{"id": c.id, "label": picker_label(c)} for c in rows])


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
        raise ValidationFailed("Check the highlighted fields.", errors)
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
        raise ValidationFailed("Check the highlighted fields.", {"customer": ["Required."]})
    if text != picker_label(opp.customer):
        customer = _pick(text, "customer")
        data["customer_id"] = customer.id
    job_text = request.form.get("job", "").strip()
    if not job_text:
        data["job_id"] = None
    elif not (opp.job and job_text == picker_label(opp.job) and customer.id == opp.customer_id):
        data["job_id"] = _pick(job_text, "job", among=list(customer.jobs)).id


def _typed(kind: str, raw: str, choices: list):
    """A typed input's text as its value (None when blank); ValueError for a number that is none."""
    raw = raw.strip()
    if raw == "":
        return None
    if kind == "bool":
        return {"yes": True, "no": False}.get(raw, raw)
    if kind == "number":
        number = float(raw)
        return int(number) if number.is_integer() and "." not in raw else number
    return raw


def _typed_values(prefix: str, definitions: list[tuple[str, str, list]]) -> dict:
    values, errors = {}, {}
    for key, kind, choices in definitions:
        name = f"{prefix}.{key}"
        if name not in request.form:
            continue
        try:
            values[key] = _typed(kind, request.form.get(name, ""), choices)
        except ValueError:
            errors[name] = ["Enter a number."]
    if errors:
        raise ValidationFailed("Check the highlighted fields.", errors)
    return values


def _answers_and_custom(opp, group: str) -> dict:
    if group == "profile":
        questions = catalogs.list_questions(opp.kind.key if opp.kind else None)
        return {"answers": _typed_values("answers", [(q.key, q.answer_type, q.choices) for q in questions])}
    return {"custom": _typed_values("custom", [(f.key, f.type, f.choices) for f in catalogs.list_custom_fields()])}


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
            raise ValidationFailed("Reload the page and try again.", {}) from None
        data = (_info_and_opportunity(opp, group) if group in ("info", "opportunity")
                else _answers_and_custom(opp, group))
        opportunities.update_opportunity(current_user, opp_id, data, expected_version=version)
    except ValidationFailed as exc:
        errors = _plain_errors(exc.errors)
        flash("Not saved: " + ("check the fields marked below." if errors else exc.detail), "error")
        return render_deal(opp_id, edit_form=request.form, edit_errors=errors, editing=group, status=422)
    flash("Saved.", "ok")
    return redirect(url_for("pages.opportunity_page", opp_id=opp_id, _anchor=group))


# -- what the forms offer --------------------------------------------------------------------------
def edit_options(opp) -> dict:
    """The choices and required marks of the deal page's edit forms."""
    version = opp.kind_version
    stage = next((s for s in version.stages if s["key"] == opp.stage), None) if version else None
    return {
        "catalog": {field: [(e.key, e.name) for e in catalogs.list_entries(name)
                            if e.active or e.key == getattr(opp, field, None)]
                    for field, name in CATALOG_SELECTS.items()},
        "levels": {e.key: e.percent for e in catalogs.list_entries("probability_levels")},
        "reps": [(u.id, u.name) for u in users.list_reps()],
        "people": [(u.id, u.name) for u in users.list_active_users()],
        "office_required": set(required_on_create()),
        "stage_required": set(stage.get("required_fields") or []) if stage else set(),
        "stage_name": stage["name"] if stage else "",
        "can_assign": current_user.has_role("admin", "manager", "csr"),
        "can_edit": can_change_opportunity(current_user, opp) and not opp.closed,
        "value_types": VALUE_TYPES,
        "labels": REQUIRABLE_FIELDS,
        "picker_label": picker_label,
        "versioned": opp.version,
    }


@bp.app_context_processor
def _edit_helpers():
    return {"deal_edit_options": edit_options}
