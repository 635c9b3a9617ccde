"""The runtime: start, restore, step, snapshot, move, win/lose and wake one opportunity's workflow.

`Engine` is shared by the whole process (its definition cache, serializer and script engine are
thread-safe); a `Run` is one loaded workflow and belongs to one request. Every operation is
load → act → step → snapshot → dump, and the caller saves the dump in its own transaction.
A move is tried on a copy of the run by default, so a refused move leaves the caller's run untouched; a caller
that throws its run away on a refusal (a service whose transaction rolls back) may move it in place.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask as ServiceTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from som_flow.engine import profile as p
from som_flow.engine import timers
from som_flow.engine.definition import ProcessDefinition, parse_definition
from som_flow.engine.follow_on import parse_follow_on
from som_flow.engine.forms import FormField, check_answers, parse_form
from som_flow.engine.scripting import FIELDS_KEY, Operation, SafeScriptEngine, TimerRefused
from som_flow.engine.serialization import StateSerializer
from som_flow.errors import Conflict, NotFound, ValidationFailed

log = logging.getLogger(__name__)

_OPEN = TaskState.READY | TaskState.WAITING | TaskState.FUTURE | TaskState.LIKELY | TaskState.MAYBE
_ENGINE_KEYS = (p.TARGET_STAGE, p.START_STAGE)
# workflow data: ids of the completed service tasks whose effects the services have taken (each is taken once)
EFFECTS_TAKEN = "som_effects_taken"


class IllegalMove(Conflict):
    """The process does not allow this stage move; `.allowed` lists the stage keys it does allow."""

    def __init__(self, detail: str, allowed: list[str]):
        super().__init__(detail, errors={"stage": [detail]})
        self.allowed = allowed


class ProcessError(Conflict):
    """The workflow could not continue (e.g. a condition failed at run time)."""


@dataclass(frozen=True)
class ReadyTask:
    id: str
    spec_name: str
    title: str
    role: str
    stage: str | None
    gate: bool
    required: bool
    due: str | None
    instructions: str
    form: tuple[str, ...]  # the field names, as before forms had types
    action: str | None
    form_fields: tuple[FormField, ...] = ()
    done_by: str | None = None  # "assignment": the deal getting a rep completes it


@dataclass(frozen=True)
class WaitingTimer:
    id: str
    spec_name: str
    due_at: datetime
    stage: str | None


@dataclass(frozen=True)
class Snapshot:
    stage: str | None
    outcome: str | None
    completed: bool
    ready_tasks: tuple[ReadyTask, ...]
    timers: tuple[WaitingTimer, ...]
    allowed_stages: tuple[str, ...]
    data: dict


@dataclass
class Run:
    """One loaded workflow of one opportunity; not shared between threads."""

    workflow: BpmnWorkflow
    definition: ProcessDefinition


class RunCache:
    """Runs kept in memory between requests, so the next call on the same deal skips restoring its state (the
    largest share of a move after the move itself). Each run is kept beside the exact text it was saved as, and
    given out only against that text, read from the database by the caller: a run is never used after any writer,
    in any process, saved another state. A run is taken out while in use (runs are not thread-safe) and put back
    only after its transaction committed; the oldest are dropped beyond `size` (0: nothing is kept)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._runs: OrderedDict[Any, tuple[str, Run]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: Any, state: str, definition: ProcessDefinition) -> Run | None:
        with self._lock:
            kept = self._runs.pop(key, None)
        if kept is None or kept[1].definition is not definition or kept[0] != state:
            return None
        return kept[1]

    def keep(self, key: Any, state: str, run: Run) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._runs[key] = (state, run)
            self._runs.move_to_end(key)
            while len(self._runs) > self.size:
                self._runs.popitem(last=False)

    def __len__(self) -> int:
        return len(self._runs)

    def __contains__(self, key: Any) -> bool:
        return key in self._runs


def _props(task_spec: Any) -> dict[str, str]:
    return (getattr(task_spec, "extensions", None) or {}).get("properties") or {}


def _clean(data: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (data or {}).items() if k not in _ENGINE_KEYS}


class Engine:
    """SpiffWorkflow behind the som_flow profile. Thread-safe; runs are not."""

    def __init__(self, operations: Mapping[str, Operation] | None = None, run_cache_size: int = 0):
        self.operations: dict[str, Operation] = dict(operations or {})
        self.runs = RunCache(run_cache_size)
        self._script_engine = SafeScriptEngine(self.operations)
        self._serializer = StateSerializer()
        self._definitions: dict[int, tuple[str | bytes, ProcessDefinition]] = {}
        self._follow_ons: dict[int, tuple[str | bytes, ProcessDefinition]] = {}  # by follow-on version id
        self._timers_of: dict[int, tuple[ProcessDefinition, tuple[timers.DataTimer, ...]]] = {}  # by id(definition)
        self._lock = threading.Lock()

    # -- definitions ---------------------------------------------------------------------------

    def definition(self, version_id: int, bpmn_xml: str) -> ProcessDefinition:
        """The parsed, validated process of a kind version, parsed once. Raises InvalidProcess.

        Cached by version id beside the text it was parsed from: a version's BPMN never changes, so the text
        check (a length compare, then memcmp: microseconds) only guards a reused id, without hashing the
        document on every call as a digest key would."""
        with self._lock:
            cached = self._definitions.get(version_id)
        if cached is not None and cached[0] == bpmn_xml:
            return cached[1]
        parsed = parse_definition(version_id, bpmn_xml, self.operations)
        with self._lock:
            cached = self._definitions.get(version_id)
            if cached is not None and cached[0] == bpmn_xml:
                return cached[1]  # another thread won the race: everyone shares its object
            self._definitions[version_id] = (bpmn_xml, parsed)
        return parsed

    def follow_on_definition(self, version_id: int, bpmn_xml: str) -> ProcessDefinition:
        """The parsed, validated follow-on process (a job's own work, `follow_on`), parsed once per version like
        `definition`. Raises InvalidProcess."""
        with self._lock:
            cached = self._follow_ons.get(version_id)
        if cached is not None and cached[0] == bpmn_xml:
            return cached[1]
        parsed = parse_follow_on(version_id, bpmn_xml, self.operations)
        with self._lock:
            self._follow_ons[version_id] = (bpmn_xml, parsed)
        return parsed

    def _data_timers(self, definition: ProcessDefinition) -> tuple[timers.DataTimer, ...]:
        """The definition's timers that read deal data, found once per definition (a walk of every task spec)."""
        with self._lock:
            cached = self._timers_of.get(id(definition))
        if cached is not None and cached[0] is definition:
            return cached[1]
        found = timers.data_timers((definition.spec, *definition.subprocess_specs.values()))
        with self._lock:
            if len(self._timers_of) > 1000:  # definitions built outside the cache (tests, checks) come and go
                self._timers_of.clear()
            self._timers_of[id(definition)] = (definition, found)
        return found

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, definition: ProcessDefinition, data: dict, start_stage: str | None = None) -> Run:
        """Start the process, in `start_stage` (default: the first stage). Raises NotFound, ProcessError."""
        if start_stage is not None and definition.stage(start_stage) is None:
            raise NotFound(f"Unknown stage '{start_stage}'")
        stage = start_stage or (definition.stages[0].key if definition.stages else None)
        self._check_timer_data(definition, {}, _clean(data))
        workflow = BpmnWorkflow(
            definition.spec, definition.subprocess_specs, script_engine=self._script_engine
        )
        workflow.data[FIELDS_KEY] = _clean(data)
        start = next(t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.name == "Start")
        # Both routing variables always exist: a missing one raises instead of taking the default flow.
        start.data[p.START_STAGE] = stage
        start.data[p.TARGET_STAGE] = stage
        run = Run(workflow, definition)
        self._step(run)
        return run

    def restore(self, definition: ProcessDefinition, state: str, key: Any = None) -> Run:
        """The run saved as `state`; with a `key`, the one kept under it for exactly this state, if any."""
        if key is not None:
            kept = self.runs.take(key, state, definition)
            if kept is not None:
                return kept
        workflow = self._serializer.restore(state, definition.spec, definition.subprocess_specs)
        workflow.script_engine = self._script_engine  # not saved with the state (§8)
        return Run(workflow, definition)

    def keep(self, key: Any, state: str, run: Run) -> None:
        """Keep `run`, saved as `state` (and committed), for the next `restore` under `key`."""
        self.runs.keep(key, state, run)

    def dump(self, run: Run) -> str:
        return self._serializer.dump(run.workflow)

    def copy(self, run: Run) -> Run:
        return self.restore(run.definition, self.dump(run))

    def _step(self, run: Run, spiff_task: Any = None) -> None:
        """Run `spiff_task` (if given), then every engine step. Raises ProcessError naming the element."""
        try:
            if spiff_task is not None:
                spiff_task.run()
            run.workflow.do_engine_steps()
        except TimerRefused as exc:  # the data gave a timer a value it cannot start with: the caller's input
            raise ValidationFailed(str(exc), errors=exc.errors) from None
        except SpiffWorkflowException as exc:
            spec = getattr(exc, "task_spec", None)
            element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None) or "process"
            raise ProcessError(
                f"The process could not continue at {element}: {exc}", errors={element: [str(exc)]}
            ) from None
        finally:
            # Terminate ends leave events behind; they would otherwise be saved with the state.
            run.workflow.get_events()

    # -- reading ---------------------------------------------------------------------------------

    def _stage_of(self, spiff_task: Any) -> str | None:
        workflow = spiff_task.workflow
        while workflow is not None and workflow is not workflow.top_workflow:
            parent = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
            key = _props(parent.task_spec).get(p.STAGE)
            if key:
                return key
            workflow = parent.workflow
        return None

    @staticmethod
    def _all_tasks(workflow: Any) -> Iterator[Any]:
        """Every task of the run, its subprocesses' too, in no particular order: a plain walk of the task maps,
        several times cheaper than the library's tree iterator, for the reads where order does not matter."""
        yield from workflow.tasks.values()
        for subprocess in workflow.subprocesses.values():
            yield from subprocess.tasks.values()

    def current_stage(self, run: Run) -> str | None:
        # one stage subprocess runs at a time (a back move starts a new run), so any order finds the same one
        for task in self._all_tasks(run.workflow):
            if task.state == TaskState.STARTED:
                key = _props(task.task_spec).get(p.STAGE)
                if key:
                    return key
        return None

    def outcome(self, run: Run) -> tuple[str | None, dict]:
        # the won and lost ends are on the top level, and a run reaches one of them only
        for task in run.workflow.tasks.values():
            if task.state == TaskState.COMPLETED:
                outcome = _props(task.task_spec).get(p.OUTCOME)
                if outcome:
                    return outcome, task.data
        return None, {}

    def _user_tasks(self, run: Run, state: int = TaskState.READY) -> Iterator[Any]:
        yield from run.workflow.get_tasks(state=state, spec_class=UserTaskMixin)

    def _ready(self, run: Run, spiff_task: Any) -> ReadyTask:
        spec = spiff_task.task_spec
        props = _props(spec)
        form = parse_form(props.get(p.FORM))  # checked at upload: a stored definition always reads
        return ReadyTask(
            id=str(spiff_task.id),
            spec_name=spec.bpmn_id or spec.name,
            title=spec.bpmn_name or spec.bpmn_id or spec.name,
            role=(props.get(p.ROLE) or p.DEFAULT_ROLE).strip().lower(),
            stage=self._stage_of(spiff_task),
            gate=p.truthy(props.get(p.GATE)),
            required=run.definition.is_required(spec.bpmn_id),
            due=props.get(p.DUE) or None,
            instructions=props.get(p.INSTRUCTIONS) or (spec.documentation or ""),
            form=tuple(f.name for f in form),
            action=props.get(p.ACTION) or None,
            form_fields=form,
            done_by=props.get(p.DONE_BY) or None,
        )

    def _timers(self, run: Run) -> tuple[WaitingTimer, ...]:
        timers = []
        for task in self._all_tasks(run.workflow):  # sorted by due time below
            if task.state != TaskState.WAITING:
                continue
            event_def = getattr(task.task_spec, "event_definition", None)
            if not isinstance(event_def, TimerEventDefinition):
                continue
            value = task._get_internal_data("event_value")
            if value is None:
                continue
            try:
                if isinstance(event_def, CycleTimerEventDefinition):
                    due = datetime.fromisoformat(value["next"])
                else:
                    due = TimerEventDefinition.get_datetime(value)
            except Exception:  # a malformed value is the library's problem; don't break the snapshot
                log.warning("unreadable timer value %r on %s", value, task.task_spec.name)
                continue
            if due.tzinfo is None:
                due = due.astimezone()
            spec_name = task.task_spec.bpmn_id or task.task_spec.name
            timers.append(
                WaitingTimer(
                    id=str(task.id),
                    spec_name=spec_name,
                    due_at=due.astimezone(UTC),
                    stage=run.definition.timer_stages.get(spec_name) or self._stage_of(task),
                )
            )
        return tuple(sorted(timers, key=lambda t: t.due_at))

    def snapshot(self, run: Run) -> Snapshot:
        definition = run.definition
        completed = run.workflow.is_completed()
        outcome, outcome_data = self.outcome(run)
        stage = None if completed else self.current_stage(run)
        ready = tuple(
            self._ready(run, t)
            for t in self._user_tasks(run)
            if not p.truthy(_props(t.task_spec).get(p.WAIT))
        )
        data = {k: v for k, v in run.workflow.data.items() if k not in ("data_objects", EFFECTS_TAKEN)}
        for key in (p.LOSE_VARIABLE, p.WIN_VARIABLE):
            if key in outcome_data:
                data[key] = outcome_data[key]
        return Snapshot(
            stage=stage,
            outcome=outcome,
            completed=completed,
            ready_tasks=ready,
            timers=() if completed else self._timers(run),
            allowed_stages=self.allowed_stages(definition, stage) if not completed else (),
            data=data,
        )

    @staticmethod
    def allowed_stages(definition: ProcessDefinition, stage: str | None) -> tuple[str, ...]:
        """Stages a move may target from `stage`: forward along the flow, backward if the kind allows."""
        if stage is None or definition.stageless:
            return ()
        allowed = list(definition.next_stages.get(stage, ()))
        if definition.allow_back:
            allowed = [s.key for s in definition.stages[: definition.stage_index(stage)]] + allowed
        return tuple(allowed)

    def take_effects(self, run: Run) -> tuple[dict, ...]:
        """The effects (`{"effect": ..., ...}`, processes/operations.py) of service tasks completed since the
        last call, in completion order; the run remembers them, so each is handed out once."""
        if not run.definition.has_service_tasks:  # the common case: no walk of the task tree on every step
            return ()
        taken = list(run.workflow.data.get(EFFECTS_TAKEN) or [])
        seen = set(taken)
        effects = []
        done = run.workflow.get_tasks(state=TaskState.COMPLETED)
        for spiff_task in sorted(done, key=lambda t: t.last_state_change):
            spec = spiff_task.task_spec
            if not isinstance(spec, ServiceTaskMixin) or str(spiff_task.id) in seen:
                continue
            taken.append(str(spiff_task.id))
            result = spiff_task.data.get(getattr(spec, "result_variable", ""))
            if isinstance(result, dict) and result.get("effect"):
                effects.append(dict(result, element=spec.bpmn_id))
        if len(taken) > len(seen):
            run.workflow.data[EFFECTS_TAKEN] = taken
        return tuple(effects)

    # -- acting ----------------------------------------------------------------------------------

    def set_data(self, run: Run, data: dict) -> None:
        """Opportunity fields (amount, stage, custom fields…) that conditions can read."""
        old = run.workflow.data.get(FIELDS_KEY) or {}
        fields = dict(old)
        fields.update(_clean(data))
        self._check_timer_data(run.definition, old, fields)
        run.workflow.data[FIELDS_KEY] = fields

    def _check_timer_data(self, definition: ProcessDefinition, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """Refuse data that gives one of the process's timers a value it could not start with (beyond ten years,
        an endless or too frequent cycle, not ISO 8601), naming the changed fields: the timer may start much
        later, in someone else's action, and should not fail there. Raises ValidationFailed."""
        found = self._data_timers(definition)
        errors = timers.refused_changes(found, old, new) if found else {}
        if errors:
            raise ValidationFailed(" ".join(dict.fromkeys(m for msgs in errors.values() for m in msgs)), errors=errors)

    def complete_task(self, run: Run, task_id: str, data: dict | None = None) -> dict:
        """Complete a non-gate user task with its form's answers; returns the data it was completed with (the
        answers coerced to their types: bool, int/float, date). Raises NotFound, Conflict (gate/closed),
        ValidationFailed (form: errors keyed by field name, each a sentence to show beside the field)."""
        spiff_task = self._find_ready(run, task_id)
        props = _props(spiff_task.task_spec)
        if p.truthy(props.get(p.GATE)):
            raise Conflict("This task is a stage gate: move the opportunity to the next stage instead")
        if p.truthy(props.get(p.WAIT)):
            raise Conflict("Record the outcome by winning or losing the opportunity")
        data, errors = check_answers(parse_form(props.get(p.FORM)), _clean(data))
        if errors:
            title = spiff_task.task_spec.bpmn_name or spiff_task.task_spec.bpmn_id
            words = "; ".join(f"{name.replace('_', ' ')}: {' '.join(msgs)}" for name, msgs in errors.items())
            raise ValidationFailed(f"Check the answers to '{title}': {words}", errors=errors)
        spiff_task.data.update(data)
        self._step(run, spiff_task)
        return data

    def complete_done_by(self, run: Run, trigger: str = p.DONE_BY_ASSIGNMENT) -> tuple[ReadyTask, ...]:
        """Complete every ready user task marked `som.done_by=<trigger>`, and those that become ready after
        them, stepping the process on; returns the tasks completed, in order (none: nothing changed)."""
        done: list[ReadyTask] = []
        if run.workflow.is_completed() or (trigger == p.DONE_BY_ASSIGNMENT and not run.definition.done_by_assignment):
            return ()
        for _ in range(50):  # each pass completes at least one task; a process has far fewer in a row
            marked = [t for t in self._user_tasks(run) if _props(t.task_spec).get(p.DONE_BY) == trigger]
            if not marked:
                break
            for spiff_task in marked:
                if spiff_task.state == TaskState.READY:
                    done.append(self._ready(run, spiff_task))
                    self._step(run, spiff_task)
        return tuple(done)

    def _find_ready(self, run: Run, task_id: str) -> Any:
        try:
            uid = UUID(str(task_id))
        except ValueError:
            raise NotFound(f"No open task {task_id}") from None
        for spiff_task in self._user_tasks(run):
            if spiff_task.id == uid:
                return spiff_task
        raise NotFound(f"No open task {task_id}")

    def _ensure_running(self, run: Run) -> None:
        if run.workflow.is_completed():
            outcome, _ = self.outcome(run)
            raise Conflict(f"The opportunity is closed ({outcome or 'completed'})")

    def move_to_stage(self, run: Run, target: str, data: dict | None = None, *, keep_original: bool = True) -> Run:
        """Move to `target`; returns the run to save (a new one for backward moves).

        Raises Conflict (closed, stageless, already there), IllegalMove (not allowed; names the
        allowed stages), ValidationFailed (required tasks open). Required fields (`som.required`) are
        data, not flow: the services check them against the opportunity, where every field is known.
        With keep_original=False the forward move acts on `run` itself (no trial copy: ~2 ms of a
        move); only for a caller that throws `run` away when this raises, as a rolled-back service does.
        """
        definition = run.definition
        self._ensure_running(run)
        if definition.stageless:
            raise Conflict("This kind has no stages")
        current = self.current_stage(run)
        if current is None:
            raise Conflict("The opportunity is not in a stage")
        current_name = definition.stage_name(current)
        allowed = list(self.allowed_stages(definition, current))
        if target == current:
            raise Conflict(f"The opportunity is already in {current_name}")
        if definition.stage(target) is None or target not in allowed:
            raise self._illegal(definition, current, target, allowed)
        if data:
            self.set_data(run, data)
        if definition.stage_index(target) < definition.stage_index(current):
            moved = self.start(definition, run.workflow.data.get(FIELDS_KEY) or {}, start_stage=target)
            if self.current_stage(moved) != target:
                raise self._illegal(definition, current, target, allowed)
            return moved

        gate = self._gate(run, current)
        trial = self.copy(run) if keep_original else run
        trial_gate = trial.workflow.get_task_from_id(gate.id)
        trial_gate.data[p.TARGET_STAGE] = target
        self._step(trial, trial_gate)
        if self.current_stage(trial) != target:
            # The flow disagrees with the spec walk (e.g. a condition on data): nothing is saved.
            raise self._illegal(definition, current, target, [s for s in allowed if s != target])
        return trial

    def _illegal(
        self, definition: ProcessDefinition, current: str, target: str, allowed: list[str]
    ) -> IllegalMove:
        names = ", ".join(definition.stage_name(s) for s in allowed) or "none"
        target_name = definition.stage_name(target) if definition.stage(target) else f"'{target}'"
        source = definition.stage_name(current)
        return IllegalMove(
            f"Cannot move from {source} to {target_name}: allowed next stages are {names}",
            allowed=allowed,
        )

    def _gate(self, run: Run, stage: str) -> Any:
        # the ready gate, by the plain walk (a stage has one gate, and one visit of it runs at a time); the tree
        # walk below, in the run's order, only when there is none: to name the required tasks still open
        for spiff_task in self._all_tasks(run.workflow):
            if (spiff_task.state == TaskState.READY and isinstance(spiff_task.task_spec, UserTaskMixin)
                    and p.truthy(_props(spiff_task.task_spec).get(p.GATE)) and self._stage_of(spiff_task) == stage):
                return spiff_task
        open_required: list[str] = []
        gate = None
        for spiff_task in self._user_tasks(run, _OPEN):
            if self._stage_of(spiff_task) != stage:
                continue
            props = _props(spiff_task.task_spec)
            if p.truthy(props.get(p.GATE)):
                if spiff_task.state == TaskState.READY:
                    gate = spiff_task
            elif run.definition.is_required(spiff_task.task_spec.bpmn_id):
                open_required.append(spiff_task.task_spec.bpmn_name or spiff_task.task_spec.bpmn_id)
        if gate is None:
            titles = open_required or ["the stage's tasks"]
            raise ValidationFailed(
                "Complete " + ", ".join(f"'{t}'" for t in titles) + " first", errors={"tasks": titles}
            )
        return gate

    def win(self, run: Run, payload: dict) -> None:
        """Send som.win. Raises Conflict if closed, or early win is not allowed before the last stage."""
        self._ensure_running(run)
        definition = run.definition
        if not definition.allow_early_win and not definition.stageless:
            current = self.current_stage(run)
            last = definition.stages[-1]
            if current != last.key:
                raise Conflict(f"This kind allows winning only in {last.name}")
        self._message(run, p.MESSAGE_WIN, payload, "won")

    def lose(self, run: Run, payload: dict) -> None:
        """Send som.lose (payload: reason, explanation). Raises Conflict if closed."""
        self._ensure_running(run)
        self._message(run, p.MESSAGE_LOSE, payload, "lost")

    def _message(self, run: Run, name: str, payload: dict, expected: str) -> None:
        event = BpmnEvent(MessageEventDefinition(name), payload=dict(payload or {}))
        try:
            run.workflow.send_event(event)
        except SpiffWorkflowException as exc:
            raise Conflict(f"The process does not accept {name} now: {exc}") from None
        self._step(run)
        if self.outcome(run)[0] != expected:
            raise ProcessError(f"The process did not end as {expected} after {name}")

    def wake_timers(self, run: Run) -> None:
        """Fire the timers that are due (by SpiffWorkflow's clock) and step."""
        if run.workflow.is_completed():
            return
        run.workflow.refresh_timers()
        self._step(run)


OperationMap = Mapping[str, Callable[[dict, dict], "dict | None"]]
