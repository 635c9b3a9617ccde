"""A deal's next activity: the earliest open task or appointment still to come, for many deals at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import (
    ARRAY,
    Integer,
    String,
    any_,
    bindparam,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)

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
    with neither are left out. One statement for any number of deals (a board asks for its 80 cards at once), and
    one more when some of them have a repeating appointment."""
    if not opp_ids:
        return {}
    at = now()
    dated: dict[int, NextActivity] = {}
    undated: dict[int, NextActivity] = {}

    def keep(opp_id: int, activity: NextActivity) -> None:
        if opp_id not in dated or activity.at < dated[opp_id].at:
            dated[opp_id] = activity

    postgresql = db.session.get_bind().dialect.name == "postgresql"
    ids = list(opp_ids)
    rows = db.session.execute(_statement(postgresql), {"ids": ids, "at": at}).all()  # fetched at once, not row by row
    series_ids = [series_id for *_, series_id in rows if series_id is not None]
    # repeating series (a weekly service visit): their next occurrence from their rule, in their own zone; all of
    # them in one more statement, however many deals have one
    series = ({appt.id: appt for appt in db.session.scalars(select(Appointment).where(Appointment.id.in_(series_ids)))}
              if series_ids else {})
    for kind, opp_id, title, when, series_id in rows:
        if kind == "task":
            if when is None:
                undated[opp_id] = NextActivity("task", title, None)
            else:
                keep(opp_id, NextActivity("task", title, when))
        elif series_id is None:
            keep(opp_id, NextActivity("appointment", title, when))
        elif nxt := occurrences(series[series_id], at, at + timedelta(days=400))[:1]:
            keep(opp_id, NextActivity("appointment", title, nxt[0].start))
    return {**undated, **dated}


@cache
def _statement(postgresql: bool):
    """next_activities' statement, built once (building and keying it cost more than running it at a board's 80
    cards): each deal's first open task (the earliest due, else the first made) and its appointments still to come,
    as (kind, deal, title, when, the series' id when it repeats). `ids` is one array parameter on PostgreSQL: a
    board's ids written out one parameter each cost more to bind, send and parse than the query takes to run."""
    def one_of(column):
        if postgresql:
            return column == any_(bindparam("ids", type_=ARRAY(Integer)))
        return column.in_(bindparam("ids", expanding=True))

    first = (select(Task.opportunity_id, Task.title, Task.due_at, func.row_number().over(
        partition_by=Task.opportunity_id, order_by=(Task.due_at.asc().nulls_last(), Task.created_at, Task.id))
        .label("n")).where(one_of(Task.opportunity_id), Task.status == "open").subquery())
    at = bindparam("at", type_=Appointment.__table__.c.end_at.type)
    tasks = select(literal("task", String).label("kind"), first.c.opportunity_id, first.c.title,
                   first.c.due_at.label("at"), null().label("series_id")).where(first.c.n == 1)
    appointments = (_upcoming_appointments(at).where(one_of(Appointment.opportunity_id))
                    .with_only_columns(literal("appointment", String), Appointment.opportunity_id, Appointment.title,
                                       Appointment.start_at,
                                       case((Appointment.rrule.is_not(None), Appointment.id), else_=null())))
    return union_all(tasks, appointments)


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
