"""The task list: my tasks, the pool for my roles, claim / assign / unassign (completion lives with the process)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from som_flow.errors import Conflict, Forbidden, NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.models import Opportunity, Task, User
from som_flow.services.history import record_event
from som_flow.services.permissions import require_assign, require_task
from som_flow.services.reminder_schedule import sync_reminders
from som_flow.services.unit_of_work import now, service
from som_flow.services.users import user_name

ROLE_POOLS = {"csr": ("csr", "office"), "rep": ("rep",), "manager": ("manager",), "scheduler": ("scheduler",),
              "admin": ("csr", "office", "rep", "manager", "scheduler")}


def pool_roles(user: User) -> list[str]:
    return sorted({r for role in user.roles for r in ROLE_POOLS.get(role, ())})


def search_tasks(user: User, *, assignee=None, status="open", opportunity=None, due_before=None,
                 include_hidden=False, page=1, per_page=50):
    """Tasks the user may see; one with a follow-up date still ahead is hidden unless `include_hidden`."""
    query = select(Task).where(Task.status == status)
    if not include_hidden:
        query = query.where(or_(Task.follow_up_at.is_(None), Task.follow_up_at <= now()))
    if assignee == "me":
        query = query.where(Task.assignee_id == user.id)
    elif assignee == "none":
        query = query.where(Task.assignee_id.is_(None), Task.role.in_(pool_roles(user)))
    elif assignee:
        query = query.where(Task.assignee_id == int(assignee))
    if opportunity:
        query = query.where(Task.opportunity_id == opportunity)
    else:  # the tasks of an archived deal (made by mistake) are no one's work
        archived = select(Opportunity.id).where(Opportunity.archived_at.is_not(None))
        query = query.where(Task.opportunity_id.not_in(archived))
    if due_before:
        query = query.where(Task.due_at <= due_before)
    if not user.has_role("admin", "manager") and assignee is None:
        query = query.where(or_(Task.assignee_id == user.id,
                                (Task.assignee_id.is_(None)) & Task.role.in_(pool_roles(user))))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    query = query.order_by(Task.due_at.is_(None), Task.due_at, Task.created_at)
    return list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page))), total


def get_task(task_id: str) -> Task:
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound(f"No task {task_id}")
    return task


def lock_task(task_id: str) -> Task:
    """The task row as committed now, locked until this transaction ends: racing writers queue here and each
    checks the row the one before it left. Raises NotFound.

    PostgreSQL: SELECT ... FOR NO KEY UPDATE (it still lets others insert rows pointing at the task or its deal).
    SQLite has no row locks; every transaction there begins IMMEDIATE, which already queues the writers.
    """
    task = db.session.get(Task, task_id, with_for_update={"key_share": True}, populate_existing=True)
    if task is None:
        raise NotFound(f"No task {task_id}")
    return task


def _name(user_id: int | None) -> str:
    return user_name(user_id) or "someone"


def require_task_open(task: Task) -> None:
    """Raises Conflict naming who closed the task, so the loser of a race knows what happened."""
    if task.status == "done":
        raise Conflict(f"Task {task.title!r} is already done: {_name(task.completed_by_id)} completed it.",
                       {"task": [f"Completed by {_name(task.completed_by_id)}."]})
    if task.status != "open":
        raise Conflict(f"Task {task.title!r} is {task.status}.", {"task": [f"The task is {task.status}."]})


def _log(task: Task, actor: User, type_: str, **data) -> None:
    record_event(task.opportunity, actor, type_, task=task.title, task_id=task.id, **data)


@service
def claim_task(actor: User, task_id: str) -> Task:
    """Take an open pool task. Raises NotFound, Forbidden, Conflict (done, or someone else has it)."""
    task = lock_task(task_id)
    require_task_open(task)
    if task.assignee_id not in (None, actor.id):
        raise Conflict(f"Task {task.title!r} is already assigned to {_name(task.assignee_id)}.",
                       {"task": [f"Assigned to {_name(task.assignee_id)}."]})
    require_task(actor, task)
    task.assignee_id = actor.id
    _log(task, actor, "task_claimed", user=actor.id)
    return task


@service
def unassign_task(actor: User, task_id: str) -> Task:
    """Put an open task back in its pool. Raises NotFound, Forbidden, Conflict (not open)."""
    task = lock_task(task_id)
    require_task(actor, task)
    require_task_open(task)
    old, task.assignee_id = task.assignee_id, None
    _log(task, actor, "task_unassigned", old=old)
    return task


@service
def assign_task(actor: User, task_id: str, user_id: int) -> Task:
    """Give an open task to someone. Raises Forbidden, NotFound, Conflict (not open), ValidationFailed (user)."""
    require_assign(actor)
    task = lock_task(task_id)
    require_task_open(task)
    user = db.session.get(User, user_id)
    if user is None:
        raise ValidationFailed("Unknown user", {"user_id": ["No such user."]})
    old, task.assignee_id = task.assignee_id, user.id
    _log(task, actor, "task_assigned", old=old, new=user.id)
    sync_reminders(task.opportunity)
    return task


@service
def set_follow_up(actor: User, task_id: str, follow_up_at: datetime | None) -> Task:
    """Hide an open task from the lists until `follow_up_at` (None shows it again); its assignee or a manager."""
    task = lock_task(task_id)
    if task.assignee_id != actor.id and not actor.has_role("manager", "admin"):
        raise Forbidden("Only the task's assignee or a manager may set its follow-up date.")
    require_task_open(task)
    if follow_up_at is not None and follow_up_at.tzinfo is None:
        raise ValidationFailed("Give the time with an offset", {"follow_up_at": ["Add an offset such as +00:00."]})
    old, task.follow_up_at = task.follow_up_at, follow_up_at
    _log(task, actor, "task_follow_up", old=old.isoformat() if old else None,
         new=follow_up_at.isoformat() if follow_up_at else None)
    return task
