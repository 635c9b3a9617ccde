"""Undoing a deal made by mistake: archive it (hidden from lists, its history kept) or delete it outright.

Deleting is for a deal nobody has built on: once it has an estimate or a job it is refused, archive it instead.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, select, update

from som_flow.errors import Conflict
from som_flow.extensions import db
from som_flow.models import Appointment, Delivery, Estimate, Notification, Opportunity, Reminder, Task, User
from som_flow.models.work import appointment_attendee
from som_flow.services.guards import lock_opportunity
from som_flow.services.history import record_event
from som_flow.services.permissions import SALES_ADMINS, require_role
from som_flow.services.reminder_schedule import sync_reminders
from som_flow.services.unit_of_work import now, service

log = logging.getLogger(__name__)

UNDOERS = SALES_ADMINS  # who may archive or delete a deal (README, "Who may do what")


@service
def archive_opportunity(actor: User, opp_id: int) -> Opportunity:
    """Hide the deal from lists, the board, the forecast and the task list; its pending reminders stop.
    Raises Forbidden, NotFound."""
    opp = lock_opportunity(opp_id)
    require_role(actor, "manager")
    if opp.archived_at is None:
        opp.archived_at = now()
        db.session.execute(update(Reminder).where(Reminder.opportunity_id == opp.id, Reminder.state == "pending")
                           .values(state="cancelled"))
        record_event(opp, actor, "archived")
    return opp


@service
def unarchive_opportunity(actor: User, opp_id: int) -> Opportunity:
    """Show an archived deal again; its reminders are worked out afresh. Raises Forbidden, NotFound."""
    opp = lock_opportunity(opp_id)
    require_role(actor, "manager")
    if opp.archived_at is not None:
        opp.archived_at = None
        record_event(opp, actor, "unarchived")
        sync_reminders(opp)
    return opp


def removal_summary(opp: Opportunity) -> dict:
    """What deleting the deal would take with it (the confirm dialog says so), and why it may not be deleted."""
    estimates = db.session.scalar(select(db.func.count()).select_from(Estimate).where(
        Estimate.opportunity_id == opp.id)) or 0
    tasks = db.session.scalar(select(db.func.count()).select_from(Task).where(Task.opportunity_id == opp.id)) or 0
    appointments = db.session.scalar(select(db.func.count()).select_from(Appointment).where(
        Appointment.opportunity_id == opp.id)) or 0
    refusal = None
    if opp.job_id is not None:
        refusal = f"{opp.number} has a job; archive it instead."
    elif estimates:
        refusal = f"{opp.number} has {estimates} estimate(s); archive it instead."
    return {"tasks": tasks, "appointments": appointments, "estimates": estimates, "refusal": refusal}


@service
def delete_opportunity(actor: User, opp_id: int) -> None:
    """Delete the deal with everything that hangs on it (tasks, appointments booked on it, reminders, its
    notifications, history, process state, parties, demand lines) in one transaction.
    Raises Forbidden, NotFound, Conflict (it has estimates or a job: archive it instead)."""
    opp = lock_opportunity(opp_id)
    require_role(actor, "manager")
    refusal = removal_summary(opp)["refusal"]
    if refusal:
        raise Conflict(refusal)
    number = opp.number
    _delete_appointments(opp.id)
    _delete_reminders(opp.id)
    _clear_dependants(opp.id)
    db.session.expire_all()  # the bulk statements above bypassed the session's copies of those rows
    db.session.delete(db.session.get(Opportunity, opp_id))
    db.session.flush()
    log.info("%s deleted by user %s", number, actor.id)


def _delete_appointments(opp_id: int) -> None:
    """Appointments booked on the deal go with it (and their occurrences); copies memorized elsewhere stay."""
    appt_ids = list(db.session.scalars(select(Appointment.id).where(Appointment.opportunity_id == opp_id)))
    if not appt_ids:
        return
    db.session.execute(update(Appointment).where(Appointment.memorized_from_id.in_(appt_ids))
                       .values(memorized_from_id=None))
    reminders = select(Reminder.id).where(Reminder.kind == "appointment",
                                          Reminder.source_id.in_([str(i) for i in appt_ids]))
    _delete_reminder_rows(reminders)
    db.session.execute(delete(appointment_attendee).where(appointment_attendee.c.appointment_id.in_(appt_ids)))
    db.session.execute(update(Appointment).where(Appointment.id.in_(appt_ids))
                       .values(series_id=None, memorized_from_id=None))
    db.session.execute(delete(Appointment).where(Appointment.id.in_(appt_ids)))


def _delete_reminders(opp_id: int) -> None:
    db.session.execute(delete(Notification).where(Notification.opportunity_id == opp_id))
    _delete_reminder_rows(select(Reminder.id).where(Reminder.opportunity_id == opp_id))


def _delete_reminder_rows(ids) -> None:
    """Reminders and the notifications they made; the delivery log keeps its keys (a delivery never repeats)."""
    id_list = list(db.session.scalars(ids))
    if not id_list:
        return
    db.session.execute(delete(Notification).where(Notification.reminder_id.in_(id_list)))
    db.session.execute(update(Delivery).where(Delivery.reminder_id.in_(id_list)).values(reminder_id=None))
    db.session.execute(delete(Reminder).where(Reminder.id.in_(id_list)))


def _clear_dependants(opp_id: int) -> None:
    """Every other row pointing at the deal, found from the schema so a table added later is not missed: rows
    that belong to the deal (a required reference: tasks, events, stays, process state, parties, demand) are
    deleted; rows that only mention it (an optional one: a contact-log entry) keep living without it."""
    for table in reversed(db.metadata.sorted_tables):
        for fk in table.foreign_keys:
            if fk.column.table.name != "opportunity" or table.name == "opportunity":
                continue
            column = fk.parent
            if column.nullable:
                db.session.execute(update(table).where(column == opp_id).values({column.name: None}))
            else:
                db.session.execute(delete(table).where(column == opp_id))
