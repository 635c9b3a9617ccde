"""Customer pages: the Customer:Job list (paged, new customers with a same-name warning), and one customer with
its jobs, contacts, contact log and deals, each section edited in its own form."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import Schema, ValidationError, fields

from som_flow.errors import ValidationFailed
from som_flow.i18n import N_, gettext
from som_flow.models.customers import CUSTOMER_KINDS, CUSTOMER_STATUSES
from som_flow.schemas import ID
from som_flow.schemas.customers import (
    ContactPatchSchema,
    ContactSchema,
    CustomerCreateSchema,
    CustomerPatchSchema,
    CustomerQuery,
)
from som_flow.services import contact_log, job_work, kinds
from som_flow.services import customers as customer_service
from som_flow.services import users as user_service
from som_flow.services.permissions import require_role
from som_flow.web.forms import load_args, load_form, local_datetime, refused
from som_flow.web.redirects import return_to
from som_flow.web.ui.activities import customer_context
from som_flow.web.ui.deal_forms import plain

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


PLAIN_WORDS = {  # marshmallow's phrasing, said the way the office says it (in the reader's language)
    "Missing data for required field.": N_("Fill this in."),
    "Shorter than minimum length 1.": N_("Fill this in."),
    "Length must be between 1 and 200.": N_("Fill this in (at most 200 characters)."),
    "Field may not be null.": N_("Fill this in."),
    "Not a valid email address.": N_("Give an e-mail address like name@example.com."),
}
ADDRESS_PARTS = ("street", "zip", "city", "state", "country")
# each section of the customer page edits these fields, through the API's PATCH schema
SECTIONS = {"details": ("name", "kind", "status", "email", "phone"),
            "addresses": tuple(f"{a}.{p}" for a in ("bill_to", "work_address") for p in ADDRESS_PARTS),
            "payment": ("payment_terms", "credit_hold"),
            "popup": ("popup_notes", "popup_on_open")}
FLAGS = ("credit_hold", "popup_on_open")


def _plain(errors: dict) -> dict:
    return {name: [gettext(PLAIN_WORDS[m]) if m in PLAIN_WORDS else plain(m) for m in msgs]
            for name, msgs in errors.items()}


def _posted(names) -> dict:
    """The posted fields as the PATCH body: blanks clear a field (None; "" for texts that are never null),
    checkboxes are present or not, "bill_to.city" nests into bill_to."""
    form, raw = request.form, {}
    for name in names:
        if name in FLAGS:
            raw[name] = name in form
        elif "." in name:
            address, part = name.split(".")
            value = form.get(name, "").strip()
            raw.setdefault(address, {})
            if value:
                raw[address][part] = value
        elif name in ("name", "kind", "status", "popup_notes"):
            raw[name] = form.get(name, "").strip()
        else:
            raw[name] = form.get(name, "").strip() or None
    return raw


def _load(schema, raw: dict) -> dict:
    """`raw` through `schema`; raises ValidationFailed naming each field in plain words."""
    try:
        return schema.load(raw)
    except ValidationError as exc:
        failed = refused(exc.messages)
        raise ValidationFailed(failed.detail, _plain(failed.errors)) from None


def _list_url(**changes) -> str:
    args = {k: v for k, v in request.args.items() if v.strip()}
    args.update(changes)
    return url_for("customer_pages.customers_page", **{k: v for k, v in args.items() if v is not None})


def _customer_list(form=None, errors=None, duplicates=(), status_code=200):
    query = load_args(CustomerQuery())
    items, total = customer_service.search_customers(query["q"], query["status"], query["page"], query["per_page"])
    return render_template(
        "customers.html", items=items, total=total, q=query["q"] or "", status=query["status"] or "",
        statuses=CUSTOMER_STATUSES, status_options=[(s, s.capitalize()) for s in CUSTOMER_STATUSES],
        can_write=_can_write(), page=query["page"],
        pages=max(1, -(-total // query["per_page"])), list_url=_list_url, form=form or {}, errors=errors or {},
        duplicates=duplicates), status_code


@bp.route("/customers")
def customers_page():
    return _customer_list()


def _duplicates(name: str, parent_id: int | None) -> list:
    """Same-named customers (or jobs of the same customer) a new one would duplicate, unless the user said
    "create anyway"."""
    if request.form.get("allow_duplicate") or not name.strip():
        return []
    return customer_service.customers_named(name, parent_id=parent_id)


@bp.route("/customers", methods=["POST"])
def create_customer():
    _writer(url_for("customer_pages.customers_page"))
    try:
        data = _load(CustomerCreateSchema(), {k: v for k in ("name", "kind", "status")
                                              if (v := request.form.get(k, "").strip())})
    except ValidationFailed as exc:  # shown again as typed, each message beside its field
        return _customer_list(form=request.form, errors=exc.errors, status_code=422)
    same = _duplicates(data["name"], None)
    if same:
        return _customer_list(form=request.form, duplicates=same, status_code=409)
    customer = customer_service.create_customer(current_user, data)
    flash(gettext("%(name)s added.", name=customer.name), "ok")
    return redirect(url_for("customer_pages.customer_page", customer_id=customer.id))


def _writer(back_to: str) -> None:
    """Refuse a user who may not edit customers before reading the form (flashed on `back_to`)."""
    return_to(back_to)
    require_role(current_user, *customer_service.WRITERS)


def _page_url(customer_id: int, anchor: str = "") -> str:
    return url_for("customer_pages.customer_page", customer_id=customer_id) + (f"#{anchor}" if anchor else "")


def _customer_page(customer_id: int, *, failed: str = "", form=None, errors=None, duplicates=(), status_code=200):
    customer = customer_service.get_customer(customer_id)
    users = user_service.list_active_users()
    # standard kinds first: the one most interactions turn into
    allowed = sorted((k for k in kinds.list_kinds() if k.allowed), key=lambda k: k.type != "standard")
    return render_template(
        "customer.html", customer=customer, entries=contact_log.list_entries(customer_id),
        opportunities=customer_service.opportunities_of(customer),
        channels={k: gettext(v) for k, v in contact_log.CHANNEL_NAMES.items()},
        kinds=allowed, users=users, can_write=_can_write(), local=_local, ancestors=_ancestors(customer),
        status_options=[(s, s.capitalize()) for s in CUSTOMER_STATUSES],
        kind_options=[(k, k.capitalize()) for k in CUSTOMER_KINDS], address_parts=ADDRESS_PARTS,
        failed=failed, typed=form or {}, errors=errors or {}, duplicates=duplicates,
        job_work=[(work, job_work.tasks_of(work)) for work in job_work.work_of_job(customer)],
        **customer_context(customer_id)), status_code


@bp.route("/customers/<int:customer_id>")
def customer_page(customer_id: int):
    return _customer_page(customer_id)


def _saved(customer_id: int, anchor: str, message: str | None = None):
    flash(message or gettext("Saved."), "ok")
    return redirect(_page_url(customer_id, anchor))


@bp.route("/customers/<int:customer_id>/edit/<section>", methods=["POST"])
def edit_customer(customer_id: int, section: str):
    if section not in SECTIONS:
        abort(404)
    customer_service.get_customer(customer_id)  # an unknown customer is a 404 before its form is read
    _writer(_page_url(customer_id, section))
    try:
        data = _load(CustomerPatchSchema(), _posted(SECTIONS[section]))
        customer_service.update_customer(current_user, customer_id, data)
    except ValidationFailed as exc:
        return _customer_page(customer_id, failed=section, form=request.form, errors=exc.errors, status_code=422)
    return _saved(customer_id, section)


@bp.route("/customers/<int:customer_id>/jobs", methods=["POST"])
def create_job(customer_id: int):
    parent = customer_service.get_customer(customer_id)
    _writer(_page_url(customer_id, "jobs"))
    try:
        data = _load(CustomerCreateSchema(), {"name": request.form.get("name", "").strip(), "kind": parent.kind,
                                              "status": request.form.get("status", "").strip() or "active"})
    except ValidationFailed as exc:
        return _customer_page(customer_id, failed="job", form=request.form, errors=exc.errors, status_code=422)
    same = _duplicates(data["name"], parent.id)
    if same:
        return _customer_page(customer_id, failed="job", form=request.form, duplicates=same, status_code=409)
    # a job is billed and worked where its customer is, until someone says otherwise
    job = customer_service.create_customer(current_user, {
        **data, "parent_id": parent.id, "bill_to": dict(parent.bill_to or {}),
        "work_address": dict(parent.work_address or {})})
    flash(gettext("Job %(name)s added.", name=job.full_name), "ok")
    return redirect(url_for("customer_pages.customer_page", customer_id=job.id))


CONTACT_FIELDS = ("name", "role", "email", "phone")


@bp.route("/customers/<int:customer_id>/contacts", methods=["POST"])
def add_contact(customer_id: int):
    customer_service.get_customer(customer_id)
    _writer(_page_url(customer_id, "contacts"))
    try:
        data = _load(ContactSchema(), _posted(CONTACT_FIELDS))
        customer_service.add_contact(current_user, customer_id, data)
    except ValidationFailed as exc:
        return _customer_page(customer_id, failed="contact-new", form=request.form, errors=exc.errors,
                              status_code=422)
    return _saved(customer_id, "contacts", gettext("%(name)s added.", name=data["name"]))


@bp.route("/customers/<int:customer_id>/contacts/<int:contact_id>", methods=["POST"])
def edit_contact(customer_id: int, contact_id: int):
    customer_service.get_customer(customer_id)
    _writer(_page_url(customer_id, "contacts"))
    try:
        data = _load(ContactPatchSchema(), _posted(CONTACT_FIELDS))
        customer_service.update_contact(current_user, customer_id, contact_id, data)
    except ValidationFailed as exc:
        return _customer_page(customer_id, failed=f"contact-{contact_id}", form=request.form, errors=exc.errors,
                              status_code=422)
    return _saved(customer_id, "contacts")


@bp.route("/customers/<int:customer_id>/contacts/<int:contact_id>/remove", methods=["POST"])
def remove_contact(customer_id: int, contact_id: int):
    _writer(_page_url(customer_id, "contacts"))
    customer_service.remove_contact(current_user, customer_id, contact_id)
    return _saved(customer_id, "contacts", gettext("Contact removed."))


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
    flash(gettext("Logged."), "ok")
    return redirect(back_to_log)


@bp.route("/customers/<int:customer_id>/contact-log/<int:entry_id>/opportunity", methods=["POST"])
def opportunity_from_entry(customer_id: int, entry_id: int):
    form = request.form
    data = {"kind": form.get("kind", ""), "title": form.get("title", "").strip() or None}
    return_to(url_for("customer_pages.customer_page", customer_id=customer_id) + "#contact-log")
    opp = contact_log.create_opportunity_from_entry(current_user, customer_id, entry_id, data)
    flash(gettext("%(number)s created from the interaction.", number=opp.number), "ok")
    if opp.customer.credit_hold:
        flash(gettext("%(customer)s is on credit hold.", customer=opp.customer.name), "error")
    return redirect(url_for("pages.opportunity_page", opp_id=opp.id))
