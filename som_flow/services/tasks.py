"""The task list: my tasks, the pool for my roles, claim / assign / unassign, follow-up; tasks people add to a deal.
(Completing a process task steps the process on, so it lives with the opportunity.)"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache

from sqlalchemy import Integer, Text, bindparam, cast, func, or_, select
from sqlalchemy.orm import selectinload

from som_flow.errors import Conflict, Forbidden, NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import Customer, Opportunity, OpportunityKind, Task, User
from som_flow.services.guards import require_open
from som_flow.services.history import record_event
from som_flow.services.permissions import require_assign, require_change, require_task
from som_flow.services.plans import generic_plan
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
                  include_hidden=False) -> tuple[tuple, dict]:
    """The conditions of search_tasks (the tasks the user may see, as the query asks) as their shape — which of
    them apply; _task_where builds each shape's once a process — and the values they compare with."""
    params = {"status": status}
    if not include_hidden:
        params["now"] = now()
    if assignee == "none":
        params["roles"] = pool_roles(user)
    elif assignee:
        params["assignee"] = user.id if assignee == "me" else int(assignee)
    if opportunity:
        params["opportunity"] = opportunity
    if due_before:
        params["due_before"] = due_before
    restricted = not user.has_role("admin", "manager") and assignee is None
    if restricted:
        params["me"], params["roles"] = user.id, pool_roles(user)
    pool = assignee == "none"
    return (include_hidden, pool, bool(assignee) and not pool, bool(opportunity), bool(due_before), restricted), params


_TASK = Task.__table__.c


@cache
def _task_where(shape: tuple) -> tuple:
    """The conditions of a shape of _task_filters, with their values left to bind: built once a process, a statement
    keeps its compiled form and SQLAlchemy's key for it (building them again for each list was ~a third of its
    Python, issue #17 item 3)."""
    include_hidden, pool, person, opportunity, due_before, restricted = shape
    where = [_TASK.status == bindparam("status")]
    if not include_hidden:
        where.append(or_(_TASK.follow_up_at.is_(None), _TASK.follow_up_at <= bindparam("now")))
    if person:
        where.append(_TASK.assignee_id == bindparam("assignee"))
    elif pool:
        where += [_TASK.assignee_id.is_(None), _TASK.role.in_(bindparam("roles", expanding=True))]
    if opportunity:
        where.append(_TASK.opportunity_id == bindparam("opportunity"))
    else:  # the tasks of an archived deal (made by mistake) are no one's work
        archived = select(Opportunity.__table__.c.id).where(Opportunity.__table__.c.archived_at.is_not(None))
        where.append(_TASK.opportunity_id.not_in(archived))
    if due_before:
        where.append(_TASK.due_at <= bindparam("due_before"))
    if restricted:
        where.append(or_(_TASK.assignee_id == bindparam("me"),
                         _TASK.assignee_id.is_(None) & _TASK.role.in_(bindparam("roles", expanding=True))))
    return tuple(where)


# due first (undated last), then oldest; the id keeps tasks due at the same moment in one order from page to page.
# NULLS LAST (not a "due_at IS NULL" term) so both databases read a page in order from ix_task_assignee_list and
# stop at its last row; sorting all of a person's open tasks first made the read 16 ms at 572 of them, 1 ms without
TASK_ORDER = (_TASK.due_at.asc().nulls_last(), _TASK.created_at, _TASK.id)


@cache
def _count_statement(shape: tuple):
    return select(func.count()).select_from(Task.__table__).where(*_task_where(shape))


def _count_tasks(shape: tuple, params: dict) -> int:
    return db.session.execute(_count_statement(shape), params).scalar()


def search_tasks(user: User, *, page=1, per_page=50, counted=True, **filters) -> tuple[list[Task], int | None]:
    """Tasks the user may see; one with a follow-up date still ahead is hidden unless `include_hidden`. The total is
    None when not `counted` (a page that shows no total saves the statement)."""
    shape, params = _task_filters(user, **filters)
    found = db.session.scalars(_task_objects(shape), {**params, "limit": per_page, "offset": (page - 1) * per_page})
    return list(found), _count_tasks(shape, params) if counted else None


@cache
def _task_objects(shape: tuple):
    """search_tasks' statement for a shape of _task_filters, built once."""
    return (select(Task).where(*_task_where(shape)).order_by(*TASK_ORDER).options(
        # the list shows each task's deal, customer, kind and assignee: loaded in a few queries, not one per row
        selectinload(Task.opportunity).selectinload(Opportunity.customer),
        selectinload(Task.opportunity).selectinload(Opportunity.kind),
        selectinload(Task.assignee))
        .limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer)))


def task_rows(user: User, *, page=1, per_page=50, **filters) -> tuple[list[dict], int]:
    """search_tasks' page as plain rows (dicts by column name: a SQLAlchemy row's attributes cost ~0.4 µs a read) of
    what the API shows of a task (schemas.tasks.task_items writes them out), and their count, in one statement
    (planned once a connection: services/plans.py): building ORM objects of 50 tasks, their deals (with their demand
    lines), customers and kinds cost several times the SQL itself (issue #17 item 3). The customer's name comes with
    its parent's and grandparent's (a job's Customer:Job path); a deeper job's, the rare case, is read after. The
    form and its types come as their JSON text (task_items reads each distinct one once: most tasks share a few
    forms)."""
    shape, params = _task_filters(user, **filters)
    with generic_plan():
        result = db.session.execute(_task_page(shape), {**params, "limit": per_page, "offset": (page - 1) * per_page})
        keys = tuple(result.keys())[:-1]  # the last column is the count
        rows = result.all()
        # each row carries the count (computed once); a page past the end has no row to carry it
        total = rows[0][-1] if rows else _count_tasks(shape, params)
    return [dict(zip(keys, row, strict=False)) for row in rows], total


@cache
def _task_page(shape: tuple):
    """task_rows' statement for a shape of _task_filters, built once (SQLAlchemy Core: the ORM's layers cost more
    than reading the rows)."""
    task, opp, kind = Task.__table__, Opportunity.__table__, OpportunityKind.__table__
    customer, parent, grand = Customer.__table__, Customer.__table__.alias("parent"), Customer.__table__.alias("grand")
    t = task.c
    return (select(t.id, t.title, t.instructions, t.opportunity_id, t.source, t.created_by_id, t.stage, t.role,
                   t.assignee_id, t.due_at, t.follow_up_at, t.status, cast(t.form, Text).label("form"),
                   cast(t.form_types, Text).label("form_types"), t.action, t.done_by, t.gate, t.required,
                   t.completed_at, t.job_work_id,
                   opp.c.number.label("opportunity_number"), opp.c.title.label("opportunity_title"),
                   opp.c.stage.label("opportunity_stage"), kind.c.key.label("kind"),
                   customer.c.id.label("customer_id"), customer.c.name.label("customer_name"),
                   parent.c.name.label("parent_name"), grand.c.name.label("grand_name"),
                   grand.c.parent_id.label("grand_parent_id"),
                   # the list's count in the same statement, once (an InitPlan): one round trip fewer
                   _count_statement(shape).scalar_subquery().label("total"))
            .select_from(task.join(opp, t.opportunity_id == opp.c.id).join(kind, opp.c.kind_id == kind.c.id)
                         .outerjoin(customer, opp.c.customer_id == customer.c.id)
                         .outerjoin(parent, customer.c.parent_id == parent.c.id)
                         .outerjoin(grand, parent.c.parent_id == grand.c.id))
            .where(*_task_where(shape)).order_by(*TASK_ORDER)
            .limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer)))


def customer_path(row) -> str | None:
    """A task_rows row's customer as Customer.full_name writes it ("Customer:Job")."""
    if row["customer_id"] is None:
        return None
    if row["grand_parent_id"] is not None:  # deeper than three levels: as the model writes it
        return db.session.get(Customer, row["customer_id"]).full_name
    return ":".join(n for n in (row["grand_name"], row["parent_name"], row["customer_name"]) if n is not None)


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

