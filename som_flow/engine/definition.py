"""Parsing and validating one kind version: safe XML → whitelist → SpiffWorkflow parse → profile.

Everything an uploaded BPMN may contain is checked here, before anything runs: element types
(whitelist; scripts, call activities, loops and event subprocesses refused), unique ids, service
tasks naming a registered operation, every condition / timer / service parameter compiled by the
whitelisted evaluator, no cycles in any flow graph (repetition is never a loop-back, see DESIGN §8),
and the som_flow profile (stages, one gate per stage, outcomes, the pipeline with its messages).
The result, `ProcessDefinition`, holds the parsed specs and what the engine needs to know about
stages; it is immutable and shared between threads.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from som_flow.engine import profile as p
from som_flow.engine import timers
from som_flow.engine.expressions import ExpressionError, compile_expression, evaluate
from som_flow.engine.forms import FormSpecError, parse_form
from som_flow.errors import InvalidProcess

log = logging.getLogger(__name__)

_FLOW_NODES = (
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "boundaryEvent",
    "userTask",
    "manualTask",
    "task",
    "serviceTask",
    "subProcess",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
)
_BPMN_ALLOWED = frozenset(_FLOW_NODES) | frozenset(
    {
        "definitions",
        "collaboration",
        "participant",
        "process",
        "laneSet",
        "lane",
        "flowNodeRef",
        "childLaneSet",
        "sequenceFlow",
        "conditionExpression",
        "timerEventDefinition",
        "timeDuration",
        "timeDate",
        "timeCycle",
        "messageEventDefinition",
        "terminateEventDefinition",
        "message",
        "extensionElements",
        "documentation",
        "incoming",
        "outgoing",
        "textAnnotation",
        "text",
        "association",
        "group",
        "category",
        "categoryValue",
    }
)
_BPMN_REFUSED_REASONS = {
    "scriptTask": "script tasks are not allowed (no Python in BPMN); use a service task operation",
    "script": "scripts are not allowed (no Python in BPMN)",
    "callActivity": "call activities are not supported; draw the subprocess inline",
    "businessRuleTask": "business rule tasks are not supported",
    "standardLoopCharacteristics": "loops are not allowed; repetition is modelled by restarting a stage",
    "multiInstanceLoopCharacteristics": "multi-instance tasks are not supported",
    "conditionalEventDefinition": "conditional events are not supported",
    "dataObject": "data objects are not supported",
    "dataStore": "data stores are not supported",
}
_SPIFF_ALLOWED = frozenset(
    {
        "properties",
        "property",
        "serviceTaskOperator",
        "parameters",
        "parameter",
        "messageVariable",
        "instructionsForEndUser",
    }
)
_DIAGRAM_NS = frozenset({p.BPMNDI_NS, p.DC_NS, p.DI_NS})

# Bounds on the shape of a process, checked before SpiffWorkflow sees it: its parser recurses about
# twice per flow node along a path (a 490-node line overflows Python's stack), and parsing, the
# profile checks and every move walk all nodes.
MAX_FLOW_NODES = 500  # in the process, its subprocesses included
MAX_PATH = 200  # flow nodes one after another inside one (sub)process
MAX_SUBPROCESS_DEPTH = 5  # the shipped kinds nest two: pipeline, stage
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class StageInfo:
    key: str
    name: str
    probability: int | None
    required_fields: tuple[str, ...]
    sla: str | None  # ISO duration of the stage SLA timer, if any


@dataclass(frozen=True)
class ProcessDefinition:
    """A parsed, validated kind version. Immutable; one per version id, shared by all requests."""

    version_id: int
    process_id: str
    spec: Any = field(repr=False)
    subprocess_specs: dict[str, Any] = field(repr=False)
    stages: list[StageInfo]
    stageless: bool
    allow_back: bool
    allow_early_win: bool
    next_stages: dict[str, tuple[str, ...]] = field(repr=False)
    required_tasks: frozenset[str] = field(repr=False, default=frozenset())
    timer_stages: dict[str, str] = field(repr=False, default_factory=dict)  # boundary timer id -> stage key
    # whether any service task runs an operation: a run of a process without one has no effects to hand out
    has_service_tasks: bool = field(repr=False, default=False)
    # user tasks marked som.done_by=assignment (bpmn ids): a process without any needs no look at assignments
    done_by_assignment: frozenset[str] = field(repr=False, default=frozenset())

    def is_required(self, bpmn_id: str | None) -> bool:
        return bpmn_id in self.required_tasks

    def stage(self, key: str) -> StageInfo | None:
        return next((s for s in self.stages if s.key == key), None)

    def stage_index(self, key: str) -> int:
        return [s.key for s in self.stages].index(key)

    def stage_name(self, key: str) -> str:
        info = self.stage(key)
        return info.name if info else key


class _Errors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, element_id: str, reason: str) -> None:
        self.errors.setdefault(element_id or "document", []).append(reason)

    def raise_if_any(self, detail: str) -> None:
        if self.errors:
            first_id, reasons = next(iter(self.errors.items()))
            raise InvalidProcess(f"{detail}: {first_id}: {reasons[0]}", errors=self.errors)


def _local(el: etree._Element) -> tuple[str, str]:
    q = etree.QName(el)
    return q.namespace or "", q.localname


def _owner_id(el: etree._Element) -> str:
    """The id of the nearest BPMN element a modeler shows (not an event definition or extension)."""
    while el is not None:
        ns, name = _local(el)
        if el.get("id") and ns == p.BPMN_NS and not name.endswith("EventDefinition"):
            return el.get("id")
        el = el.getparent()
    return "document"


def _props(el: etree._Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for prop in el.iterfind(
        f"{{{p.BPMN_NS}}}extensionElements/{{{p.SPIFF_NS}}}properties/{{{p.SPIFF_NS}}}property"
    ):
        out[prop.get("name", "")] = prop.get("value", "")
    return out


def check_document(root: etree._Element, operations: Iterable[str]) -> None:
    """Whitelist, ids, expressions and operations, on the XML; raise InvalidProcess naming element ids."""
    errors = _Errors()
    operations = set(operations)
    if _local(root) != (p.BPMN_NS, "definitions"):
        raise InvalidProcess("Not a BPMN document", errors={"document": ["root must be bpmn:definitions"]})
    for process in root.iterfind(f"{{{p.BPMN_NS}}}process"):
        _check_shape(process)
    seen: dict[str, int] = {}
    by_id: dict[str, etree._Element] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):  # comments
            continue
        ns, name = _local(el)
        el_id = el.get("id")
        if el_id:
            if el_id in seen:
                errors.add(el_id, f"duplicate id (also on line {seen[el_id]})")
            seen[el_id] = el.sourceline or 0
            by_id[el_id] = el
        if ns == p.BPMN_NS:
            if name in _BPMN_REFUSED_REASONS:
                errors.add(_owner_id(el), _BPMN_REFUSED_REASONS[name])
            elif name not in _BPMN_ALLOWED:
                errors.add(_owner_id(el), f"element bpmn:{name} is not allowed in som_flow processes")
            if name == "subProcess" and el.get("triggeredByEvent", "false").lower() == "true":
                errors.add(_owner_id(el), "event subprocesses are not supported; use boundary events")
        elif ns == p.SPIFF_NS:
            if name not in _SPIFF_ALLOWED:
                errors.add(_owner_id(el), f"spiffworkflow:{name} is not allowed (no Python in BPMN)")
        elif ns in _DIAGRAM_NS:
            continue
        elif not _inside_extension(el):
            errors.add(_owner_id(el), f"unknown element {{{ns}}}{name}")
    errors.raise_if_any("The BPMN is not allowed")

    processes = root.findall(f"{{{p.BPMN_NS}}}process")
    if len(processes) != 1:
        errors.add("document", f"exactly one process is required, found {len(processes)}")
    ids = set(by_id)
    for cond in root.iter(f"{{{p.BPMN_NS}}}conditionExpression"):
        _compile(errors, _owner_id(cond), cond.text or "", "condition")
    for timer in root.iter(f"{{{p.BPMN_NS}}}timerEventDefinition"):
        _check_timer(errors, timer)
    for op in root.iter(f"{{{p.SPIFF_NS}}}serviceTaskOperator"):
        owner = _owner_id(op)
        if op.get("id") not in operations:
            known = ", ".join(sorted(operations)) or "none"
            errors.add(owner, f"unknown operation '{op.get('id')}' (registered: {known})")
        for param in op.iter(f"{{{p.SPIFF_NS}}}parameter"):
            _compile(errors, owner, param.get("value", ""), f"parameter '{param.get('id')}'")
    for task in root.iter(f"{{{p.BPMN_NS}}}serviceTask"):
        if task.find(f"{{{p.BPMN_NS}}}extensionElements/{{{p.SPIFF_NS}}}serviceTaskOperator") is None:
            errors.add(task.get("id", ""), "a service task must name a registered operation")
    # Lanes are a picture of roles (a task's role is its som.role), so any element may sit in any lane: a
    # modeler recomputes lane membership from positions after every edit. Only a dangling reference is wrong.
    for ref in root.iter(f"{{{p.BPMN_NS}}}flowNodeRef"):
        target = (ref.text or "").strip()
        if target not in ids:
            errors.add(_owner_id(ref), f"lane refers to unknown element '{target}'")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        props = _props(el)
        if props:
            _check_props(errors, el, props)
    errors.raise_if_any("The BPMN is not allowed")


def _check_shape(process: etree._Element) -> None:
    """Refuse a process beyond MAX_FLOW_NODES, MAX_SUBPROCESS_DEPTH or MAX_PATH, with a sentence naming it."""
    process_id = process.get("id") or "process"
    nodes = sum(1 for _ in process.iter(*(f"{{{p.BPMN_NS}}}{tag}" for tag in _FLOW_NODES)))
    if nodes > MAX_FLOW_NODES:
        _too_large(process_id, f"Process '{process_id}' has {nodes} flow nodes; the limit is {MAX_FLOW_NODES}")
    for sub in process.iter(f"{{{p.BPMN_NS}}}subProcess"):
        depth = sum(1 for a in sub.iterancestors(f"{{{p.BPMN_NS}}}subProcess")) + 1
        if depth > MAX_SUBPROCESS_DEPTH:
            _too_large(sub.get("id", process_id), f"Subprocess '{sub.get('id')}' of process '{process_id}' is "
                       f"nested {depth} deep; the limit is {MAX_SUBPROCESS_DEPTH}")
    for container in (process, *process.iter(f"{{{p.BPMN_NS}}}subProcess")):
        longest = _longest_path(container)
        if longest > MAX_PATH:
            where = "" if container is process else f" in subprocess '{container.get('id')}'"
            _too_large(container.get("id", process_id), f"Process '{process_id}' has a path of {longest} flow nodes"
                       f"{where}; the limit is {MAX_PATH}")


def _too_large(element_id: str, sentence: str) -> None:
    raise InvalidProcess(sentence, errors={element_id: [sentence]})


def _longest_path(container: etree._Element) -> int:
    """Flow nodes on the longest path through the container's own flows (boundary events follow their task).

    Nodes on a cycle are left out: cycles are refused later, with their own reason.
    """
    flow_nodes = {f"{{{p.BPMN_NS}}}{tag}" for tag in _FLOW_NODES}
    ids = [el.get("id") for el in container if el.tag in flow_nodes]
    edges: dict[str, list[str]] = {node: [] for node in ids}
    for el in container:
        if el.tag == f"{{{p.BPMN_NS}}}sequenceFlow":
            source, target = el.get("sourceRef"), el.get("targetRef")
        elif el.tag == f"{{{p.BPMN_NS}}}boundaryEvent":
            source, target = el.get("attachedToRef"), el.get("id")
        else:
            continue
        if source in edges and target in edges:
            edges[source].append(target)
    indegree = dict.fromkeys(ids, 0)
    for targets in edges.values():
        for target in targets:
            indegree[target] += 1
    length = dict.fromkeys(ids, 1)
    ready = [node for node in ids if indegree[node] == 0]
    while ready:
        node = ready.pop()
        for target in edges[node]:
            length[target] = max(length[target], length[node] + 1)
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    return max(length.values(), default=0)


def _inside_extension(el: etree._Element) -> bool:
    parent = el.getparent()
    while parent is not None:
        if _local(parent) == (p.BPMN_NS, "extensionElements"):
            return True
        parent = parent.getparent()
    return False


def _compile(errors: _Errors, owner: str, text: str, what: str) -> None:
    try:
        compile_expression(text)
    except ExpressionError as exc:
        errors.add(owner, f"{what} {text.strip()[:80]!r}: {exc}")


def _check_timer(errors: _Errors, timer: etree._Element) -> None:
    """One timer, as every parse of a version reads it: bare ISO-8601 text is read as one, an expression must
    compile, and a constant must be ISO 8601. Upload adds the bounds and which names a timer may read
    (processes/validation.py); a value read from data is checked when the timer starts (engine/timers.py)."""
    owner = _owner_id(timer)
    children = [c for c in timer if isinstance(c.tag, str) and _local(c)[0] == p.BPMN_NS]
    exprs = [c for c in children if _local(c)[1] in timers.KINDS]
    if len(exprs) != 1:
        errors.add(owner, "a timer needs exactly one timeDuration, timeDate or timeCycle")
        return
    kind, text = _local(exprs[0])[1], exprs[0].text or ""
    value = timers.bare_literal(text)
    if value is None:
        try:
            if timers.names_read(text):
                return  # reads data
            value = evaluate(text, {})
        except ExpressionError as exc:
            errors.add(owner, f"timer {text.strip()[:80]!r}: {exc}")
            return
    reason = timers.iso_reason(kind, value)
    if reason:
        errors.add(owner, reason)


def _check_props(errors: _Errors, el: etree._Element, props: dict[str, str]) -> None:
    owner = el.get("id", "")
    role = props.get(p.ROLE)
    if role is not None and role not in p.ROLES:
        errors.add(owner, f"som.role must be one of {', '.join(p.ROLES)}")
    action = props.get(p.ACTION)
    if action and action not in p.ACTIONS:
        errors.add(owner, f"unknown som.action '{action}'")
    due = props.get(p.DUE)
    if due:
        try:
            TimerEventDefinition.parse_iso_duration(due)
        except Exception:
            if not _FIELD.match(due):
                errors.add(owner, f"som.due '{due}' is neither an ISO-8601 duration nor a field name")
    outcome = props.get(p.OUTCOME)
    if outcome is not None and outcome not in p.OUTCOMES:
        errors.add(owner, "som.outcome must be won or lost")
    for name in filter(None, (f.strip() for f in props.get(p.REQUIRED_FIELDS, "").split(","))):
        if not _FIELD.match(name):
            errors.add(owner, f"{p.REQUIRED_FIELDS}: bad field name '{name}'")
    try:
        parse_form(props.get(p.FORM))
    except FormSpecError as exc:
        errors.add(owner, f"{p.FORM}: {exc}")
    done_by = props.get(p.DONE_BY)
    if done_by is not None:
        if done_by not in p.DONE_BY_VALUES:
            errors.add(owner, f"som.done_by must be {' or '.join(p.DONE_BY_VALUES)}")
        if _local(el) != (p.BPMN_NS, "userTask"):
            errors.add(owner, "som.done_by belongs on a user task")
        elif p.truthy(props.get(p.GATE)) or p.truthy(props.get(p.WAIT)):
            errors.add(owner, "a gate or wait is not done by an assignment")
        elif props.get(p.FORM, "").strip() or props.get(p.ACTION):
            errors.add(owner, "a task done by an assignment cannot also ask for a form or an action")
    probability = props.get(p.PROBABILITY)
    if probability is not None and not (probability.isdigit() and 0 <= int(probability) <= 100):
        errors.add(owner, "som.probability must be an integer 0-100")


def parse_definition(
    version_id: int,
    xml: str | bytes,
    operations: Iterable[str],
    root: etree._Element | None = None,
) -> ProcessDefinition:
    """Parse and validate one kind version. Raises InvalidProcess with errors keyed by element id."""
    from som_flow.engine.xmlsafe import parse_xml

    root = parse_xml(xml) if root is None else root
    check_document(root, operations)
    process_id, spec, subprocess_specs = parse_specs(root)
    return _profile(version_id, process_id, spec, subprocess_specs, root)


def parse_specs(root: etree._Element) -> tuple[str, Any, dict[str, Any]]:
    """SpiffWorkflow's parse of a checked document: (process id, spec, subprocess specs), its flows checked
    (`check_flows`). Raises InvalidProcess."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(root.getroottree())
        process_ids = parser.get_process_ids()
        if len(process_ids) != 1:
            raise InvalidProcess(
                "Exactly one executable process is required",
                errors={"document": [f"executable processes: {process_ids}"]},
            )
        process_id = process_ids[0]
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        where = exc.id or "document"
        line = f" (line {exc.line_number})" if exc.line_number else ""
        raise InvalidProcess(
            f"Invalid BPMN: {where}: {exc}{line}", errors={where: [f"{exc}{line}"]}
        ) from None
    except etree.LxmlError as exc:
        raise InvalidProcess(f"Invalid BPMN: {exc}", errors={"document": [str(exc)]}) from None
    except SpiffWorkflowException as exc:
        raise InvalidProcess(f"Invalid BPMN: {exc}", errors={"document": [str(exc)]}) from None
    check_flows(process_id, spec, subprocess_specs, root)
    return process_id, spec, subprocess_specs


def _properties(task_spec: Any) -> dict[str, str]:
    return (getattr(task_spec, "extensions", None) or {}).get("properties") or {}


def _graph_has_cycle(spec: Any) -> str | None:
    """Return the name of a task spec on a cycle, if the spec's flow graph has one."""
    state: dict[str, int] = {}
    for start in spec.task_specs.values():
        if state.get(start.name):
            continue
        stack = [(start, iter(start.outputs))]
        state[start.name] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node.name] = 2
                stack.pop()
            elif state.get(child.name) == 1:
                return child.name
            elif not state.get(child.name):
                state[child.name] = 1
                stack.append((child, iter(child.outputs)))
    return None


def check_flows(process_id: str, spec: Any, subprocess_specs: dict[str, Any], root: etree._Element) -> None:
    """No flow loops back, and every flow node is reachable. Raises InvalidProcess naming the elements."""
    errors = _Errors()
    all_specs = {process_id: spec, **subprocess_specs}
    for each in all_specs.values():
        looped = _graph_has_cycle(each)
        if looped:
            errors.add(looped.split(".")[0], "flows must not loop back (restart a stage instead)")
    # SpiffWorkflow silently drops what no flow reaches; a process that says more than it runs is refused.
    parsed = {getattr(ts, "bpmn_id", None) for each in all_specs.values() for ts in each.task_specs.values()}
    for el in root.iter(*(f"{{{p.BPMN_NS}}}{tag}" for tag in _FLOW_NODES)):
        if el.get("id") not in parsed:
            errors.add(el.get("id", ""), "not reachable from a start event")
    errors.raise_if_any("The process breaks the som_flow profile")


def _profile(
    version_id: int,
    process_id: str,
    spec: Any,
    subprocess_specs: dict[str, Any],
    root: etree._Element,
) -> ProcessDefinition:
    errors = _Errors()
    all_specs = {process_id: spec, **subprocess_specs}
    stage_specs: dict[str, Any] = {}  # key -> SubWorkflowTask spec
    pipelines: list[Any] = []
    outcomes: set[str] = set()
    messages: dict[str, list[Any]] = {}
    for each in all_specs.values():
        for ts in each.task_specs.values():
            props = _properties(ts)
            if isinstance(ts, SubWorkflowTask) and props.get(p.STAGE):
                key = props[p.STAGE]
                if key in stage_specs:
                    errors.add(ts.bpmn_id, f"stage key '{key}' is used twice")
                stage_specs[key] = ts
            if isinstance(ts, SubWorkflowTask) and p.truthy(props.get(p.PIPELINE)):
                pipelines.append(ts)
            if props.get(p.OUTCOME):
                outcomes.add(props[p.OUTCOME])
            if p.truthy(props.get(p.GATE)) and each.name not in {
                s.spec for s in _subworkflows(all_specs) if p.STAGE in _properties(s)
            }:
                errors.add(ts.bpmn_id, "a gate must be inside a stage subprocess")
            event_def = getattr(ts, "event_definition", None)
            if event_def is not None and type(event_def).__name__ == "MessageEventDefinition":
                messages.setdefault(event_def.name, []).append(ts)
    for key, ts in stage_specs.items():
        inner = subprocess_specs.get(ts.spec)
        gates = [t for t in inner.task_specs.values() if p.truthy(_properties(t).get(p.GATE))]
        if len(gates) != 1:
            errors.add(
                ts.bpmn_id,
                f"stage '{key}' needs exactly one gate (user task with som.gate=true), found {len(gates)}",
            )
        elif not isinstance(gates[0], UserTaskMixin):
            errors.add(gates[0].bpmn_id, "a gate must be a user task")
    if len(pipelines) != 1:
        errors.add(
            process_id,
            f"exactly one pipeline subprocess (som.pipeline=true) is required, found {len(pipelines)}",
        )
    for outcome in p.OUTCOMES:
        if outcome not in outcomes:
            errors.add(process_id, f"an end event with som.outcome={outcome} is required")
    for message in (p.MESSAGE_LOSE, p.MESSAGE_WIN):
        if message not in messages:
            errors.add(process_id, f"a boundary message event '{message}' on the pipeline is required")
    errors.raise_if_any("The process breaks the som_flow profile")

    pipeline_props = _properties(pipelines[0])
    order = _stage_order(stage_specs, all_specs, root, errors)
    errors.raise_if_any("The process breaks the som_flow profile")
    stages = [_stage_info(key, stage_specs[key], root) for key in order]
    stage_ids = {ts.bpmn_id: key for key, ts in stage_specs.items()}
    timer_stages = {
        b.get("id"): stage_ids[b.get("attachedToRef")]
        for b in root.iter(f"{{{p.BPMN_NS}}}boundaryEvent")
        if b.get("attachedToRef") in stage_ids
    }
    return ProcessDefinition(
        version_id=version_id,
        process_id=process_id,
        spec=spec,
        subprocess_specs=subprocess_specs,
        stages=stages,
        stageless=not stages,
        allow_back=p.truthy(pipeline_props.get(p.ALLOW_BACK)),
        allow_early_win=pipeline_props.get(p.ALLOW_EARLY_WIN, "true").strip().lower() != "false",
        next_stages={key: tuple(k for k in order if k in _next(stage_specs, key)) for key in order},
        required_tasks=_required_tasks(all_specs),
        timer_stages=timer_stages,
        has_service_tasks=next(root.iter(f"{{{p.BPMN_NS}}}serviceTask"), None) is not None,
        done_by_assignment=frozenset(
            ts.bpmn_id for each in all_specs.values() for ts in each.task_specs.values()
            if isinstance(ts, UserTaskMixin) and _properties(ts).get(p.DONE_BY) == p.DONE_BY_ASSIGNMENT),
    )


def _required_tasks(all_specs: dict[str, Any]) -> frozenset[str]:
    """User tasks that stand before a gate (or the stageless wait) in their own flow: they block it.

    Tasks on a stage's parallel branch, SLA follow-ups and anything marked som.optional are not required.
    """
    required: set[str] = set()
    for each in all_specs.values():
        for ts in each.task_specs.values():
            if not isinstance(ts, UserTaskMixin):
                continue
            props = _properties(ts)
            if p.truthy(props.get(p.GATE)) or p.truthy(props.get(p.WAIT)) or p.truthy(props.get(p.OPTIONAL)):
                continue
            seen: set[str] = set()
            todo = list(ts.outputs)
            while todo:
                nxt = todo.pop()
                if nxt.name in seen:
                    continue
                seen.add(nxt.name)
                nprops = _properties(nxt)
                if p.truthy(nprops.get(p.GATE)) or p.truthy(nprops.get(p.WAIT)):
                    required.add(ts.bpmn_id)
                    break
                todo.extend(nxt.outputs)
    return frozenset(required)


def _subworkflows(all_specs: dict[str, Any]) -> list[Any]:
    return [ts for s in all_specs.values() for ts in s.task_specs.values() if isinstance(ts, SubWorkflowTask)]


def _next(stage_specs: dict[str, Any], key: str) -> set[str]:
    """Stages reachable from a stage's outputs without passing through another stage."""
    by_name = {ts.name: k for k, ts in stage_specs.items()}
    found: set[str] = set()
    seen: set[str] = set()
    todo = list(stage_specs[key].outputs)
    while todo:
        ts = todo.pop()
        if ts.name in seen:
            continue
        seen.add(ts.name)
        if ts.name in by_name:
            found.add(by_name[ts.name])
            continue
        todo.extend(ts.outputs)
    return found


def _stage_order(
    stage_specs: dict[str, Any], all_specs: dict[str, Any], root: etree._Element, errors: _Errors
) -> list[str]:
    """Topological order of the stage graph; document order breaks ties."""
    doc_order = [el.get("id") for el in root.iter(f"{{{p.BPMN_NS}}}subProcess")]
    keys = sorted(stage_specs, key=lambda k: doc_order.index(stage_specs[k].bpmn_id))
    edges = {k: _next(stage_specs, k) for k in keys}
    indegree = {k: 0 for k in keys}
    for targets in edges.values():
        for t in targets:
            indegree[t] += 1
    order: list[str] = []
    ready = [k for k in keys if indegree[k] == 0]
    while ready:
        k = ready.pop(0)
        order.append(k)
        for t in sorted(edges[k], key=keys.index):
            indegree[t] -= 1
            if indegree[t] == 0:
                ready.append(t)
        ready.sort(key=keys.index)
    if len(order) != len(keys):
        errors.add(next(k for k in keys if k not in order), "stages must not loop back")
    return order


def _stage_info(key: str, ts: Any, root: etree._Element) -> StageInfo:
    props = _properties(ts)
    sla = None
    for boundary in root.iter(f"{{{p.BPMN_NS}}}boundaryEvent"):
        if boundary.get("attachedToRef") != ts.bpmn_id or boundary.get("cancelActivity", "true") != "false":
            continue
        duration = boundary.find(f"{{{p.BPMN_NS}}}timerEventDefinition/{{{p.BPMN_NS}}}timeDuration")
        if duration is not None:
            value = timers.constant_value(duration.text)
            sla = value if isinstance(value, str) else None
    probability = props.get(p.PROBABILITY)
    return StageInfo(
        key=key,
        name=ts.bpmn_name or key,
        probability=int(probability) if probability and probability.isdigit() else None,
        required_fields=tuple(f.strip() for f in props.get(p.REQUIRED_FIELDS, "").split(",") if f.strip()),
        sla=sla,
    )


# Re-exported for the runtime: which timer classes exist (used to read waiting timers).
TIMER_CLASSES = (DurationTimerEventDefinition, TimeDateEventDefinition, CycleTimerEventDefinition)
