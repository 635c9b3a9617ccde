"""Bulk work on tasks from the task list: done, snooze (a follow-up date) or reassign many at once."""

from __future__ import annotations

from datetime import datetime

from som_flow.errors import SomFlowError, ValidationFailed
from som_flow.i18n import gettext
from som_flow.models import User
from som_flow.services import tasks
from som_flow.services.opportunities import complete_task
from som_flow.services.tasks import get_task

BULK_TASK_ACTIONS = ("complete", "snooze", "assign")


def _complete_without_form(actor: User, task_id: str) -> None:
    # a form asks for answers one by one; "done" for many cannot give them
    if get_task(task_id).form:
        raise ValidationFailed(gettext("This task has a form: fill it in and complete it on its own."),
                               {"ids": [gettext("The task has a form to fill in.")]})
    complete_task(actor, task_id, {})


def bulk_tasks(actor: User, ids: list[str], action: str, *, follow_up_at: datetime | None = None,
               user_id: int | None = None) -> tuple[list[str], dict[str, dict]]:
    """Run `action` on each task in its own transaction (the single task's service, with its checks); one refusal
    does not undo the others. Returns the ids done and, per refused id, its problem.
    Raises ValidationFailed when the action misses what it needs (`follow_up_at`, `user_id`)."""
    if action == "snooze" and follow_up_at is None:
        raise ValidationFailed(gettext("Give the date to snooze until"), {"follow_up_at": [gettext("Missing.")]})
    if action == "assign" and user_id is None:
        raise ValidationFailed(gettext("Give the person to reassign to"), {"user_id": [gettext("Missing.")]})
    done: list[str] = []
    failed: dict[str, dict] = {}
    for task_id in ids:
        try:
            if action == "complete":
                _complete_without_form(actor, task_id)
            elif action == "snooze":
                tasks.set_follow_up(actor, task_id, follow_up_at)
            elif action == "assign":
                tasks.assign_task(actor, task_id, user_id)
            done.append(task_id)
        except SomFlowError as exc:
            failed[task_id] = exc.problem()
    return done, failed
