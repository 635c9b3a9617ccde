"""The deal page's documents (estimates, parties, primary demand) and undoing a deal made by mistake (archive,
delete): the same services and schemas as the API. A refused form is shown again as typed, each message
beside its field."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from som_flow.errors import ValidationFailed
from som_flow.i18n import gettext
from som_flow.schemas import DemandLinePatchSchema, DemandLineSchema
from som_flow.schemas.documents import EstimateCreateSchema, EstimateLineSchema, PartySchema
from som_flow.services import appointments, archive, catalogs, customers, estimates
from som_flow.services.guards import get_opportunity
from som_flow.services.permissions import can_change_opportunity
from som_flow.services.unit_of_work import now
from som_flow.web.formatting import money
from som_flow.web.forms import load_form, refused, typed_numbers
from som_flow.web.i18n import localized
from som_flow.web.redirects import return_to
from som_flow.web.ui.pages import render_deal

bp = Blueprint("deal_docs", __name__)

BLANK_LINES = 5  # rows a new estimate offers without JavaScript (with it, "Add a line" adds more)
LINE_FIELDS = ("description", "quantity", "price")
DEMAND_FIELDS = ["product", "description", "quantity", "amount", "comment"]


@bp.before_request
@login_required
def _require_login():
    return None


@bp.app_template_global()
def deal_documents(opp) -> dict:
    """What the deal page's document forms and outcome dialogs choose from (read by their templates; worked out
    once per request)."""
    # kept in the request's environ, not `g`: an app context may outlive one request (tests, embedded use)
    cached = request.environ.get("som_flow.deal_documents")
    if cached is None or cached[0] != opp.id:
        cached = request.environ["som_flow.deal_documents"] = (opp.id, _documents(opp))
    return cached[1]


def _documents(opp) -> dict:
    zone = ZoneInfo(current_user.timezone or "UTC")
    contacts = list(opp.customer.contacts) + (list(opp.job.contacts) if opp.job else [])
    # a won deal's job: what moved to it (seed 001: the estimate and the appointments)
    on_job = ([e.number for e in estimates.list_estimates(opp.id) if e.customer_id == opp.job_id]
              + [f"appointment {a.title}" for a in appointments.appointments_of(opp.id) if a.customer_id == opp.job_id]
              if opp.job_id else [])
    return {
        "won_reasons": localized(catalogs.list_entries("won_reasons", active_only=True)),
        "products": localized(catalogs.list_entries("products", active_only=True)),
        "job_name": customers.job_name(opp),
        "today": now().astimezone(zone).date().isoformat(),
        "partners": [c for c in customers.list_top_level_customers() if c.id != opp.customer_id],
        "contacts": contacts,
        "on_job": on_job,
        "blank_lines": BLANK_LINES,
        "can_change": can_change_opportunity(current_user, opp),
        "can_undo": current_user.has_role(*archive.UNDOERS),
        "removal": archive.removal_summary(opp) if current_user.has_role(*archive.UNDOERS) else None,
    }


def _deal_url(opp_id: int, tab: str | None = None) -> str:
    return url_for("pages.opportunity_page", opp_id=opp_id) + (f"#{tab}" if tab else "")


def _refused(opp_id: int, open_form: str, exc: ValidationFailed):
    """The deal page again with `open_form` open, as typed, each message beside its field. (A Conflict — a closed
    deal, an estimate no longer a draft — is about no value typed: it is flashed, as web/errors.py does.)"""
    return render_deal(opp_id, open_form=open_form, form=request.form, errors=exc.errors, refusal=exc.detail,
                       status=exc.status)


def _lines() -> tuple[list[dict], list[int]]:
    """The estimate form's rows (`lines-<n>-<field>`) that are not blank, and each one's row number on the form
    (a message about the second line given is shown beside the row it was typed in)."""
    rows: dict[int, dict] = {}
    for name, value in request.form.items():
        match = re.fullmatch(r"lines-(\d{1,3})-(\w+)", name)
        if match and match.group(2) in LINE_FIELDS:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value.strip()
    kept = [n for n in sorted(rows) if any(rows[n].values())]
    return [{k: v for k, v in rows[n].items() if v} for n in kept], kept


def _load_lines() -> list[dict]:
    """The typed lines through the API's schema. Raises ValidationFailed keyed `lines-<row>-<field>`."""
    lines, rows = _lines()
    try:
        line_schema = EstimateLineSchema()
        return EstimateCreateSchema().load({"lines": [typed_numbers(line_schema, line) for line in lines]})["lines"]
    except ValidationError as exc:
        raise _on_rows(refused(exc.messages), rows) from None


def _on_rows(exc: ValidationFailed, rows: list[int]) -> ValidationFailed:
    """`lines.1.price` → `lines-<the form's row>-price`, the name of the field it is about."""
    errors = {}
    for name, messages in exc.errors.items():
        match = re.fullmatch(r"lines\.(\d+)\.(\w+)", name)
        if match and int(match.group(1)) < len(rows):
            name = f"lines-{rows[int(match.group(1))]}-{match.group(2)}"
        elif name == "lines":
            messages = ["Fill in at least one line: a description, a quantity and a price."]
        errors[name] = messages
    detail = "Check the lines: " + "; ".join(f"{n.replace('-', ' ')}: {' '.join(m)}" for n, m in errors.items())
    return ValidationFailed(detail, errors)


# -- estimates ------------------------------------------------------------------------------------------
@bp.route("/opportunities/<int:opp_id>/estimates", methods=["POST"])
def create_estimate(opp_id: int):
    return_to(_deal_url(opp_id, "estimates"))
    try:
        estimate = estimates.create_estimate(current_user, opp_id, _load_lines())
    except ValidationFailed as exc:
        return _refused(opp_id, "estimate-new", exc)
    flash(gettext("%(number)s written: %(total)s.", number=estimate.number,
                  total=money(estimate.total, estimate.currency)), "ok")
    return redirect(_deal_url(opp_id, "estimates"))


@bp.route("/estimates/<int:estimate_id>/lines", methods=["POST"])
def edit_estimate(estimate_id: int):
    opp_id = estimates.get_estimate(estimate_id).opportunity_id
    return_to(_deal_url(opp_id, "estimates"))
    try:
        estimate = estimates.update_estimate(current_user, estimate_id, _load_lines())
    except ValidationFailed as exc:
        return _refused(opp_id, f"estimate-{estimate_id}", exc)
    flash(gettext("%(number)s changed: %(total)s.", number=estimate.number,
                  total=money(estimate.total, estimate.currency)), "ok")
    return redirect(_deal_url(opp_id, "estimates"))


@bp.route("/estimates/<int:estimate_id>/select", methods=["POST"])
def select_estimate(estimate_id: int):
    opp_id = estimates.get_estimate(estimate_id).opportunity_id
    return_to(_deal_url(opp_id, "estimates"))
    estimate = estimates.select_estimate(current_user, estimate_id)
    flash(gettext("%(number)s selected: the amount is now %(total)s.", number=estimate.number,
                  total=money(estimate.total, estimate.currency)), "ok")
    return redirect(_deal_url(opp_id, "estimates"))


# -- parties --------------------------------------------------------------------------------------------
@bp.route("/opportunities/<int:opp_id>/parties", methods=["POST"])
def add_party(opp_id: int):
    return_to(_deal_url(opp_id, "parties"))
    role = request.form.get("role", "")
    try:
        data = load_form(PartySchema(), ["role", "customer_id", "contact_id", "name"])
        party = customers.add_party(current_user, opp_id, data)
    except ValidationFailed as exc:
        if "name" in exc.errors:  # the service names the API's three ways; the form offers a list and a name
            exc.errors["name"] = ["Choose one from the list or type a name."]
        return _refused(opp_id, f"party-{role}", exc)
    flash(gettext("%(name)s added as partner.", name=party.name) if party.role == "partner" else
          gettext("%(name)s added as contact person.", name=party.name), "ok")
    return redirect(_deal_url(opp_id, "parties"))


@bp.route("/opportunities/<int:opp_id>/parties/<int:party_id>/remove", methods=["POST"])
def remove_party(opp_id: int, party_id: int):
    return_to(_deal_url(opp_id, "parties"))
    customers.remove_party(current_user, opp_id, party_id)
    flash(gettext("Removed from the deal."), "ok")
    return redirect(_deal_url(opp_id, "parties"))


# -- primary demand -------------------------------------------------------------------------------------
@bp.route("/opportunities/<int:opp_id>/demand", methods=["POST"])
def add_demand(opp_id: int):
    return_to(_deal_url(opp_id, "parties"))
    try:
        line = estimates.add_demand(current_user, opp_id, load_form(DemandLineSchema(), DEMAND_FIELDS))
    except ValidationFailed as exc:
        return _refused(opp_id, "demand-new", exc)
    flash(gettext("Demand added: %(line)s.", line=line.description), "ok")
    return redirect(_deal_url(opp_id, "parties"))


@bp.route("/opportunities/<int:opp_id>/demand/<int:line_id>", methods=["POST"])
def edit_demand(opp_id: int, line_id: int):
    return_to(_deal_url(opp_id, "parties"))
    try:
        data = load_form(DemandLinePatchSchema(), DEMAND_FIELDS)
        # a field emptied on the form is cleared, not kept: the form always shows every field
        data.setdefault("product", None)
        data.setdefault("comment", "")
        line = estimates.update_demand(current_user, opp_id, line_id, data)
    except ValidationFailed as exc:
        return _refused(opp_id, f"demand-{line_id}", exc)
    flash(gettext("Demand changed: %(line)s.", line=line.description), "ok")
    return redirect(_deal_url(opp_id, "parties"))


@bp.route("/opportunities/<int:opp_id>/demand/<int:line_id>/remove", methods=["POST"])
def remove_demand(opp_id: int, line_id: int):
    return_to(_deal_url(opp_id, "parties"))
    estimates.remove_demand(current_user, opp_id, line_id)
    flash(gettext("Demand line removed."), "ok")
    return redirect(_deal_url(opp_id, "parties"))


# -- undoing a deal made by mistake --------------------------------------------------------------------
@bp.route("/opportunities/<int:opp_id>/archive", methods=["POST"])
def archive_opportunity(opp_id: int):
    return_to(_deal_url(opp_id))
    opp = archive.archive_opportunity(current_user, opp_id)
    flash(gettext("%(number)s archived: it no longer shows in lists, the board or the forecast.", number=opp.number),
          "ok")
    return redirect(_deal_url(opp_id))


@bp.route("/opportunities/<int:opp_id>/unarchive", methods=["POST"])
def unarchive_opportunity(opp_id: int):
    return_to(_deal_url(opp_id))
    opp = archive.unarchive_opportunity(current_user, opp_id)
    flash(gettext("%(number)s is back in the lists.", number=opp.number), "ok")
    return redirect(_deal_url(opp_id))


@bp.route("/opportunities/<int:opp_id>/delete", methods=["POST"])
def delete_opportunity(opp_id: int):
    return_to(_deal_url(opp_id))
    number = get_opportunity(opp_id).number
    archive.delete_opportunity(current_user, opp_id)
    flash(gettext("%(number)s deleted.", number=number), "ok")
    return redirect(url_for("pages.opportunities"))
