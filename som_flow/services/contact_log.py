"""The customer contact log (calls, e-mails, visits, meetings: activities of the customer, services.activities) and
opportunities created from an interaction."""

from __future__ import annotations

import logging
from datetime import datetime

from som_flow.errors import Conflict, NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import ContactLogEntry, Opportunity, User
from som_flow.services import activities
from som_flow.services.customers import get_customer
from som_flow.services.history import record_event
from som_flow.services.opportunities import create_opportunity
from som_flow.services.permissions import require_role
from som_flow.services.unit_of_work import service

log = logging.getLogger(__name__)

CHANNELS = ("call", "email", "visit", "meeting", "other")
CHANNEL_NAMES = {key: activities.TYPE_NAMES[key] for key in CHANNELS}
WRITERS = activities.CUSTOMER_WRITERS  # the roles that create opportunities


def list_entries(customer_id: int) -> list[ContactLogEntry]:
    """The customer's log (its calls, e-mails, visits and meetings, on its deals too; not notes), newest first.
    Raises NotFound."""
    return activities.activities_of_customer(customer_id, 1, 10_000, types=CHANNELS)[0]


def get_entry(customer_id: int, entry_id: int) -> ContactLogEntry:
    entry = db.session.get(ContactLogEntry, entry_id)
    if entry is None or entry.customer_id != customer_id:
        raise NotFound(gettext("No contact log entry %(entry_id)s for customer %(customer_id)s", entry_id=entry_id,
                               customer_id=customer_id))
    return entry


# the contact log's field names for the activity's
_FIELD = {"type": "channel", "text": "summary"}


@service
def log_contact(actor: User, customer_id: int, *, channel: str, summary: str, at: datetime | None = None,
                user_id: int | None = None) -> ContactLogEntry:
    """Record a call, e-mail, visit or meeting; `user_id` is who talked to the customer (default: the actor).
    It is an activity of the customer (services.activities).

    Raises NotFound (customer), ValidationFailed (channel, summary, time, user), Forbidden.
    """
    require_role(actor, *WRITERS)
    customer = get_customer(customer_id)
    try:
        return activities.new_activity(actor, customer.id, None,
                                       {"type": channel, "text": summary, "at": at, "user_id": user_id},
                                       types=CHANNELS, past_only=False)
    except ValidationFailed as exc:
        raise ValidationFailed(gettext("The contact log entry is incomplete"),
                               {_FIELD.get(k, k): v for k, v in exc.errors.items()}) from None


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
        raise Conflict(gettext("This interaction already led to %(number)s.", number=number))
    values = {**prefill(entry), **{k: v for k, v in data.items() if v not in (None, "")}}
    values["customer_id"] = entry.customer_id
    opp = create_opportunity(actor, values)
    entry.opportunity_id = opp.id
    record_event(opp, actor, "created_from_interaction", entry_id=entry.id, channel=entry.channel,
           at=entry.at.isoformat(), user_id=entry.user_id)
    log.info("%s created from contact log entry %s", opp.number, entry.id)
    return opp
