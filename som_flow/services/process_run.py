"""The process run of one opportunity: load it, let the engine act, project the result onto rows, save it.

Every process operation is load → act → step → project → save, in the caller's transaction and under the
opportunity's version column. The projection mirrors the workflow: the stage (with its stay and default
probability), the outcome, the ready tasks, the effects of service tasks, the stored state, the timers and the
people's reminders.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

import isodate
from flask import current_app
from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from som_flow.engine import Engine, ProcessDefinition, ReadyTask, Run, Snapshot
from som_flow.errors import Conflict, NotFound
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import KindVersion, Notification, Opportunity, StageStay, Task, User, WorkflowState
from som_flow.processes import OPERATIONS
from som_flow.services import catalogs
from som_flow.services.fields import qualification
from som_flow.services.guards import bump_version, lock_opportunity, save_deal
from som_flow.services.history import batched_events, record_event
from som_flow.services.reminder_schedule import OpenTask, local_hour_utc, sync_deal_schedule
from som_flow.services.tasks import cancel_person_tasks
from som_flow.services.unit_of_work import after_commit, expire_held, now, transaction

log = logging.getLogger(__name__)


def engine() -> Engine:
    """The app's engine: one per process, holding the parsed-spec cache."""
    eng = current_app.extensions.get("som_engine")
    if eng is None:
        eng = current_app.extensions["som_engine"] = Engine(
            operations=OPERATIONS, run_cache_size=current_app.config.get("RUN_CACHE_SIZE", 0))
    return eng


def definition_for(version: KindVersion) -> ProcessDefinition:
    """The parsed process of a kind version (parsed once per process). Raises InvalidProcess."""
    return engine().definition(version.id, version.bpmn_xml)


def load_run(opp: Opportunity) -> Run:
    """The deal's stored workflow, restored on its kind version's definition. Raises Conflict."""
    state = db.session.get(WorkflowState, opp.id)
    if state is None:
        raise Conflict(gettext("Opportunity %(number)s has no process state", number=opp.number))
    # The session's identity map holds rows weakly: without a reference the state row and the kind version
    # would be read again by the save and by `opp.kind_version` in the same transaction (two SELECTs a call).
    # The reference lives until the save; the session still refreshes the row after a commit (never stale).
    _held_states()[opp.id] = state
    version = opp.kind_version  # held by the deal: the projection's `opp.kind_version` reads no row again
    if version is None or version.id != state.kind_version_id:
        version = db.session.get(KindVersion, state.kind_version_id)
    return engine().restore(definition_for(version), state.state, key=(opp.id, version.id))


# built once: every move and completion sends it (building its joins and options cost more than its row)
_LOAD = (select(Opportunity, WorkflowState)
         .outerjoin(WorkflowState, WorkflowState.opportunity_id == Opportunity.id)
         .where(Opportunity.id == bindparam("opp_id"))
         .options(joinedload(Opportunity.kind_version), joinedload(Opportunity.kind),
                  lazyload(Opportunity.demand_lines)))
_LOAD_FRESH = _LOAD.execution_options(populate_existing=True)


def load_for_process(opp_id: int, *, lock: bool = False) -> Opportunity:
    """The deal with its kind, its kind version and its stored workflow, in one SELECT (four before), for a call
    that will load its run; its demand lines are left unread (a move or a completion does not use them; they load
    on first use). `lock`: the deal's row locked until the transaction ends, as `guards.lock_opportunity` locks it,
    and everything read fresh. Raises NotFound."""
    if lock and db.session.get_bind().dialect.name != "sqlite":
        # PostgreSQL: a row locked after a wait is re-read at its newest version, but rows joined to it keep the
        # statement's older snapshot: the state would predate the step of the writer waited for. So the deal's
        # row is locked first, alone; the read below, a new statement, sees what the writer before committed.
        # (SQLite has no row locks: its writers queue on BEGIN IMMEDIATE.)
        if db.session.scalar(select(Opportunity.id).where(Opportunity.id == opp_id)
                             .with_for_update(key_share=True)) is None:
            raise NotFound(gettext("No opportunity %(opp_id)s", opp_id=opp_id))
    row = db.session.execute(_LOAD_FRESH if lock else _LOAD, {"opp_id": opp_id}).one_or_none()
    if row is None:
        raise NotFound(gettext("No opportunity %(opp_id)s", opp_id=opp_id))
    opp, state = row
    if state is not None:
        _held_states()[opp.id] = state  # load_run finds it in the session (see there)
    return opp


def _held_states() -> dict[int, WorkflowState]:
    return db.session.info.setdefault("som_loaded_states", {})


def process_data(opp: Opportunity, definition: ProcessDefinition | None = None) -> dict:
    """The opportunity fields conditions may read (plain JSON values). Given the `definition` the data is for,
    `qualified` is left out when none of its expressions reads it (it costs a read of the kind's questions): the
    run keeps the value it had, which nothing of that process reads."""
    data = {
        "amount": float(opp.amount or 0),
        "currency": opp.currency,
        "priority": opp.priority,
        "product": opp.product,
        "probability": opp.probability,
    }
    if definition is None or definition.reads("qualified"):
        data["qualified"] = qualification(opp)[0]
    data["custom"] = dict(opp.custom or {})
    return data


def stage_probability(version: KindVersion, stage_key: str | None) -> int | None:
    """The win probability a deal in `stage_key` has by default: the kind's for the stage, else the catalog's."""
    for stage in version.stages:
        if stage["key"] == stage_key and stage.get("probability") is not None:
            return int(stage["probability"])
    row = catalogs.stage_by_key(stage_key) if stage_key else None
    return row.default_probability if row else None


def _task_due(raw: str | None, opp: Opportunity, assignee: User | None) -> datetime | None:
    if not raw:
        return None
    if raw.startswith("P"):
        try:
            return now() + isodate.parse_duration(raw)
        except (isodate.ISO8601Error, ValueError, OverflowError):  # upload bounds it; versions stored before not
            log.warning("bad som.due %r on %s", raw, opp.number)
            return None
    value = getattr(opp, raw, None)
    if isinstance(value, date):
        return local_hour_utc(value, assignee.timezone if assignee else "UTC")
    return None


def task_due(raw: str | None, opp: Opportunity, assignee: User | None) -> datetime | None:
    """When a task with `som.due` = `raw` (a duration from now, or a date field of the deal) is due."""
    return _task_due(raw, opp, assignee)


# the stays' statements, built once (a move runs them every time; building and keying them cost more than sending)
_STAY = StageStay.__table__
_STAYS_NEEDED = (
    select(_STAY.c.id, _STAY.c.stage, _STAY.c.entered_at, _STAY.c.left_at, _STAY.c.advanced)
    .where(_STAY.c.opportunity_id == bindparam("opp"),
           or_(_STAY.c.left_at.is_(None), _STAY.c.stage == bindparam("stage"),
               _STAY.c.stage.in_(select(_STAY.c.stage).where(_STAY.c.opportunity_id == bindparam("opp"),
                                                             _STAY.c.left_at.is_(None)))))
    .order_by(_STAY.c.entered_at, _STAY.c.id))
_LEAVE_STAY = (update(_STAY).where(_STAY.c.id == bindparam("stay_id"))
               .values(left_at=bindparam("at"), days=bindparam("in_days"), outcome=bindparam("how"),
                       advanced=bindparam("forward")))
_FIRST_ADVANCED = update(_STAY).where(_STAY.c.id == bindparam("stay_id")).values(advanced=True)
_OPEN_STAY = insert(_STAY)


def _track_stay(opp: Opportunity, version: KindVersion, at: datetime) -> None:
    """Keep StageStay in step with the deal: close the open stay when the stage changes or the deal closes
    (saying how it left and for how long), open one for the stage it is in now. The first visit to a stage carries
    whether the deal ever left that stage forward.

    Plain Core statements on the rows this needs (the open stay, and the visits to its stage and to the new one),
    not every stay of the deal as session objects: a deal with a long history would load them all on each move."""
    stays = db.session.execute(_STAYS_NEEDED, {"opp": opp.id, "stage": opp.stage}).all()
    stay = next((s for s in stays if s.left_at is None), None)
    if stay is not None and (opp.closed or stay.stage != opp.stage):
        position = {s["key"]: i for i, s in enumerate(version.stages)}
        if opp.closed:
            outcome = opp.status
        else:
            outcome = "advanced" if position.get(opp.stage, -1) > position.get(stay.stage, -1) else "back"
        first = next(s for s in stays if s.stage == stay.stage) if outcome in ("advanced", "won") else None
        if first is not None and first.id != stay.id and not first.advanced:
            db.session.execute(_FIRST_ADVANCED, {"stay_id": first.id})
        db.session.execute(_LEAVE_STAY, {
            "stay_id": stay.id, "at": at, "in_days": (at - stay.entered_at).total_seconds() / 86400, "how": outcome,
            "forward": True if first is not None and first.id == stay.id else stay.advanced})
        expire_held(StageStay)
        stay = None
    if stay is None and not opp.closed and opp.stage:
        first_visit = not any(s.stage == opp.stage for s in stays)
        db.session.execute(_OPEN_STAY, {"opportunity_id": opp.id, "stage": opp.stage, "entered_at": at,
                                        "first_visit": first_visit, "advanced": False})


def project(opp: Opportunity, run: Run, version: KindVersion, actor: User | None) -> Snapshot:
    """Mirror the run onto rows after the engine acted, in this order: the stage (with its stay and default
    probability) and the outcome, the effects of service tasks, the ready tasks, the stored state, then the
    timers and the people's reminders (which read the rows written before them). Returns the snapshot.

    A deal with a rep first has its tasks marked done by an assignment completed (`som.done_by=assignment`):
    whichever path gave it the rep (create, assign, claim, bulk, a PATCH) or brought such a task back (a
    backward move, a reopen), the office's "assign a rep" never waits on a deal that has one."""
    with batched_events():  # the projection's events: one INSERT after its flush
        return _project(opp, run, version, actor)


def _project(opp: Opportunity, run: Run, version: KindVersion, actor: User | None) -> Snapshot:
    if opp.sales_rep_id is not None and not opp.closed:
        _complete_done_by_assignment(opp, run, actor)
    snap = engine().snapshot(run)
    at = now()
    before = (opp.stage, opp.closed)
    # The stays and tasks read here depend on nothing written above them (each is made only here, and the save
    # flushes what a projection made), so the deal, its events, stay, tasks and state go out in one flush, the
    # save's, instead of one before each read; the version moves in that same UPDATE of the deal.
    with db.session.no_autoflush:
        _project_stage(opp, snap, version, actor, at)
        _project_outcome(opp, snap, at)
        if (opp.stage, opp.closed) != before:  # a task completed in place leaves the stay as it is: no query
            _track_stay(opp, version, at)
        _apply_effects(opp, engine().take_effects(run), actor)
        open_tasks = _project_tasks(opp, snap, actor)
    bump_version(opp)
    _save_state(opp, run, snap, version)
    sync_deal_schedule(opp, snap.timers, open_tasks)
    return snap


def _project_stage(opp: Opportunity, snap: Snapshot, version: KindVersion, actor: User | None, at: datetime) -> None:
    """A new stage is logged and brings its default probability, unless a person set the probability by hand."""
    if snap.stage == opp.stage or snap.outcome:
        return
    record_event(opp, actor, "stage_changed", **{"from": opp.stage, "to": snap.stage})
    opp.stage = snap.stage
    opp.stage_entered_at = at
    probability = stage_probability(version, snap.stage)
    if probability is not None and opp.probability_source != "manual":
        if probability != opp.probability:
            record_event(opp, actor, "field_changed", field="probability", old=opp.probability, new=probability)
        opp.probability = probability
        opp.probability_source = "stage_default"


def _project_outcome(opp: Opportunity, snap: Snapshot, at: datetime) -> None:
    """The process ended won or lost: the deal is closed at 100 % or 0 %."""
    if snap.outcome and opp.status not in ("won", "lost"):
        opp.status = snap.outcome
        opp.closed = True
        opp.probability = 100 if snap.outcome == "won" else 0
        opp.probability_source = "outcome"
        opp.resolved_date = opp.resolved_date or at.date()


def _complete_done_by_assignment(opp: Opportunity, run: Run, actor: User | None) -> None:
    """The deal has a rep: the process completes its ready tasks marked done by an assignment (and those that
    become ready after them); each is a done row, completed by whoever gave the rep, with its event."""
    for ready_task in engine().complete_done_by(run):
        row = db.session.get(Task, ready_task.id) or _task_row(opp, ready_task)
        row.status, row.completed_by_id, row.completed_at = "done", actor.id if actor else None, now()
        row.data = {"done_by": "assignment", "sales_rep": opp.sales_rep_id}
        record_event(opp, actor, "task_completed", task=row.title, task_id=row.id, done_by="assignment")


def _task_values(opp: Opportunity, ready_task: ReadyTask) -> dict:
    """The columns of a new open Task row mirroring a ready user task (rep lane: assigned to the deal's rep)."""
    assignee_id = opp.sales_rep_id if ready_task.role == "rep" else None
    assignee = db.session.get(User, assignee_id) if assignee_id else None
    return dict(
        id=ready_task.id, opportunity_id=opp.id, spec_name=ready_task.spec_name, title=ready_task.title,
        instructions=ready_task.instructions, role=ready_task.role, stage=ready_task.stage,
        gate=False, required=ready_task.required, action=ready_task.action, assignee_id=assignee_id,
        due_at=_task_due(ready_task.due, opp, assignee), form=list(ready_task.form),
        form_types=[f.as_dict() for f in ready_task.form_fields], done_by=ready_task.done_by, data={},
        status="open",
    )


def _task_row(opp: Opportunity, ready_task: ReadyTask) -> Task:
    """A new open Task row mirroring a ready user task, in the session."""
    row = Task(**_task_values(opp, ready_task))
    db.session.add(row)
    return row


# the projection's task statements, built once: the deal's open tasks and whichever ready tasks already have a row
# (any deal, any status: a task done or cancelled before is not made again); a task no longer ready is cancelled
_TASK = Task.__table__
_TASKS_NEEDED = select(_TASK.c.id, _TASK.c.opportunity_id, _TASK.c.status, _TASK.c.source, _TASK.c.job_work_id,
                       _TASK.c.title, _TASK.c.due_at, _TASK.c.assignee_id).where(or_(
    (_TASK.c.opportunity_id == bindparam("opp")) & (_TASK.c.status == "open"),
    _TASK.c.id.in_(bindparam("ready", expanding=True))))
_NEW_TASKS = insert(_TASK)
_CANCEL_TASK = (update(_TASK).where(_TASK.c.id == bindparam("task_id"), _TASK.c.status == "open")
                .values(status="cancelled", updated_at=bindparam("at")))


def _project_tasks(opp: Opportunity, snap: Snapshot, actor: User | None) -> list[OpenTask]:
    """READY user tasks (not gates) become Task rows (rep lane: the deal's rep); open rows no longer ready are
    cancelled. Tasks people added are not the process's: they stay, until the deal closes; the job's own work has
    its own run (services/job_work.py). Returns the deal's open tasks after it (any source), for the reminders."""
    if opp.closed:
        cancel_person_tasks(opp, actor)
    ready = {t.id: t for t in snap.ready_tasks if not t.gate}
    # one read of plain rows; tasks the session changed and has not sent (a task done by an assignment, a person's
    # task cancelled above) are taken as the session has them, not as the database still does
    rows = {r.id: r for r in db.session.execute(_TASKS_NEEDED, {"opp": opp.id, "ready": list(ready)})}
    held = [t for t in (*db.session.new, *db.session.dirty) if isinstance(t, Task)]
    rows.update((t.id, t) for t in held)
    at = now()
    cancelled = [row for task_id, row in rows.items()
                 if row.opportunity_id == opp.id and row.status == "open" and row.source == "process"
                 and row.job_work_id is None and task_id not in ready]
    for row in cancelled:
        if isinstance(row, Task):
            row.status = "cancelled"
        record_event(opp, actor, "task_cancelled", task=row.title)
    sent = [row.id for row in cancelled if not isinstance(row, Task)]
    if sent:
        db.session.execute(_CANCEL_TASK, [{"task_id": task_id, "at": at} for task_id in sent])
        expire_held(Task, sent)
    # new rows in one INSERT (no session object: nothing in this transaction holds them, and no ORM flush per row)
    made = [{**_task_values(opp, ready_task), "source": "process", "created_at": at, "updated_at": at}
            for task_id, ready_task in ready.items() if task_id not in rows]
    if made:
        db.session.execute(_NEW_TASKS, made)
    gone = {row.id for row in cancelled}
    return ([OpenTask(t.id, t.due_at, t.assignee_id, t.title) for t in rows.values()
             if t.opportunity_id == opp.id and t.status == "open" and t.id not in gone]
            + [OpenTask(v["id"], v["due_at"], v["assignee_id"], v["title"]) for v in made])


_STATE = WorkflowState.__table__
_SAVE_STATE = (update(_STATE).where(_STATE.c.opportunity_id == bindparam("opp"))
               .values(kind_version_id=bindparam("version"), serializer_version="3.2", state=bindparam("saved"),
                       next_timer_at=bindparam("next_at")))


def _save_state(opp: Opportunity, run: Run, snap: Snapshot, version: KindVersion) -> None:
    """The run's serialized state and its next timer, one row per deal."""
    state = db.session.get(WorkflowState, opp.id)  # the row load_run read, from the session: no SELECT
    _held_states().pop(opp.id, None)
    saved = engine().dump(run)
    next_at = min((t.due_at for t in snap.timers), default=None)
    if state is None:
        db.session.add(WorkflowState(opportunity_id=opp.id, kind_version_id=version.id, serializer_version="3.2",
                                     state=saved, next_timer_at=next_at))
        db.session.flush()
    else:
        # the deal's row first (its version checked), then the state by a plain UPDATE (the unit of work's
        # per-object cost, saved): in that order, as every writer takes the two rows, so no two writers deadlock
        save_deal(opp)
        db.session.flush()  # whatever else the projection changed through the session (a task done, a notification)
        db.session.execute(_SAVE_STATE, {"opp": opp.id, "version": version.id, "saved": saved, "next_at": next_at})
        for name, value in (("kind_version_id", version.id), ("serializer_version", "3.2"), ("state", saved),
                            ("next_timer_at", next_at)):
            set_committed_value(state, name, value)  # the session's copy says what the row now holds
    # the next call on this deal starts from this run instead of restoring it, once (and if) this is committed
    # (the key is taken now: after the commit the rows' attributes are expired and reading them would query)
    key = (opp.id, version.id)
    after_commit(lambda: engine().keep(key, saved, run))


def _apply_effects(opp: Opportunity, effects: tuple[dict, ...], actor: User | None) -> None:
    """Perform what the process's service tasks asked for (processes/operations.py), each once."""
    for effect in effects:
        if effect["effect"] == "set_probability":
            if effect["percent"] != opp.probability:
                record_event(opp, actor, "field_changed", field="probability", old=opp.probability,
                             new=effect["percent"], by=effect["element"])
            opp.probability, opp.probability_source = effect["percent"], "process"
        elif effect["effect"] == "notify":
            for person in _notify_targets(opp, effect["to"]):
                db.session.add(Notification(user_id=person.id, opportunity_id=opp.id, created_at=now(),
                                            title=f"{opp.number} {opp.title}"[:200], body=effect["message"]))
            record_event(opp, actor, "process_notified", to=effect["to"], message=effect["message"],
                         by=effect["element"])


def _notify_targets(opp: Opportunity, to: str) -> list[User]:
    """The deal's rep, or every active user with the role `to`."""
    if to == "rep":
        return [opp.sales_rep] if opp.sales_rep_id else []
    candidates = db.session.scalars(select(User).where(User.active.is_(True), User.roles_csv.contains(to)))
    return [user for user in candidates if user.has_role(to)]


def restart_process(opp: Opportunity, version: KindVersion, *, start_stage: str | None, actor: User | None,
                    reason: str) -> None:
    """Start a fresh run (reopen, kind migration); the old run's history stays in Events."""
    defn = definition_for(version)
    run = engine().start(defn, process_data(opp), start_stage=start_stage)
    if opp.kind_version_id != version.id:
        record_event(opp, actor, reason, old_version=opp.kind_version.number, new_version=version.number)
        opp.kind_version_id = version.id
        opp.kind_version = version
    project(opp, run, version, actor)


def finish_assignment_tasks(opp: Opportunity, actor: User | None) -> None:
    """The deal just got a rep: if it has an open task done by an assignment, let the process complete it and
    project (the rep's next tasks appear in the rep's list at once). No open such task: nothing is loaded."""
    if opp.sales_rep_id is None or opp.closed:
        return
    marked = definition_for(opp.kind_version).done_by_assignment
    if not marked or db.session.scalar(select(Task.id).where(
            Task.opportunity_id == opp.id, Task.status == "open", Task.spec_name.in_(marked)).limit(1)) is None:
        return
    project(opp, load_run(opp), opp.kind_version, actor)
    bump_version(opp)


def wake_due_timers(opp_id: int) -> None:
    """Wake one workflow whose timer is due (called by the scheduler); the deal is locked as a completion does."""
    with transaction():
        opp = lock_opportunity(opp_id)
        if opp.closed:
            return
        run = load_run(opp)
        engine().wake_timers(run)
        project(opp, run, opp.kind_version, None)
        bump_version(opp)

