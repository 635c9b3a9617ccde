"""Customer pages: the Customer:Job list, and one customer with its jobs, contacts, contact log and deals."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import Schema, fields

from som_flow.models.customers import CUSTOMER_STATUSES
from som_flow.schemas import ID
from som_flow.schemas.customers import CustomerCreateSchema
from som_flow.services import contact_log, job_work, kinds
from som_flow.services import customers as customer_service
from som_flow.services import users as user_service
from som_flow.web.forms import load_form, local_datetime
from som_flow.web.redirects import return_to
from som_flow.web.ui.activities import customer_context

bp = Blueprint("customer_pages", __name__)


@bp.before_request
@login_required
def _require_login():
    return None


def _can_write() -> bool:
    return current_user.has_role("admin", *contact_log.WRITERS)


def _zone() -> ZoneInfo:
    try:
        return ZoneInfo(current_user.timezone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _utc(at: datetime | None) -> datetime | None:
    return at.astimezone(UTC) if at else None


def _local(at: datetime) -> str:
    return at.astimezone(_zone()).strftime("%Y-%m-%d %H:%M %Z")


@bp.route("/customers")
def customers_page():
    q, status = (request.args.get("q") or "").strip(), request.args.get("status") or ""
    items, total = customer_service.search_customers(q or None, status if status in CUSTOMER_STATUSES else None,
                                                     per_page=200)
    return render_template("customers.html", items=sorted(items, key=customer_service.path), total=total, q=q,
                           status=status, statuses=CUSTOMER_STATUSES, can_write=_can_write())


@bp.route("/customers", methods=["POST"])
def create_customer():
    return_to(url_for("customer_pages.customers_page"))  # a refusal is flashed there (web/errors.py)
    data = load_form(CustomerCreateSchema(), ["name", "kind", "status"])
    customer = customer_service.create_customer(current_user, data)
    flash(f"{customer.name} added.", "ok")
    return redirect(url_for("customer_pages.customer_page", customer_id=customer.id))


@bp.route("/customers/<int:customer_id>")
def customer_page(customer_id: int):
    customer = customer_service.get_customer(customer_id)
    users = user_service.list_active_users()
    # standard kinds first: the one most interactions turn into
    allowed = sorted((k for k in kinds.list_kinds() if k.allowed), key=lambda k: k.type != "standard")
    return render_template(
        "customer.html", customer=customer, entries=contact_log.list_entries(customer_id),
        opportunities=customer_service.opportunities_of(customer), channels=contact_log.CHANNEL_NAMES,
        kinds=allowed, users=users, can_write=_can_write(), local=_local, ancestors=_ancestors(customer),
        job_work=[(work, job_work.tasks_of(work)) for work in job_work.work_of_job(customer)],
        **customer_context(customer_id))


def _ancestors(customer) -> list:
    chain, parent = [], customer.parent
    while parent is not None:
        chain.insert(0, parent)
        parent = parent.parent
    return chain


class ContactUserForm(Schema):
    user_id = fields.Integer(validate=ID)


@bp.route("/customers/<int:customer_id>/contact-log", methods=["POST"])
def log_contact(customer_id: int):
    form = request.form
    back_to_log = url_for("customer_pages.customer_page", customer_id=customer_id) + "#contact-log"
    return_to(back_to_log)
    contact_log.log_contact(current_user, customer_id, channel=form.get("channel", ""),
                            summary=form.get("summary", ""), at=_utc(local_datetime("at", _zone(), "time")),
                            user_id=load_form(ContactUserForm(), ["user_id"]).get("user_id"))
    flash("Logged.", "ok")
    return redirect(back_to_log)


@bp.route("/customers/<int:customer_id>/contact-log/<int:entry_id>/opportunity", methods=["POST"])
def opportunity_from_entry(customer_id: int, entry_id: int):
    form = request.form
    data = {"kind": form.get("kind", ""), "title": form.get("title", "").strip() or None}
    return_to(url_for("customer_pages.customer_page", customer_id=customer_id) + "#contact-log")
    opp = contact_log.create_opportunity_from_entry(current_user, customer_id, entry_id, data)
    flash(f"{opp.number} created from the interaction.", "ok")
    if opp.customer.credit_hold:
        flash(f"{opp.customer.name} is on credit hold.", "error")
    return redirect(url_for("pages.opportunity_page", opp_id=opp.id))
