"""Estimates and primary demand on an opportunity; selecting an estimate sets the opportunity's amount."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from som_flow.errors import Conflict, NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import DemandLine, Estimate, EstimateLine, Opportunity, User
from som_flow.services import catalogs
from som_flow.services.guards import get_opportunity, require_open
from som_flow.services.history import record_event
from som_flow.services.limits import MAX_AMOUNT
from som_flow.services.permissions import require_change
from som_flow.services.unit_of_work import service

CENT = Decimal("0.01")


def list_estimates(opp_id: int) -> list[Estimate]:
    get_opportunity(opp_id)
    return list(db.session.scalars(select(Estimate).where(Estimate.opportunity_id == opp_id).order_by(Estimate.id)))


def get_estimate(estimate_id: int) -> Estimate:
    """Raises NotFound."""
    estimate = db.session.get(Estimate, estimate_id)
    if estimate is None:
        raise NotFound(gettext("No estimate %(estimate_id)s", estimate_id=estimate_id))
    return estimate


def _set_lines(estimate: Estimate, lines: list[dict]) -> None:
    """The estimate's lines and total from `lines`. Raises ValidationFailed (no line, unknown product)."""
    if not lines:
        raise ValidationFailed(gettext("An estimate needs at least one line"), {"lines": [gettext("Add a line.")]})
    for i, line in enumerate(lines):
        if line.get("product") is not None:
            catalogs.require_entry("products", line["product"], f"lines.{i}.product")
    estimate.lines = [EstimateLine(product=line.get("product"), description=line["description"],
                                   quantity=line["quantity"], price=line["price"]) for line in lines]
    estimate.total = sum((line.amount for line in estimate.lines), Decimal(0)).quantize(CENT)
    _require_amount_fits(estimate)


def _require_amount_fits(estimate: Estimate) -> None:
    """The total of an estimate becomes the deal's amount when it is selected, so it is bounded as an amount is
    (an estimate of 999,999,999 × 999,999,999 made an amount no edit of the deal would take again)."""
    if estimate.total > MAX_AMOUNT:
        message = gettext("The estimate's total, %(total)s, is more than a deal's amount may be (%(max_amount)s).",
                          total=estimate.total, max_amount=MAX_AMOUNT)
        raise ValidationFailed(message, {"lines": [message]})


@service
def create_estimate(actor: User, opp_id: int, lines: list[dict]) -> Estimate:
    """A numbered estimate with lines; a closed opportunity takes none (Conflict)."""
    opp = get_opportunity(opp_id)
    require_change(actor, opp)
    require_open(opp, "add estimates to")
    estimate = Estimate(number="pending", opportunity_id=opp.id, customer_id=opp.job_id or opp.customer_id,
                        currency=opp.currency, total=Decimal(0))
    _set_lines(estimate, lines)
    db.session.add(estimate)
    db.session.flush()
    estimate.number = f"EST-{estimate.id:05d}"
    record_event(opp, actor, "estimate_created", estimate=estimate.number, total=str(estimate.total))
    return estimate


@service
def update_estimate(actor: User, estimate_id: int, lines: list[dict]) -> Estimate:
    """Replace a draft estimate's lines; when it is the deal's selected one the amount follows its new total.
    Raises NotFound, Forbidden, Conflict (closed deal, estimate no longer a draft), ValidationFailed."""
    estimate = get_estimate(estimate_id)
    opp = get_opportunity(estimate.opportunity_id)
    require_change(actor, opp)
    require_open(opp, "change the estimates of")
    if estimate.status != "draft":
        raise Conflict(gettext("%(number)s is %(status)s; only a draft estimate can be changed.",
                               number=estimate.number, status=gettext(estimate.status)))
    old_total = estimate.total
    _set_lines(estimate, lines)
    record_event(opp, actor, "estimate_edited", estimate=estimate.number, old=str(old_total), new=str(estimate.total))
    if opp.selected_estimate_id == estimate.id:
        _take_amount(actor, opp, estimate)
    return estimate


@service
def select_estimate(actor: User, estimate_id: int) -> Estimate:
    """Make this estimate the opportunity's: its total becomes the amount."""
    estimate = get_estimate(estimate_id)
    opp = get_opportunity(estimate.opportunity_id)
    require_change(actor, opp)
    require_open(opp, "change the estimate of")
    _require_amount_fits(estimate)  # one written before totals were bounded
    opp.selected_estimate_id = estimate.id
    record_event(opp, actor, "estimate_selected", estimate=estimate.number)
    _take_amount(actor, opp, estimate)
    return estimate


def _take_amount(actor: User, opp: Opportunity, estimate: Estimate) -> None:
    old = opp.amount
    opp.amount, opp.currency = estimate.total, estimate.currency
    if old != estimate.total:
        record_event(opp, actor, "field_changed", field="amount", old=str(old), new=str(estimate.total))


# -- primary demand (seed 002): what the customer asked for, before any estimate ----------------------
def list_demand(opp_id: int) -> list[DemandLine]:
    return list(get_opportunity(opp_id).demand_lines)


def _demand_line(opp_id: int, line_id: int) -> DemandLine:
    line = db.session.get(DemandLine, line_id)
    if line is None or line.opportunity_id != opp_id:
        raise NotFound(gettext("No demand line %(line_id)s on opportunity %(opp_id)s", line_id=line_id, opp_id=opp_id))
    return line


def _check_demand(data: dict) -> None:
    if data.get("product") is not None:
        catalogs.require_entry("products", data["product"], "product")


@service
def add_demand(actor: User, opp_id: int, data: dict) -> DemandLine:
    """Raises NotFound, Forbidden, Conflict (closed deal), ValidationFailed (unknown product)."""
    opp = get_opportunity(opp_id)
    require_change(actor, opp)
    require_open(opp, "add demand to")
    _check_demand(data)
    line = DemandLine(opportunity_id=opp.id, **data)
    db.session.add(line)
    db.session.flush()
    record_event(opp, actor, "demand_added", demand_id=line.id, description=line.description,
                 amount=str(line.amount))
    return line


@service
def update_demand(actor: User, opp_id: int, line_id: int, data: dict) -> DemandLine:
    """Change a demand line's fields. Raises NotFound, Forbidden, Conflict (closed deal), ValidationFailed."""
    opp = get_opportunity(opp_id)
    require_change(actor, opp)
    require_open(opp, "change the demand of")
    line = _demand_line(opp.id, line_id)
    _check_demand(data)
    changed = []
    for field, value in data.items():
        if getattr(line, field) != value:
            changed.append(field)
            setattr(line, field, value)
    if changed:
        record_event(opp, actor, "demand_edited", demand_id=line.id, description=line.description,
                     changed=", ".join(changed))
    return line


@service
def remove_demand(actor: User, opp_id: int, line_id: int) -> None:
    """Raises NotFound, Forbidden, Conflict (closed deal)."""
    opp = get_opportunity(opp_id)
    require_change(actor, opp)
    require_open(opp, "change the demand of")
    line = _demand_line(opp.id, line_id)
    record_event(opp, actor, "demand_removed", demand_id=line.id, description=line.description)
    db.session.delete(line)
