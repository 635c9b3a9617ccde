"""The customer contact log (calls, e-mails, visits, meetings) and opportunities created from an interaction."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from som_flow.errors import Conflict, NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.models import ContactLogEntry, Opportunity, User
from som_flow.services.customers import get_customer
from som_flow.services.history import record_event
from som_flow.services.opportunities import create_opportunity
from som_flow.services.permissions import require_role
from som_flow.services.unit_of_work import now, service

log = logging.getLogger(__name__)

CHANNELS = ("call", "email", "visit", "meeting", "other")
CHANNEL_NAMES = {"call": "Call", "email": "E-mail", "visit": "Visit", "meeting": "Meeting", "other": "Contact"}
WRITERS = ("manager", "csr", "rep")  # the roles that create opportunities


def list_entries(customer_id: int) -> list[ContactLogEntry]:
    """The customer's log, newest first. Raises NotFound."""
    get_customer(customer_id)
    return list(db.session.scalars(select(ContactLogEntry).where(ContactLogEntry.customer_id == customer_id)
                                   .order_by(ContactLogEntry.at.desc(), ContactLogEntry.id.desc())))


def get_entry(customer_id: int, entry_id: int) -> ContactLogEntry:
    entry = db.session.get(ContactLogEntry, entry_id)
    if entry is None or entry.customer_id != customer_id:
        raise NotFound(f"No contact log entry {entry_id} for customer {customer_id}")
    return entry


@service
def log_contact(actor: User, customer_id: int, *, channel: str, summary: str, at: datetime | None = None,
                user_id: int | None = None) -> ContactLogEntry:
    """Record a call, e-mail, visit or meeting; `user_id` is who talked to the customer (default: the actor).

    Raises NotFound (customer), ValidationFailed (channel, summary, time, user), Forbidden.
    """
    require_role(actor, *WRITERS)
    customer = get_customer(customer_id)
    errors: dict[str, list[str]] = {}
    if channel not in CHANNELS:
        errors["channel"] = [f"Use one of {', '.join(CHANNELS)}."]
    if not (summary or "").strip():
        errors["summary"] = ["Say what was talked about."]
    if at is not None and at.tzinfo is None:
        errors["at"] = ["Give the time with its UTC offset."]
    who = actor if user_id is None else db.session.get(User, user_id)
    if who is None or not who.active:
        errors["user_id"] = ["No such active user."]
    if errors:
        raise ValidationFailed("The contact log entry is incomplete", errors)
    entry = ContactLogEntry(customer_id=customer.id, user_id=who.id, at=at or now(), channel=channel,
                            summary=summary.strip())
    db.session.add(entry)
    db.session.flush()
    return entry


def prefill(entry: ContactLogEntry) -> dict:
    """Title and description an opportunity takes from the interaction (seed 002: Generate > Sales opportunity)."""
    first_line = entry.summary.strip().splitlines()[0].strip() if entry.summary.strip() else ""
    title = first_line or f"{CHANNEL_NAMES.get(entry.channel, 'Contact')} on {entry.at:%Y-%m-%d}"
    if len(title) > 200:
        title = title[:199].rstrip() + "…"
    return {"title": title, "description": entry.summary}


@service
def create_opportunity_from_entry(actor: User, customer_id: int, entry_id: int, data: dict) -> Opportunity:
    """An opportunity for the entry's customer, titled and described from the entry; the link is kept both ways.

    `data` takes the fields of a new opportunity (`kind` required); title and description default to the
    entry's. Raises NotFound, Conflict (the entry already has an opportunity), ValidationFailed, Forbidden.
    """
    require_role(actor, *WRITERS)
    entry = get_entry(customer_id, entry_id)
    if entry.opportunity_id is not None:
        number = db.session.get(Opportunity, entry.opportunity_id).number
        raise Conflict(f"This interaction already led to {number}.")
    values = {**prefill(entry), **{k: v for k, v in data.items() if v not in (None, "")}}
    values["customer_id"] = entry.customer_id
    opp = create_opportunity(actor, values)
    entry.opportunity_id = opp.id
    record_event(opp, actor, "created_from_interaction", entry_id=entry.id, channel=entry.channel,
           at=entry.at.isoformat(), user_id=entry.user_id)
    log.info("%s created from contact log entry %s", opp.number, entry.id)
    return opp
