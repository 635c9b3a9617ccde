"""Customers and jobs (sub-customers), contacts; the job a won sale creates."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import aliased

from som_flow.errors import NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import Appointment, Contact, Customer, Estimate, Opportunity, Party, User
from som_flow.services.guards import get_opportunity, require_open
from som_flow.services.history import record_event
from som_flow.services.permissions import require_change, require_role
from som_flow.services.unit_of_work import now, service

WRITERS = ("manager", "csr", "rep")  # who adds and edits customers, jobs and contacts (admin always may)


def list_top_level_customers() -> list[Customer]:
    """Customers that are not jobs, by name."""
    return list(db.session.scalars(select(Customer).where(Customer.parent_id.is_(None)).order_by(Customer.name)))


def find_customer(customer_id: int) -> Customer | None:
    """The customer with this id, or None."""
    return db.session.get(Customer, customer_id)


def get_customer(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(gettext("No customer %(customer_id)s", customer_id=customer_id))
    return customer


def _require_parent(parent_id: int) -> None:
    """A job's parent named in the body: a missing one is bad input naming the field (422), not a 404."""
    if db.session.get(Customer, parent_id) is None:
        raise ValidationFailed(gettext("Unknown parent customer"), {"parent_id": [gettext("No customer %(parent_id)s.",
                                                                                          parent_id=parent_id)]})


def _in_tree_order(query):
    """Order a customer query so each customer comes right before its jobs and their sub-jobs (Customer:Job order,
    three levels deep; deeper jobs follow their grandparent's family). Names first, ids keep same-named apart."""
    parent, grand = aliased(Customer), aliased(Customer)
    query = (query.outerjoin(parent, Customer.parent_id == parent.id)
             .outerjoin(grand, parent.parent_id == grand.id))
    level2_name = case((grand.id.is_not(None), parent.name), (parent.id.is_not(None), Customer.name), else_="")
    level2_id = case((grand.id.is_not(None), parent.id), (parent.id.is_not(None), Customer.id), else_=0)
    return query.order_by(func.lower(func.coalesce(grand.name, parent.name, Customer.name)),
                          func.coalesce(grand.id, parent.id, Customer.id), func.lower(level2_name), level2_id,
                          func.lower(case((grand.id.is_not(None), Customer.name), else_="")), Customer.id)


def _named(name: str):
    """The condition "this customer's name is `name`", trimmed and case ignored (ASCII case on SQLite)."""
    return func.lower(func.trim(Customer.name)) == name.strip().lower()


def search_customers(q: str | None = None, status: str | None = None, page: int = 1, per_page: int = 50,
                     name: str | None = None):
    """One page of customers and jobs (`q` in the name or e-mail, `name` the whole name, trimmed and case ignored)
    in Customer:Job order, and how many match in all."""
    query = select(Customer)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(func.lower(Customer.name).like(like), func.lower(Customer.email).like(like)))
    if name is not None:
        query = query.where(_named(name))
    if status:
        query = query.where(Customer.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = list(db.session.scalars(_in_tree_order(query).limit(per_page).offset((page - 1) * per_page)))
    return items, total


def customers_named(name: str, *, parent_id: int | None = None) -> list[Customer]:
    """Top-level customers (or, with `parent_id`, that customer's jobs) named `name`: what a new one would duplicate."""
    query = select(Customer).where(_named(name))
    query = query.where(Customer.parent_id == parent_id if parent_id else Customer.parent_id.is_(None))
    return list(db.session.scalars(query.order_by(Customer.id)))


@service
def create_customer(actor: User | None, data: dict) -> Customer:
    if actor is not None:
        require_role(actor, *WRITERS)
    data = dict(data)
    parent_id = data.pop("parent_id", None)
    if parent_id is not None:
        _require_parent(parent_id)
    customer = Customer(parent_id=parent_id, **data)
    db.session.add(customer)
    db.session.flush()
    return customer


@service
def update_customer(actor: User, customer_id: int, data: dict) -> Customer:
    require_role(actor, *WRITERS)
    customer = get_customer(customer_id)
    if "parent_id" in data and data["parent_id"] is not None:
        if data["parent_id"] == customer.id:
            raise ValidationFailed(gettext("A customer cannot be its own job"),
                                   {"parent_id": [gettext("Choose another.")]})
        _require_parent(data["parent_id"])
    for key, value in data.items():
        setattr(customer, key, value)
    return customer


@service
def add_contact(actor: User, customer_id: int, data: dict) -> Contact:
    require_role(actor, *WRITERS)
    contact = Contact(customer_id=get_customer(customer_id).id, **data)
    db.session.add(contact)
    db.session.flush()
    return contact


def _contact_of(customer_id: int, contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.customer_id != get_customer(customer_id).id:
        raise NotFound(gettext("No contact %(contact_id)s of customer %(customer_id)s", contact_id=contact_id,
                               customer_id=customer_id))
    return contact


@service
def update_contact(actor: User, customer_id: int, contact_id: int, data: dict) -> Contact:
    """Change a contact person's name, role, e-mail or phone. Raises NotFound, Forbidden."""
    require_role(actor, *WRITERS)
    contact = _contact_of(customer_id, contact_id)
    for key, value in data.items():
        setattr(contact, key, value)
    return contact


@service
def remove_contact(actor: User, customer_id: int, contact_id: int) -> None:
    """Remove a contact person; a deal that named them as a party keeps the party's name. Raises NotFound, Forbidden."""
    require_role(actor, *WRITERS)
    contact = _contact_of(customer_id, contact_id)
    for party in db.session.scalars(select(Party).where(Party.contact_id == contact.id)):
        party.contact_id = None
    db.session.delete(contact)


def job_name(opp: Opportunity) -> str:
    pattern = current_app.config["JOB_NAME_PATTERN"]
    values = {"customer": opp.customer.name, "title": opp.title, "product": opp.product or opp.title,
              "year": now().year, "number": opp.number}
    try:
        return pattern.format(**values)[:200]
    except (KeyError, IndexError, ValueError):
        return f"{opp.customer.name} - {opp.title} {now().year}"[:200]


def create_job_for(opp: Opportunity, actor: User, name: str | None = None) -> Customer:
    """Seed 001 step 5: a sub-customer job under the customer; estimates and open appointments move to it."""
    customer = opp.customer
    job = Customer(kind=customer.kind, name=name or job_name(opp), parent_id=customer.id, status="active",
                   bill_to=dict(customer.bill_to or {}), work_address=dict(customer.work_address or {}))
    db.session.add(job)
    db.session.flush()
    opp.job_id = job.id
    for estimate in db.session.scalars(select(Estimate).where(Estimate.opportunity_id == opp.id)):
        estimate.customer_id = job.id
    for appt in db.session.scalars(select(Appointment).where(
            Appointment.opportunity_id == opp.id, Appointment.status == "scheduled")):
        appt.customer_id = job.id
    if customer.status == "prospect":
        customer.status = "active"
    record_event(opp, actor, "job_created", job_id=job.id, name=job.name)
    return job


def subtree_ids(customer: Customer) -> list[int]:
    """The customer and all its jobs, at any depth."""
    ids, todo = [], [customer]
    while todo:
        current = todo.pop()
        if current.id not in ids:
            ids.append(current.id)
            todo.extend(current.jobs)
    return ids


def opportunities_of(customer: Customer) -> list[Opportunity]:
    """The opportunities of the customer and its jobs (by customer or by the job a sale created), newest first."""
    ids = subtree_ids(customer)
    return list(db.session.scalars(select(Opportunity).where(
        or_(Opportunity.customer_id.in_(ids), Opportunity.job_id.in_(ids))).order_by(Opportunity.id.desc())))


def path(customer: Customer) -> tuple[str, ...]:
    """(customer, job, sub-job...) names: sorting by it lists each customer right before its jobs."""
    names = []
    while customer is not None:
        names.append(customer.name)
        customer = customer.parent
    return tuple(reversed(names))


# -- parties: partners and contact persons taking part in an opportunity (seed 002) ----------------
PARTY_ROLES = ("partner", "contact")


@service
def add_party(actor: User, opp_id: int, data: dict) -> Party:
    """A partner (a customer record) or a contact person joins the deal; named from the record if not given."""

    opp = get_opportunity(opp_id)
    require_change(actor, opp)
    require_open(opp, "add parties to")
    if data["role"] not in PARTY_ROLES:
        raise ValidationFailed(gettext("Unknown party role"), {"role": [gettext("Use one of %(items)s.",
                                                                                items=', '.join(PARTY_ROLES))]})
    name = (data.get("name") or "").strip()
    customer = contact = None
    if data.get("customer_id") is not None:
        customer = db.session.get(Customer, data["customer_id"])
        if customer is None:
            raise ValidationFailed(gettext("Unknown customer"), {"customer_id": [gettext("No such customer.")]})
    if data.get("contact_id") is not None:
        contact = db.session.get(Contact, data["contact_id"])
        if contact is None:
            raise ValidationFailed(gettext("Unknown contact"), {"contact_id": [gettext("No such contact.")]})
    name = name or (contact.name if contact else customer.full_name if customer else "")
    if not name:
        raise ValidationFailed(gettext("Name the party"),
                               {"name": [gettext("Give a name, a customer_id or a contact_id.")]})
    party = Party(opportunity_id=opp.id, role=data["role"], customer_id=customer.id if customer else None,
                  contact_id=contact.id if contact else None, name=name[:200])
    db.session.add(party)
    db.session.flush()
    record_event(opp, actor, "party_added", party_id=party.id, role=party.role, name=party.name)
    return party


@service
def remove_party(actor: User, opp_id: int, party_id: int) -> None:

    opp = get_opportunity(opp_id)
    require_change(actor, opp)
    party = db.session.get(Party, party_id)
    if party is None or party.opportunity_id != opp.id:
        raise NotFound(gettext("No party %(party_id)s on %(number)s", party_id=party_id, number=opp.number))
    record_event(opp, actor, "party_removed", party_id=party.id, role=party.role, name=party.name)
    db.session.delete(party)
