"""A deal's next activity: the earliest open task or appointment still to come, for many deals at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ARRAY, Integer, any_, bindparam, exists, func, or_, select

from som_flow.extensions import db
from som_flow.models import Appointment, Opportunity, Task
from som_flow.services.appointments import occurrences
from som_flow.services.unit_of_work import now


@dataclass(frozen=True)
class NextActivity:
    type: str  # "task" | "appointment"
    title: str
    at: datetime | None  # None: an open task without a due date

    def overdue(self, at: datetime) -> bool:
        return self.type == "task" and self.at is not None and self.at < at


def next_activities(opp_ids: list[int]) -> dict[int, NextActivity]:
    """Each deal's next activity: the earliest of its open tasks' due dates and its appointments still to come
    (a repeating one by its next occurrence); an open task without a due date when there is nothing dated. Deals
    with neither are left out. Two queries for any number of deals."""
    if not opp_ids:
        return {}
    at = now()
    dated: dict[int, NextActivity] = {}
    undated: dict[int, NextActivity] = {}

    def keep(opp_id: int, activity: NextActivity) -> None:
        if opp_id not in dated or activity.at < dated[opp_id].at:
            dated[opp_id] = activity

    # each deal's first open task: the earliest due, else (none dated) the first made
    first = select(Task.opportunity_id, Task.title, Task.due_at, func.row_number().over(
        partition_by=Task.opportunity_id, order_by=(Task.due_at.asc().nulls_last(), Task.created_at, Task.id))
        .label("n")).where(_one_of(Task.opportunity_id, opp_ids), Task.status == "open").subquery()
    for opp_id, title, due_at in db.session.execute(
            select(first.c.opportunity_id, first.c.title, first.c.due_at).where(first.c.n == 1)):
        if due_at is None:
            undated[opp_id] = NextActivity("task", title, None)
        else:
            keep(opp_id, NextActivity("task", title, due_at))
    for appt in db.session.scalars(_upcoming_appointments(at).where(_one_of(Appointment.opportunity_id, opp_ids))):
        nxt = occurrences(appt, at, at + timedelta(days=400))[:1] if appt.rrule else [appt]
        if nxt:
            start = nxt[0].start if appt.rrule else appt.start_at
            keep(appt.opportunity_id, NextActivity("appointment", appt.title, start))
    return {**undated, **dated}


def _one_of(column, ids: list[int]):
    """`column IN ids`; on PostgreSQL as one array parameter: a board's 200 ids written out as 200 parameters cost
    more to bind, send and parse than the query takes to run."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("ids", list(ids), type_=ARRAY(Integer)))
    return column.in_(ids)


def _upcoming_appointments(at: datetime):
    # a repeating series counts while it lasts; its next occurrence is found in Python (next_activities)
    return select(Appointment).where(Appointment.status == "scheduled",
                                     or_(Appointment.end_at > at, Appointment.rrule.is_not(None)))


def without_next_activity(at: datetime):
    """A filter on Opportunity: no open task and no appointment to come (a repeating series counts as to come,
    even once its last occurrence is past: the filter stays one SQL query)."""
    upcoming = _upcoming_appointments(at).where(Appointment.opportunity_id == Opportunity.id)
    return ~exists(select(Task.id).where(Task.opportunity_id == Opportunity.id, Task.status == "open")) & \
        ~exists(upcoming.with_only_columns(Appointment.id))
