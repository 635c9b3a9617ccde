"""Who may do what — the same rules for the API and the pages (matrix in README.md)."""

from __future__ import annotations

from som_flow.errors import Forbidden
from som_flow.models import Opportunity, Task, User

SALES_ADMINS = ("admin", "manager")


def require_role(user: User, *roles: str) -> None:
    if not user.has_role("admin", *roles):
        raise Forbidden(f"This needs one of the roles: {', '.join(('admin',) + roles)}.")


def can_change_opportunity(user: User, opp: Opportunity) -> bool:
    """Managers/admins change everything; CSRs work the office side; reps only their own deals."""
    if user.has_role(*SALES_ADMINS, "csr"):
        return True
    return user.has_role("rep") and opp.sales_rep_id == user.id


def require_change(user: User, opp: Opportunity) -> None:
    if not can_change_opportunity(user, opp):
        raise Forbidden(f"Only the assigned rep, the office or a manager may change {opp.number}.")


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
        raise Forbidden(f"Task {task.title!r} belongs to someone else.")
