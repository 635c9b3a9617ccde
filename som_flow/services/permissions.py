"""Who may do what — the same rules for the API and the pages (matrix in README.md)."""

from __future__ import annotations

from som_flow.errors import Forbidden
from som_flow.i18n import gettext
from som_flow.models import Appointment, Opportunity, Task, User

SALES_ADMINS = ("admin", "manager")


def require_role(user: User, *roles: str) -> None:
    if not user.has_role("admin", *roles):
        raise Forbidden(gettext("This needs one of the roles: %(items)s.", items=', '.join(('admin',) + roles)))


def can_change_opportunity(user: User, opp: Opportunity) -> bool:
    """Managers/admins change everything; CSRs work the office side; reps only their own deals."""
    if user.has_role(*SALES_ADMINS, "csr"):
        return True
    return user.has_role("rep") and opp.sales_rep_id == user.id


def require_change(user: User, opp: Opportunity) -> None:
    if not can_change_opportunity(user, opp):
        raise Forbidden(gettext("Only the assigned rep, the office or a manager may change %(number)s.",
                                number=opp.number))


# closing a deal's outcome is a sales decision: the office edits, moves and closes deals but does not undo
# an outcome (README, "Who may do what")
REOPENERS = ("manager", "rep")  # and admin, who may do everything


def can_reopen(user: User, opp: Opportunity) -> bool:
    """Admins and managers reopen any closed deal; a rep only their own; the office (csr) none."""
    if user.has_role(*SALES_ADMINS):
        return True
    return user.has_role("rep") and opp.sales_rep_id == user.id


def require_reopen(user: User, opp: Opportunity) -> None:
    if not can_reopen(user, opp):
        raise Forbidden(gettext("Only the assigned rep or a manager may reopen %(number)s.", number=opp.number))


# who sees everyone's appointments and reminders; anyone else (a rep) sees only their own
CALENDAR_READERS = ("admin", "manager", "csr", "scheduler")


def can_see_everyones_calendar(user: User) -> bool:
    return user.has_role(*CALENDAR_READERS)


def require_see_calendar(user: User, owner_id: int) -> None:
    """The appointments and reminders of `owner_id`: one's own, or anyone's for CALENDAR_READERS."""
    if owner_id != user.id and not can_see_everyones_calendar(user):
        raise Forbidden(gettext("You may only see your own appointments and reminders."))


def calendar_owner(user: User, wanted: int | None) -> int | None:
    """Whose appointments or reminders a list shows: `wanted` if `user` may see them (Forbidden if not);
    without one, everyone's for CALENDAR_READERS and a rep's own for a rep."""
    if wanted is None:
        return None if can_see_everyones_calendar(user) else user.id
    require_see_calendar(user, wanted)
    return wanted


def require_assign(user: User) -> None:
    require_role(user, "manager", "csr")


def can_work_task(user: User, task: Task) -> bool:
    if user.has_role(*SALES_ADMINS):
        return True
    if task.assignee_id is not None:
        return task.assignee_id == user.id
    role = "csr" if task.role == "office" else task.role
    return user.has_role(role)


def require_task(user: User, task: Task) -> None:
    if not can_work_task(user, task):
        raise Forbidden(gettext("Task %(title)s belongs to someone else.", title=repr(task.title)))


# who may change, move, complete or delete an appointment: the office and managers any, anyone else (a rep) only
# one they attend (README, "Who may do what")
APPOINTMENT_KEEPERS = ("admin", "manager", "csr", "scheduler")


def can_change_appointment(user: User, appt: Appointment) -> bool:
    if user.has_role(*APPOINTMENT_KEEPERS):
        return True
    return any(person.id == user.id for person in appt.attendees)


def require_change_appointment(user: User, appt: Appointment) -> None:
    if not can_change_appointment(user, appt):
        raise Forbidden(gettext("Only its attendees, the office or a manager may change %(title)s.",
                                title=repr(appt.title)))
