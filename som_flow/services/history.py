"""The deal's history: one append-only Event per change a person or the process made, with who and when."""

from __future__ import annotations

from sqlalchemy import select

from som_flow.extensions import db
from som_flow.models import Event, Opportunity, StageStay, User
from som_flow.services.unit_of_work import now


def record_event(opp: Opportunity, actor: User | None, type_: str, **data) -> Event:
    """Append one event to the deal's history (inside the caller's transaction)."""
    ev = Event(opportunity_id=opp.id, actor_id=actor.id if actor else None, at=now(), type=type_, data=data)
    db.session.add(ev)
    return ev


def history(opp: Opportunity) -> list[Event]:
    """The deal's events, oldest first."""
    return list(db.session.scalars(
        select(Event).where(Event.opportunity_id == opp.id).order_by(Event.at, Event.id)))



def stage_stays(opp: Opportunity) -> list[StageStay]:
    """Each visit of the deal to a stage, first first (what the reports read)."""
    return list(db.session.scalars(select(StageStay).where(StageStay.opportunity_id == opp.id)
                                   .order_by(StageStay.entered_at, StageStay.id)))
