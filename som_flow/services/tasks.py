"""The task list: my tasks, the pool for my roles, claim / assign / unassign (completion lives with the process)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from som_flow.errors import Conflict, Forbidden, NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.models import Task, User
from som_flow.services.permissions import require_assign, require_task
from som_flow.services.unit_of_work import now, service

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


def _log(task: Task, actor: User, type_: str, **data) -> None:
    from som_flow.services.opportunities import _event

    _event(task.opportunity, actor, type_, task=task.title, task_id=task.id, **data)


@service
def claim_task(actor: User, task_id: str) -> Task:
    task = get_task(task_id)
    if task.status != "open":
        raise Conflict(f"Task {task.title!r} is {task.status}.")
    if task.assignee_id not in (None, actor.id):
        raise Conflict(f"Task {task.title!r} is already assigned.")
    require_task(actor, task)
    task.assignee_id = actor.id
    _log(task, actor, "task_claimed", user=actor.id)
    return task


@service
def unassign_task(actor: User, task_id: str) -> Task:
    task = get_task(task_id)
    require_task(actor, task)
    old, task.assignee_id = task.assignee_id, None
    _log(task, actor, "task_unassigned", old=old)
    return task


@service
def assign_task(actor: User, task_id: str, user_id: int) -> Task:
    require_assign(actor)
    task = get_task(task_id)
    user = db.session.get(User, user_id)
    if user is None:
        raise ValidationFailed("Unknown user", {"user_id": ["No such user."]})
    old, task.assignee_id = task.assignee_id, user.id
    _log(task, actor, "task_assigned", old=old, new=user.id)
    from som_flow.services.reminders import sync_reminders

    sync_reminders(task.opportunity)
    return task


@service
def set_follow_up(actor: User, task_id: str, follow_up_at: datetime | None) -> Task:
    """Hide an open task from the lists until `follow_up_at` (None shows it again); its assignee or a manager."""
    task = get_task(task_id)
    if task.assignee_id != actor.id and not actor.has_role("manager", "admin"):
        raise Forbidden("Only the task's assignee or a manager may set its follow-up date.")
    if task.status != "open":
        raise Conflict(f"Task {task.title!r} is {task.status}.")
    if follow_up_at is not None and follow_up_at.tzinfo is None:
        raise ValidationFailed("Give the time with an offset", {"follow_up_at": ["Add an offset such as +00:00."]})
    old, task.follow_up_at = task.follow_up_at, follow_up_at
    _log(task, actor, "task_follow_up", old=old.isoformat() if old else None,
         new=follow_up_at.isoformat() if follow_up_at else None)
    return task
