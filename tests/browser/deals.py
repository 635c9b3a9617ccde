"""Deals for the browser journeys, made the way the office would (through the services), in the live server's
database."""

from __future__ import annotations

from decimal import Decimal


def make_deal(live_server, title: str, *, rep: bool = True, contacted: bool = False) -> int:
    """A standard-sale deal in Lead made by the office, for the rep (or free: rep=False); `contacted`: the rep has
    done its first task, so the process lets it move on to Qualification."""
    from som_flow.extensions import db
    from som_flow.models import Customer, Task, User
    from som_flow.services import opportunities

    app, _, people = live_server
    with app.app_context():
        csr = db.session.get(User, people["csr"])
        customer = db.session.query(Customer).filter_by(name="Northwind Traders").one()
        opp = opportunities.create_opportunity(csr, {"title": title, "customer_id": customer.id,
                                                     "kind": "standard-sale", "amount": Decimal("50000.00"),
                                                     **({"sales_rep": people["rep"]} if rep else {})})
        opp_id = opp.id
        if contacted:
            task = db.session.query(Task).filter_by(opportunity_id=opp_id, title="Contact the prospect").one()
            opportunities.complete_task(db.session.get(User, people["rep"]), task.id, {})
        db.session.remove()
    return opp_id
