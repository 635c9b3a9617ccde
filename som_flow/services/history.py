"""The deal's history: one append-only Event per change a person or the process made, with who and when."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, insert, select

from som_flow.extensions import db
from som_flow.models import Event, Opportunity, StageStay, User
from som_flow.services.unit_of_work import now

_BATCH = "som_event_batch"


def record_event(opp: Opportunity, actor: User | None, type_: str, **data) -> Event:
    """Append one event to the deal's history (inside the caller's transaction). Inside `batched_events` the
    event is kept for that block's one INSERT and the Event returned is not in the session."""
    ev = Event(opportunity_id=opp.id, actor_id=actor.id if actor else None, at=now(), type=type_, data=data)
    batch = db.session.info.get(_BATCH)
    if batch is None:
        db.session.add(ev)
    else:
        batch.append({"opportunity_id": ev.opportunity_id, "actor_id": ev.actor_id, "at": ev.at, "type": type_,
                      "data": data})
    return ev


_INSERT_EVENTS = insert(Event.__table__)  # built once (building and keying it cost more than its rows)


@contextmanager
def batched_events() -> Iterator[None]:
    """The events recorded in the block go out in one INSERT (an executemany) when it ends, after the session's
    pending rows, instead of one INSERT … RETURNING each through the unit of work (a move logs two or three).
    Nobody reads a deal's history inside such a block; nested blocks join the outer one."""
    if db.session.info.get(_BATCH) is not None:
        yield
        return
    batch = db.session.info[_BATCH] = []
    try:
        yield
    finally:
        db.session.info.pop(_BATCH, None)
    if batch:
        db.session.flush()  # events recorded before the block (ORM, pending) keep their place in the history
        db.session.execute(_INSERT_EVENTS, batch)


def history(opp: Opportunity) -> list[Event]:
    """The deal's events, oldest first."""
    return list(db.session.scalars(
        select(Event).where(Event.opportunity_id == opp.id).order_by(Event.at, Event.id)))


def history_page(opp: Opportunity, page: int = 1, per_page: int = 50) -> tuple[list[Event], int]:
    """A page of the deal's events, oldest first, and how many there are: a deal worked for years has thousands."""
    events = list(db.session.scalars(select(Event).where(Event.opportunity_id == opp.id)
                                     .order_by(Event.at, Event.id).limit(per_page).offset((page - 1) * per_page)))
    if page == 1 and len(events) < per_page:  # the whole history fits the first page: no count to ask
        return events, len(events)
    return events, db.session.scalar(select(func.count()).select_from(Event).where(Event.opportunity_id == opp.id))



def stage_stays(opp: Opportunity) -> list[StageStay]:
    """Each visit of the deal to a stage, first first (what the reports read)."""
    return list(db.session.scalars(select(StageStay).where(StageStay.opportunity_id == opp.id)
                                   .order_by(StageStay.entered_at, StageStay.id)))
