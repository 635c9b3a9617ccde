"""CSV export and import of customers and opportunities.

An import is all or nothing: every row runs in one transaction (each in its own savepoint, so one bad row
does not spoil the report on the next); any row error, or a dry run, rolls the whole file back. The report
is `{rows: [{line, ok, errors}], created, dry_run}`; `line` is the file line the row starts on.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import date
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from som_flow.errors import SomFlowError, ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import Customer, Opportunity, OpportunityKind, User
from som_flow.models.opportunities import OPPORTUNITY_STATUSES, PRIORITIES
from som_flow.services import customers as customer_service
from som_flow.services import opportunities as opp_service
from som_flow.services.history import record_event
from som_flow.services.limits import sane_date
from som_flow.services.permissions import SALES_ADMINS, require_role
from som_flow.services.unit_of_work import transaction

log = logging.getLogger(__name__)

ADDRESS_PARTS = {"street": 200, "city": 100, "zip": 20, "state": 100, "country": 100}
ADDRESSES = {"bill_to": "bill_to", "work": "work_address"}  # column prefix -> Customer attribute
CUSTOMER_COLUMNS = [
    "id", "name", "parent", "kind", "status", "email", "phone",
    *(f"{prefix}_{part}" for prefix in ADDRESSES for part in ADDRESS_PARTS),
    "credit_hold", "payment_terms", "popup_notes", "popup_on_open",
]
OPPORTUNITY_COLUMNS = [
    "number", "title", "customer", "job", "kind", "stage", "status", "sales_rep", "amount", "currency",
    "probability", "opened_on", "anticipated_close_date", "follow_up_date", "priority", "product",
    "marketing_channel", "marketing_source", "department", "timeframe", "financing_activity",
    "external_reference", "description", "reason", "explanation", "resolved_date",
]
EXPORT_ONLY = {"id", "number"}  # written for reference, ignored on import (the target database numbers anew)
# passed to create_opportunity as they are; it checks catalogs and coerces the amount
OPPORTUNITY_FIELDS = (
    "title", "amount", "currency", "anticipated_close_date", "follow_up_date", "priority", "product",
    "marketing_channel", "marketing_source", "department", "timeframe", "financing_activity",
    "external_reference", "description",
)
# a spreadsheet runs a cell starting with these as a formula; a leading quote keeps it text
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# a spreadsheet in a locale whose list separator is one of these splits "a;=1+1" into "a" and a formula
SEPARATORS = (";", ",", "\t")
_HIDDEN_FORMULA = re.compile("[" + re.escape("".join(SEPARATORS)) + "][" + re.escape("".join(FORMULA_STARTS)) + "]")


def _runs_as_formula(text: str) -> bool:
    """Whether a spreadsheet in some locale could run part of this cell (OWASP CSV injection)."""
    return text.startswith(FORMULA_STARTS) or _HIDDEN_FORMULA.search(text) is not None
PAGE = 500


def _text(length: int, **kw) -> fields.String:
    return fields.String(validate=validate.Length(max=length), **kw)


CustomerRowSchema = Schema.from_dict({
    "name": fields.String(required=True, validate=validate.Length(min=1, max=200)),
    "parent": _text(2000),
    "kind": fields.String(load_default="organization", validate=validate.OneOf(["individual", "organization"])),
    "status": fields.String(load_default="prospect", validate=validate.OneOf(["prospect", "active", "inactive"])),
    "email": fields.Email(validate=validate.Length(max=254)),
    "phone": _text(50),
    **{f"{prefix}_{part}": _text(length) for prefix in ADDRESSES for part, length in ADDRESS_PARTS.items()},
    "credit_hold": fields.Boolean(load_default=False),
    "payment_terms": _text(100),
    "popup_notes": _text(5000),
    "popup_on_open": fields.Boolean(load_default=False),
}, name="CustomerRowSchema")


class OpportunityRowSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    customer = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    job = _text(2000)
    kind = fields.String(required=True, validate=validate.Length(min=1, max=64))
    stage = _text(64)
    status = fields.String(load_default="in_progress", validate=validate.OneOf(OPPORTUNITY_STATUSES))
    sales_rep = _text(254)
    amount = _text(40)  # text on purpose: create_opportunity turns it into a Decimal, or names `amount`
    currency = _text(3)
    probability = fields.Integer(validate=validate.Range(min=0, max=100))
    opened_on = fields.Date(validate=sane_date)
    anticipated_close_date = fields.Date(validate=sane_date)
    follow_up_date = fields.Date(validate=sane_date)
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    product = _text(64)
    marketing_channel = _text(64)
    marketing_source = _text(64)
    department = _text(64)
    timeframe = _text(64)
    financing_activity = _text(64)
    external_reference = _text(100)
    description = _text(10000)
    reason = _text(64)
    explanation = _text(10000)
    resolved_date = fields.Date(validate=sane_date)


# -- export ----------------------------------------------------------------------------------------
def _cell(value) -> str:
    """Text for one CSV cell; text a spreadsheet would run as a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int | float):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if _runs_as_formula(text) else text


def write_table(header: list[str], rows) -> str:
    """CSV text (RFC 4180 line ends) of a header and rows of values, every cell formula-safe: a cell a
    spreadsheet could run gets a leading quote, and every cell is quoted, so a separator of any locale
    inside it stays text (OWASP's advice)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


def _write(columns: list[str], rows) -> str:
    return write_table(columns, ([row.get(c) for c in columns] for row in rows))


def customer_row(customer: Customer) -> dict:
    row = {"id": customer.id, "name": customer.name, "parent": customer.parent.full_name if customer.parent else None,
           "kind": customer.kind, "status": customer.status, "email": customer.email, "phone": customer.phone,
           "credit_hold": customer.credit_hold, "payment_terms": customer.payment_terms,
           "popup_notes": customer.popup_notes, "popup_on_open": customer.popup_on_open}
    for prefix, attribute in ADDRESSES.items():
        address = getattr(customer, attribute) or {}
        row.update({f"{prefix}_{part}": address.get(part) for part in ADDRESS_PARTS})
    return row


def export_customers(q: str | None = None, status: str | None = None) -> str:
    """The customers (and jobs) matching the list filters as CSV; a parent always comes before its jobs."""
    found, page = [], 1
    while True:
        items, total = customer_service.search_customers(q, status, page, PAGE)
        found.extend(items)
        if page * PAGE >= total or not items:
            break
        page += 1
    return _write(CUSTOMER_COLUMNS, (customer_row(c) for c in sorted(found, key=customer_service.path)))


def opportunity_row(opp: Opportunity) -> dict:
    row = {field: getattr(opp, field) for field in OPPORTUNITY_FIELDS}
    row.update(number=opp.number, customer=opp.customer.full_name, job=opp.job.full_name if opp.job else None,
               kind=opp.kind.key, stage=opp.stage, status=opp.status,
               sales_rep=opp.sales_rep.email if opp.sales_rep else None, probability=opp.probability,
               opened_on=opp.opened_on, reason=opp.reason, explanation=opp.explanation,
               resolved_date=opp.resolved_date)
    return row


def export_opportunities(user: User, **filters) -> str:
    """The opportunities matching the list filters (q, stage, status, kind, assignee, close dates, sort) as CSV."""
    filters.pop("page", None)
    filters.pop("per_page", None)
    found, page = [], 1
    while True:
        items, total = opp_service.search_opportunities(user=user, page=page, per_page=PAGE, **filters)
        found.extend(items)
        if page * PAGE >= total or not items:
            break
        page += 1
    return _write(OPPORTUNITY_COLUMNS, (opportunity_row(o) for o in found))


# -- reading a file --------------------------------------------------------------------------------
def decode(data: bytes) -> str:
    """UTF-8 text (a spreadsheet's byte-order mark dropped). Raises ValidationFailed naming `file`."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(gettext("The file is not UTF-8 text"), {"file": [gettext("Save the CSV as UTF-8.")]})


def _uncell(text: str) -> str:
    text = text.strip()
    return text[1:] if text.startswith("'") and _runs_as_formula(text[1:]) else text


def read_rows(text: str, columns: list[str], required: set[str]) -> list[tuple[int, dict]]:
    """(line, {column: text}) for each non-blank row; blank cells left out. Raises ValidationFailed on the header."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ValidationFailed(gettext("The file is empty"),
                               {"file": [gettext("Give a header row and at least one row.")]})
    except csv.Error as exc:
        raise ValidationFailed(gettext("The file is not CSV"), {"file": [str(exc)]})
    unknown = [h for h in header if h not in columns]
    missing = sorted(required - set(header))
    duplicated = sorted({h for h in header if header.count(h) > 1})
    problems = ([f"Unknown column(s): {', '.join(unknown)}."] if unknown else []) + \
        ([f"Missing column(s): {', '.join(missing)}."] if missing else []) + \
        ([f"Repeated column(s): {', '.join(duplicated)}."] if duplicated else [])
    if problems:
        raise ValidationFailed(gettext("The header does not fit; the columns are: %(items)s", items=', '.join(columns)),
                               {"columns": problems})
    rows = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ValidationFailed(gettext("Line %(line)s is not CSV", line=line),
                                   {"file": [gettext("line %(line)s: %(exc)s", line=line, exc=exc)]})
        if not any(c.strip() for c in cells):
            continue
        row = {column: _uncell(cell) for column, cell in zip(header, cells, strict=False)
               if column not in EXPORT_ONLY and _uncell(cell) != ""}
        if len(cells) > len(header):
            row["_extra"] = cells[len(header):]
        rows.append((line, row))
    return rows


# -- importing -------------------------------------------------------------------------------------
class _Undo(Exception):
    """Raised to roll the whole import back (a dry run, or a row failed)."""


class _Names:
    """Customers by full name ("Parent:Job"), including those created earlier in the same file."""

    def __init__(self) -> None:
        rows = {cid: (name, parent) for cid, name, parent in db.session.execute(
            select(Customer.id, Customer.name, Customer.parent_id))}
        self.ids: dict[str, list[int]] = {}
        for cid in rows:
            self.add(self._full(rows, cid), cid)

    @staticmethod
    def _full(rows: dict, cid: int) -> str:
        names, seen = [], set()
        while cid is not None and cid not in seen:
            seen.add(cid)
            name, cid = rows[cid]
            names.append(name)
        return ":".join(reversed(names))

    def add(self, full_name: str, cid: int) -> None:
        self.ids.setdefault(full_name, []).append(cid)

    def find(self, full_name: str, field: str, errors: dict) -> int | None:
        ids = self.ids.get(full_name, [])
        if not ids:
            errors[field] = [f"No customer {full_name!r}."]
        elif len(ids) > 1:
            errors[field] = [f"{len(ids)} customers are named {full_name!r}; rename one first."]
        return ids[0] if len(ids) == 1 else None


def _load(schema: Schema, row: dict, errors: dict) -> dict:
    if "_extra" in row:
        errors["_row"] = [f"{len(row.pop('_extra'))} more cell(s) than there are columns."]
    try:
        return schema.load(row)
    except ValidationError as exc:
        errors.update({k: [str(m) for m in v] if isinstance(v, list) else [str(v)] for k, v in exc.messages.items()})
        return exc.valid_data or {}  # the rest is still checked, so the report names every problem


def _import_customer(actor: User | None, row: dict, names: _Names) -> None:
    errors: dict[str, list[str]] = {}
    data = _load(CustomerRowSchema(), row, errors)
    parent_name = data.pop("parent", None)
    parent_id = names.find(parent_name, "parent", errors) if parent_name else None
    full_name = f"{parent_name}:{data.get('name')}" if parent_name else data.get("name")
    if full_name and names.ids.get(full_name):
        errors["name"] = [f"A customer {full_name!r} already exists."]
    if errors:
        raise ValidationFailed(gettext("Invalid row"), errors)
    for prefix, attribute in ADDRESSES.items():
        data[attribute] = {part: data.pop(f"{prefix}_{part}") for part in ADDRESS_PARTS
                           if f"{prefix}_{part}" in data}
    customer = customer_service.create_customer(actor, {**data, "parent_id": parent_id})
    names.add(full_name, customer.id)


def _import_opportunity(actor: User, row: dict, names: _Names, line: int) -> None:
    errors: dict[str, list[str]] = {}
    data = _load(OpportunityRowSchema(), row, errors)
    customer_id = names.find(data["customer"], "customer", errors) if data.get("customer") else None
    job_id = names.find(data["job"], "job", errors) if data.get("job") else None
    kind = db.session.scalar(select(OpportunityKind).where(OpportunityKind.key == data.get("kind")))
    if data.get("kind") and (kind is None or kind.current_version is None):
        errors["kind"] = [f"No opportunity kind {data['kind']!r}."]
    elif kind is not None and data.get("stage"):
        stages = [s["key"] for s in kind.current_version.stages]
        if data["stage"] not in stages:
            errors["stage"] = [f"{data['stage']!r} is not a stage of {kind.key} "
                               f"({', '.join(stages) or 'it has no stages'})."]
    rep = None
    if data.get("sales_rep"):
        rep = db.session.scalar(select(User).where(func.lower(User.email) == data["sales_rep"].lower()))
        if rep is None:
            errors["sales_rep"] = [f"No user {data['sales_rep']!r}."]
    if data.get("status") == "lost" and not data.get("reason"):
        errors["reason"] = ["A lost opportunity needs its reason."]
    if errors:
        raise ValidationFailed(gettext("Invalid row"), errors)

    values = {f: data[f] for f in OPPORTUNITY_FIELDS if f in data}
    values.update(customer_id=customer_id, kind=kind.key, sales_rep=rep.id if rep else None)
    try:
        # placed straight at its stage: one clean "entered" in the history, no first-stage tasks made and cancelled
        opp = opp_service.create_opportunity(actor, values, start_stage=data.get("stage") or None)
    except ValidationFailed as exc:
        exc.errors = {("customer" if k == "customer_id" else k): v for k, v in exc.errors.items()}
        raise
    opp.opened_on = data.get("opened_on") or opp.opened_on
    opp.job_id = job_id
    record_event(opp, actor, "imported", line=line)
    if data.get("probability") is not None and data["probability"] != opp.probability \
            and data["status"] in ("in_progress", "on_hold"):
        opp.probability, opp.probability_source = data["probability"], "manual"
    outcome = dict(explanation=data.get("explanation") or "", resolved_date=data.get("resolved_date"))
    if data["status"] == "won":
        opp_service.win(actor, opp.id, reason=data.get("reason"), **outcome)
    elif data["status"] == "lost":
        opp_service.lose(actor, opp.id, reason=data["reason"], **outcome)
    elif data["status"] == "on_hold":
        opp_service.hold(actor, opp.id)


def _run(rows: list[tuple[int, dict]], import_row, dry_run: bool) -> dict:
    report: list[dict] = []
    created = 0
    try:
        with transaction() as session:
            for line, row in rows:
                savepoint = session.begin_nested()
                try:
                    import_row(row, line)
                    session.flush()
                    savepoint.commit()
                    report.append({"line": line, "ok": True, "errors": {}})
                    created += 1
                except SomFlowError as exc:
                    savepoint.rollback()
                    report.append({"line": line, "ok": False, "errors": exc.errors or {"_row": [exc.detail]}})
                except IntegrityError:
                    savepoint.rollback()
                    report.append({"line": line, "ok": False,
                                   "errors": {"_row": ["Conflicts with existing data (a duplicate?)."]}})
            if dry_run or not all(r["ok"] for r in report):
                raise _Undo
    except _Undo:
        created = 0
    log.info("csv import: %d rows, %d created, dry run %s", len(report), created, dry_run)
    return {"rows": report, "created": created, "dry_run": dry_run}


def import_customers(actor: User | None, text: str, *, dry_run: bool = False) -> dict:
    """Create the customers (and jobs, after their parent) of a CSV file; all or nothing.

    `actor` None is the system (the CLI). Raises Forbidden, ValidationFailed (header, encoding).
    """
    if actor is not None:
        require_role(actor, *SALES_ADMINS)
    rows = read_rows(text, CUSTOMER_COLUMNS, {"name"})
    names = _Names()
    return _run(rows, lambda row, _line: _import_customer(actor, row, names), dry_run)


def import_opportunities(actor: User, text: str, *, dry_run: bool = False) -> dict:
    """Create the opportunities of a CSV file at their stage and status; all or nothing.

    Raises Forbidden, ValidationFailed (header, encoding).
    """
    require_role(actor, *SALES_ADMINS)
    rows = read_rows(text, OPPORTUNITY_COLUMNS, {"title", "customer", "kind"})
    names = _Names()
    return _run(rows, lambda row, line: _import_opportunity(actor, row, names, line), dry_run)
