"""The task list: my tasks, the pool for my roles, claim / assign / unassign, follow-up; tasks people add to a deal.
(Completing a process task steps the process on, so it lives with the opportunity.)"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, selectinload

from som_flow.errors import Conflict, Forbidden, NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import Customer, Opportunity, OpportunityKind, Task, User
from som_flow.services.guards import require_open
from som_flow.services.history import record_event
from som_flow.services.permissions import require_assign, require_change, require_task
from som_flow.services.reminder_schedule import sync_reminders
from som_flow.services.unit_of_work import now, service
from som_flow.services.users import user_name

# the pools a task can wait in, for a role; "office" is the csr's second pool
TASK_ROLES = ("rep", "csr", "office", "manager", "scheduler")
ROLE_POOLS = {"csr": ("csr", "office"), "rep": ("rep",), "manager": ("manager",), "scheduler": ("scheduler",),
              "admin": ("csr", "office", "rep", "manager", "scheduler")}


def pool_roles(user: User) -> list[str]:
    return sorted({r for role in user.roles for r in ROLE_POOLS.get(role, ())})


def _task_filters(user: User, *, assignee=None, status="open", opportunity=None, due_before=None,
                  include_hidden=False) -> list:
    """The conditions of search_tasks: the tasks the user may see, as the query asks."""
    where = [Task.status == status]
    if not include_hidden:
        where.append(or_(Task.follow_up_at.is_(None), Task.follow_up_at <= now()))
    if assignee == "me":
        where.append(Task.assignee_id == user.id)
    elif assignee == "none":
        where += [Task.assignee_id.is_(None), Task.role.in_(pool_roles(user))]
    elif assignee:
        where.append(Task.assignee_id == int(assignee))
    if opportunity:
        where.append(Task.opportunity_id == opportunity)
    else:  # the tasks of an archived deal (made by mistake) are no one's work
        archived = select(Opportunity.id).where(Opportunity.archived_at.is_not(None))
        where.append(Task.opportunity_id.not_in(archived))
    if due_before:
        where.append(Task.due_at <= due_before)
    if not user.has_role("admin", "manager") and assignee is None:
        where.append(or_(Task.assignee_id == user.id,
                         (Task.assignee_id.is_(None)) & Task.role.in_(pool_roles(user))))
    return where


# due first (undated last), then oldest; the id keeps tasks due at the same moment in one order from page to page.
# NULLS LAST (not a "due_at IS NULL" term) so both databases read a page in order from ix_task_assignee_list and
# stop at its last row; sorting all of a person's open tasks first made the read 16 ms at 572 of them, 1 ms without
TASK_ORDER = (Task.due_at.asc().nulls_last(), Task.created_at, Task.id)


def _count_tasks(where: list) -> int:
    return db.session.scalar(select(func.count()).select_from(Task).where(*where))


def search_tasks(user: User, *, page=1, per_page=50, **filters) -> tuple[list[Task], int]:
    """Tasks the user may see; one with a follow-up date still ahead is hidden unless `include_hidden`."""
    where = _task_filters(user, **filters)
    query = select(Task).where(*where).order_by(*TASK_ORDER).options(
        # the list shows each task's deal, customer, kind and assignee: loaded in a few queries, not one per row
        selectinload(Task.opportunity).selectinload(Opportunity.customer),
        selectinload(Task.opportunity).selectinload(Opportunity.kind),
        selectinload(Task.assignee))
    return list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page))), _count_tasks(where)


def task_rows(user: User, *, page=1, per_page=50, **filters) -> tuple[list, int]:
    """search_tasks' page as plain rows of what the API shows of a task (schemas.tasks.task_items writes them out),
    in one statement: building ORM objects of 50 tasks, their deals (with their demand lines), customers and kinds
    cost several times the SQL itself (issue #17 item 3). The customer's name comes with its parent's and
    grandparent's (a job's Customer:Job path); a deeper job's, the rare case, is read after."""
    where = _task_filters(user, **filters)
    query = _task_row_select().where(*where).order_by(*TASK_ORDER).limit(per_page).offset((page - 1) * per_page)
    return db.session.execute(query).all(), _count_tasks(where)


@cache
def _task_row_select():
    """task_rows' columns and joins, built once: building them (the aliases above all) cost more than the query."""
    parent, grand = aliased(Customer), aliased(Customer)
    return (select(Task.id, Task.title, Task.instructions, Task.opportunity_id, Task.source, Task.created_by_id,
                   Task.stage, Task.role, Task.assignee_id, Task.due_at, Task.follow_up_at, Task.status, Task.form,
                   Task.form_types, Task.action, Task.done_by, Task.gate, Task.required, Task.completed_at,
                   Task.job_work_id,
                   Opportunity.number.label("opportunity_number"), Opportunity.title.label("opportunity_title"),
                   Opportunity.stage.label("opportunity_stage"), OpportunityKind.key.label("kind"),
                   Customer.id.label("customer_id"), Customer.name.label("customer_name"),
                   parent.name.label("parent_name"), grand.name.label("grand_name"),
                   grand.parent_id.label("grand_parent_id"))
            .join(Opportunity, Task.opportunity_id == Opportunity.id)
            .join(OpportunityKind, Opportunity.kind_id == OpportunityKind.id)
            .outerjoin(Customer, Opportunity.customer_id == Customer.id)
            .outerjoin(parent, Customer.parent_id == parent.id)
            .outerjoin(grand, parent.parent_id == grand.id))


def customer_path(row) -> str | None:
    """A task_rows row's customer as Customer.full_name writes it ("Customer:Job")."""
    if row.customer_id is None:
        return None
    if row.grand_parent_id is not None:  # deeper than three levels: as the model writes it
        return db.session.get(Customer, row.customer_id).full_name
    return ":".join(n for n in (row.grand_name, row.parent_name, row.customer_name) if n is not None)


def get_task(task_id: str) -> Task:
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound(gettext("No task %(task_id)s", task_id=task_id))
    return task


def get_tasks(ids: list[str]) -> list[Task]:
    """The tasks with these ids (unknown ids left out)."""
    return list(db.session.scalars(select(Task).where(Task.id.in_(ids)))) if ids else []


def lock_task(task_id: str) -> Task:
    """The task row as committed now, locked until this transaction ends: racing writers queue here and each
    checks the row the one before it left. Raises NotFound.

    PostgreSQL: SELECT ... FOR NO KEY UPDATE (it still lets others insert rows pointing at the task or its deal).
    SQLite has no row locks; every transaction there begins IMMEDIATE, which already queues the writers.
    """
    task = db.session.get(Task, task_id, with_for_update={"key_share": True}, populate_existing=True)
    if task is None:
        raise NotFound(gettext("No task %(task_id)s", task_id=task_id))
    return task


def _name(user_id: int | None) -> str:
    return user_name(user_id) or "someone"


def require_task_open(task: Task) -> None:
    """Raises Conflict naming who closed the task, so the loser of a race knows what happened."""
    if task.status == "done":
        raise Conflict(gettext("Task %(title)s is already done: %(who)s completed it.", title=repr(task.title),
                               who=_name(task.completed_by_id)),
                       {"task": [gettext("Completed by %(who)s.", who=_name(task.completed_by_id))]})
    if task.status != "open":
        raise Conflict(gettext("Task %(title)s is %(status)s.", title=repr(task.title), status=gettext(task.status)),
                       {"task": [gettext("The task is %(status)s.", status=gettext(task.status))]})


def _log(task: Task, actor: User, type_: str, **data) -> None:
    record_event(task.opportunity, actor, type_, task=task.title, task_id=task.id, **data)


@service
def claim_task(actor: User, task_id: str) -> Task:
    """Take an open pool task. Raises NotFound, Forbidden, Conflict (done, or someone else has it)."""
    task = lock_task(task_id)
    require_task_open(task)
    if task.assignee_id not in (None, actor.id):
        raise Conflict(gettext("Task %(title)s is already assigned to %(who)s.", title=repr(task.title),
                               who=_name(task.assignee_id)),
                       {"task": [gettext("Assigned to %(who)s.", who=_name(task.assignee_id))]})
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
        raise ValidationFailed(gettext("Unknown user"), {"user_id": [gettext("No such user.")]})
    old, task.assignee_id = task.assignee_id, user.id
    _log(task, actor, "task_assigned", old=old, new=user.id)
    sync_reminders(task.opportunity)
    return task


@service
def set_follow_up(actor: User, task_id: str, follow_up_at: datetime | None) -> Task:
    """Hide an open task from the lists until `follow_up_at` (None shows it again); its assignee or a manager."""
    task = lock_task(task_id)
    if task.assignee_id != actor.id and not actor.has_role("manager", "admin"):
        raise Forbidden(gettext("Only the task's assignee or a manager may set its follow-up date."))
    require_task_open(task)
    if follow_up_at is not None and follow_up_at.tzinfo is None:
        raise ValidationFailed(gettext("Give the time with an offset"),
                               {"follow_up_at": [gettext("Add an offset such as +00:00.")]})
    old, task.follow_up_at = task.follow_up_at, follow_up_at
    _log(task, actor, "task_follow_up", old=old.isoformat() if old else None,
         new=follow_up_at.isoformat() if follow_up_at else None)
    return task


# -- tasks people add --------------------------------------------------------------------------------
def _work_role(user: User) -> str:
    """The pool a person's own task belongs to: their working role (an admin's is the manager's)."""
    return next((r for r in ("rep", "csr", "scheduler", "manager") if user.has_role(r)), "manager")


@service
def create_task(actor: User, data: dict) -> Task:
    """Add a task to an open deal: for someone (`assignee_id`), for a pool (`role`), or else for oneself.

    It is the person's, not the process's: it never gates a stage and the engine never sees it. Only who may
    change the deal adds one, and only who may assign gives it to someone else.
    Raises ValidationFailed (deal, assignee, role, due date), Forbidden, Conflict (the deal is closed).
    """
    opp = db.session.get(Opportunity, data["opportunity_id"])
    if opp is None:
        raise ValidationFailed(gettext("Unknown opportunity"), {"opportunity_id": [gettext("No such opportunity.")]})
    require_change(actor, opp)
    require_open(opp, "add tasks to")
    role, assignee_id = data.get("role"), data.get("assignee_id")
    if role is not None and role not in TASK_ROLES:
        raise ValidationFailed(gettext("Unknown pool %(role)s", role=repr(role)),
                               {"role": [gettext("Choose one of %(items)s.", items=', '.join(TASK_ROLES))]})
    assignee = None
    if assignee_id is not None:
        assignee = db.session.get(User, assignee_id)
        if assignee is None or not assignee.active:
            raise ValidationFailed(gettext("Unknown user"), {"assignee_id": [gettext("No such active user.")]})
    elif role is None:
        assignee = actor  # a task one jots down for oneself
    if assignee is not None and assignee.id != actor.id:
        require_assign(actor)
    due_at = data.get("due_at")
    if due_at is not None and due_at.tzinfo is None:
        raise ValidationFailed(gettext("Give the due time with an offset"),
                               {"due_at": [gettext("Add an offset such as +00:00.")]})
    task = Task(id=str(uuid.uuid4()), opportunity_id=opp.id, spec_name="person", title=data["title"],
                instructions=data.get("instructions") or "", role=role or _work_role(assignee), stage=opp.stage,
                gate=False, required=False, action=None, assignee_id=assignee.id if assignee else None,
                due_at=due_at, status="open", form=[], data={}, source="person", created_by_id=actor.id)
    db.session.add(task)
    db.session.flush()
    task.opportunity = opp
    _log(task, actor, "task_created", assignee=task.assignee_id, role=task.role,
         due_at=due_at.isoformat() if due_at else None)
    sync_reminders(opp)
    return task


def finish_person_task(actor: User, task: Task, idempotency_key: str | None) -> Task:
    """Mark a person's task done (inside the caller's transaction, with the deal and the task locked): the
    process is not involved, so nothing steps on."""
    task.status, task.completed_by_id, task.completed_at, task.data = "done", actor.id, now(), {}
    task.completion_key = idempotency_key
    _log(task, actor, "task_completed")
    sync_reminders(task.opportunity)
    return task


def cancel_person_tasks(opp: Opportunity, actor: User | None) -> None:
    """A closed deal takes no more work: its people's open tasks are cancelled as the process's are."""
    for task in db.session.scalars(select(Task).where(Task.opportunity_id == opp.id, Task.status == "open",
                                                      Task.source == "person")):
        task.status = "cancelled"
        _log(task, actor, "task_cancelled")

