"""Estimates and primary demand on an opportunity; selecting an estimate sets the opportunity's amount."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from som_flow.errors import NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.models import DemandLine, Estimate, EstimateLine, User
from som_flow.services import catalogs
from som_flow.services.guards import get_opportunity, require_open
from som_flow.services.history import record_event
from som_flow.services.permissions import require_change
from som_flow.services.unit_of_work import service

CENT = Decimal("0.01")


def list_estimates(opp_id: int) -> list[Estimate]:
    get_opportunity(opp_id)
    return list(db.session.scalars(select(Estimate).where(Estimate.opportunity_id == opp_id).order_by(Estimate.id)))


@service
def create_estimate(actor: User, opp_id: int, lines: list[dict]) -> Estimate:
    """A numbered estimate with lines; a closed opportunity takes none (Conflict)."""
    opp = get_opportunity(opp_id)
    require_change(actor, opp)
    require_open(opp, "add estimates to")
    if not lines:
        raise ValidationFailed("An estimate needs at least one line", {"lines": ["Add a line."]})
    for i, line in enumerate(lines):
        if line.get("product") is not None:
            catalogs.require_entry("products", line["product"], f"lines.{i}.product")
    estimate = Estimate(number="pending", opportunity_id=opp.id, customer_id=opp.job_id or opp.customer_id,
                        currency=opp.currency, total=Decimal(0))
    estimate.lines = [EstimateLine(product=line.get("product"), description=line["description"],
                                   quantity=line["quantity"], price=line["price"]) for line in lines]
    estimate.total = sum((line.amount for line in estimate.lines), Decimal(0)).quantize(CENT)
    db.session.add(estimate)
    db.session.flush()
    estimate.number = f"EST-{estimate.id:05d}"
    record_event(opp, actor, "estimate_created", estimate=estimate.number, total=str(estimate.total))
    return estimate


@service
def select_estimate(actor: User, estimate_id: int) -> Estimate:
    """Make this estimate the opportunity's: its total becomes the amount."""
    estimate = db.session.get(Estimate, estimate_id)
    if estimate is None:
        raise NotFound(f"No estimate {estimate_id}")
    opp = get_opportunity(estimate.opportunity_id)
    require_change(actor, opp)
    require_open(opp, "change the estimate of")
    old = opp.amount
    opp.selected_estimate_id = estimate.id
    opp.amount, opp.currency = estimate.total, estimate.currency
    record_event(opp, actor, "estimate_selected", estimate=estimate.number)
    record_event(opp, actor, "field_changed", field="amount", old=str(old), new=str(estimate.total))
    return estimate


@service
def add_demand(actor: User, opp_id: int, data: dict) -> DemandLine:
    opp = get_opportunity(opp_id)
    require_change(actor, opp)
    require_open(opp, "add demand to")
    if data.get("product") is not None:
        catalogs.require_entry("products", data["product"], "product")
    line = DemandLine(opportunity_id=opp.id, **data)
    db.session.add(line)
    db.session.flush()
    record_event(opp, actor, "demand_added", description=line.description, amount=str(line.amount))
    return line
