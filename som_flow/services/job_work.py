"""The job's own work (seed 001, step 6: "the process of ordering and scheduling for this job now begins, usually
by the office"): when a deal is won with a job, its kind's follow-on process starts on that job, in the win's
transaction. Its user tasks are Task rows on the deal (`job_work_id` set), in the office's pool; completing one
steps this run, never the deal's sales process (which has ended). When the run ends the job's work is complete.
Reopening the deal cancels the work still open.

Load → act → project → save, as `process_run` does for the sale, under the deal's row lock (the completion locks
the deal first, then the task), so two people completing the job's tasks at once queue instead of tearing its state.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from som_flow.engine import ProcessDefinition, Run
from som_flow.errors import Conflict, InvalidProcess, ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import Customer, FollowOnVersion, JobWork, Opportunity, Task, User
from som_flow.services.appointments import create_appointment
from som_flow.services.history import record_event
from som_flow.services.kinds import current_follow_on
from som_flow.services.process_run import engine, process_data, task_due
from som_flow.services.unit_of_work import now

log = logging.getLogger(__name__)


def _definition(version: FollowOnVersion) -> ProcessDefinition:
    return engine().follow_on_definition(version.id, version.bpmn_xml)


def _load(work: JobWork) -> Run:
    return engine().restore(_definition(work.follow_on_version), work.state)


# -- reading ---------------------------------------------------------------------------------------
def work_of_deal(opp: Opportunity) -> list[JobWork]:
    """The job work runs a deal started (one per win with a job), newest first."""
    return list(db.session.scalars(select(JobWork).where(JobWork.opportunity_id == opp.id)
                                   .order_by(JobWork.id.desc())))


def work_of_job(job: Customer) -> list[JobWork]:
    """The work runs on this job (customer), newest first."""
    return list(db.session.scalars(select(JobWork).where(JobWork.job_id == job.id).order_by(JobWork.id.desc())))


def tasks_of(work: JobWork) -> list[Task]:
    """The tasks the run handed out, in the order it handed them out."""
    return list(db.session.scalars(select(Task).where(Task.job_work_id == work.id)
                                   .order_by(Task.created_at, Task.id)))


# -- use cases (each inside its caller's transaction: the win, the completion, the reopen) ---------------------
def start_job_work(opp: Opportunity, job: Customer, actor: User | None) -> JobWork | None:
    """Start the kind's current follow-on process on the job a win just made; None when the kind has none, or when
    the stored follow-on no longer passes the engine's check (the sale is decided all the same: a warning on the
    deal says the office's work did not start). Raises ProcessError."""
    version = current_follow_on(opp.kind)
    if version is None:
        return None
    try:
        definition = _definition(version)
    except InvalidProcess as exc:
        log.warning("follow-on %s v%s of %s refused: %s", version.name, version.number, opp.kind.key, exc.detail)
        record_event(opp, actor, "warning", message=f"The job's work did not start: {exc.detail}")
        return None
    run = engine().start(definition, dict(process_data(opp), job=job.name))
    work = JobWork(opportunity_id=opp.id, job_id=job.id, follow_on_version_id=version.id, status="running",
                   state="", started_at=now())
    work.follow_on_version = version
    db.session.add(work)
    db.session.flush()
    record_event(opp, actor, "job_work_started", job_id=job.id, job=job.name, process=version.name,
                 version=version.number)
    _project(work, opp, run, actor)
    return work


def complete_job_task(actor: User, opp: Opportunity, task: Task, data: dict, idempotency_key: str | None) -> Task:
    """Complete a task of the job's work; its run steps on (booking the work on the job if the task asks for an
    appointment and `data` carries one). The caller holds the deal's and the task's locks and has checked who
    may and that the task is open. Raises Conflict (the work was cancelled), ValidationFailed (form, times)."""
    work = db.session.get(JobWork, task.job_work_id)
    if work is None or work.status != "running":
        raise Conflict(gettext("The job's work for %(number)s is %(value)s.", number=opp.number,
                               value=work.status if work else 'gone'),
                       {"task": [gettext("The job's work is no longer running.")]})
    data = dict(data or {})
    if task.action == "schedule_appointment" and "appointment" in data:
        data["appointment_id"] = _book_work(actor, opp, task, work, data.pop("appointment"))
    run = _load(work)
    engine().complete_task(run, task.id, data)
    task.status, task.completed_by_id, task.completed_at, task.data = "done", actor.id, now(), data
    task.completion_key = idempotency_key
    record_event(opp, actor, "task_completed", task=task.title, task_id=task.id, job_id=work.job_id)
    db.session.flush()
    _project(work, opp, run, actor)
    return task


def cancel_job_work(opp: Opportunity, actor: User | None) -> None:
    """The deal was reopened: its sale is undecided again, so the job's running work stops and its open tasks are
    cancelled (the job itself stays: the office may still need it). Done work stays done."""
    for work in db.session.scalars(select(JobWork).where(JobWork.opportunity_id == opp.id,
                                                         JobWork.status == "running")):
        for task in tasks_of(work):
            if task.status == "open":
                task.status = "cancelled"
                record_event(opp, actor, "task_cancelled", task=task.title, task_id=task.id, job_id=work.job_id)
        work.status, work.finished_at = "cancelled", now()
        record_event(opp, actor, "job_work_cancelled", job_id=work.job_id, job=work.job.name)


# -- projection --------------------------------------------------------------------------------------
def _project(work: JobWork, opp: Opportunity, run: Run, actor: User | None) -> None:
    """READY user tasks → the office's Task rows; open rows no longer ready → cancelled; the state saved; the end
    of the run → the job's work is complete (an event on the deal)."""
    snap = engine().snapshot(run)
    current = {t.id: t for t in db.session.scalars(
        select(Task).where(Task.job_work_id == work.id, Task.status == "open"))}
    ready = {t.id: t for t in snap.ready_tasks if not t.gate}
    for task_id, ready_task in ready.items():
        if task_id in current or db.session.get(Task, task_id) is not None:
            continue
        assignee = opp.sales_rep if ready_task.role == "rep" and opp.sales_rep_id else None
        db.session.add(Task(
            id=task_id, opportunity_id=opp.id, job_work_id=work.id, spec_name=ready_task.spec_name,
            title=ready_task.title, instructions=ready_task.instructions, role=ready_task.role, stage=None,
            gate=False, required=True, action=ready_task.action, assignee_id=assignee.id if assignee else None,
            due_at=task_due(ready_task.due, opp, assignee), form=list(ready_task.form), data={},
        ))
    for task_id, row in current.items():
        if task_id not in ready:
            row.status = "cancelled"
            record_event(opp, actor, "task_cancelled", task=row.title, task_id=row.id, job_id=work.job_id)
    work.state = engine().dump(run)
    if snap.completed and work.status == "running":
        work.status, work.finished_at = "done", now()
        record_event(opp, actor, "job_work_completed", job_id=work.job_id, job=work.job.name)
    db.session.flush()


def _book_work(actor: User, opp: Opportunity, task: Task, work: JobWork, data: dict) -> int:
    """Book the job's work (an appointment on the job, not on the closed deal) from a task that asks for one."""
    data = {k: v for k, v in dict(data).items() if k != "opportunity_id"}
    data.update(customer_id=work.job_id, task_id=task.id)
    data.setdefault("title", f"{task.title}: {work.job.name}")
    for key in ("start", "end"):
        if key not in data:
            raise ValidationFailed(gettext("The appointment needs start and end"),
                                   {f"appointment.{key}": [gettext("Missing.")]})
        if isinstance(data[key], str):
            try:
                data[key] = datetime.fromisoformat(data[key])
            except ValueError:
                raise ValidationFailed(gettext("Bad appointment time"),
                                       {f"appointment.{key}": [gettext("Use ISO 8601.")]}) from None
        if not isinstance(data[key], datetime) or data[key].tzinfo is None:
            raise ValidationFailed(gettext("Give the time with an offset"),
                                   {f"appointment.{key}": [gettext("No offset.")]})
    appt = create_appointment(actor, data)
    record_event(opp, actor, "appointment_booked", appointment_id=appt.id, title=appt.title,
                 start=appt.start_at.isoformat(), job_id=work.job_id)
    return appt.id
