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
from som_flow.engine import refusals as r
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
# Declarations at the top of a document (beside the process), and parts of an allowed element, that are data
# written for other tools: nothing here reads them unless an element that refers to them is drawn, and such an
# element is refused itself. Ignored, with everything inside them.
_BPMN_DATA = frozenset({
    "itemDefinition", "error", "escalation", "signal", "resource", "interface", "operation", "extension",
    "import", "correlationProperty", "dataStore", "partnerEntity", "partnerRole", "relationship",
    "globalTask", "globalUserTask", "globalManualTask", "globalScriptTask", "globalBusinessRuleTask",
    "participantMultiplicity", "correlationKey", "eventDefinition",
    "dataObject",  # what a drawn data object refers to; the drawing (dataObjectReference) is refused
})
_UNDRAWN_PARTS = frozenset({
    "standardLoopCharacteristics", "multiInstanceLoopCharacteristics", "potentialOwner", "performer",
    "humanPerformer", "resourceRole", "ioSpecification", "dataInput", "dataOutput", "property", "script",
})
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
    # the data names its conditions, timers and service parameters read (None: not known, so any): a caller may
    # leave out a field no expression reads rather than compute it for every step (services/process_run.py)
    names_read: frozenset[str] | None = field(repr=False, default=None)

    def reads(self, name: str) -> bool:
        """Whether an expression of the process may read the data name `name`."""
        return self.names_read is None or name in self.names_read

    def is_required(self, bpmn_id: str | None) -> bool:
        return bpmn_id in self.required_tasks

    def stage(self, key: str) -> StageInfo | None:
        return next((s for s in self.stages if s.key == key), None)

    def stage_index(self, key: str) -> int:
        return [s.key for s in self.stages].index(key)

    def stage_name(self, key: str) -> str:
        info = self.stage(key)
        return info.name if info else key


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


def som_properties(el: etree._Element) -> dict[str, str]:
    """An element's som properties: its `spiffworkflow:properties` (what the engine reads; modelers' other
    vocabularies are moved there on import, see processes/modeler.py)."""
    out: dict[str, str] = {}
    for prop in el.iterfind(
        f"{{{p.BPMN_NS}}}extensionElements/{{{p.SPIFF_NS}}}properties/{{{p.SPIFF_NS}}}property"
    ):
        out[prop.get("name", "")] = prop.get("value", "")
    return out


def check_document(root: etree._Element, operations: Iterable[str]) -> None:
    """Whitelist, ids, expressions and operations, on the XML; raise InvalidProcess naming element ids."""
    errors = r.Errors()
    operations = set(operations)
    if _local(root) != (p.BPMN_NS, "definitions"):
        raise InvalidProcess("Not a BPMN document", errors={"document": ["root must be bpmn:definitions"]})
    for process in root.iterfind(f"{{{p.BPMN_NS}}}process"):
        _check_shape(process)
    by_id: dict[str, etree._Element] = {}
    uses: dict[str, int] = {}
    for el_id, el in _element_ids(root):
        by_id.setdefault(el_id, el)
        uses[el_id] = uses.get(el_id, 0) + 1
    for el_id, count in uses.items():
        if count > 1:
            line = by_id[el_id].sourceline or 0
            errors.add(el_id, f"duplicate id: {count} elements have it (the first on line {line}); give each "
                       "element its own id",
                       plural="{n} ids are each used by several elements: {ids}; give each element its own id")
    for el, reason in _refused_elements(root):
        # a part a modeler does not draw (a marker, an assignment, inputs) is blamed on the element it belongs to
        part = _local(el)[1] in _UNDRAWN_PARTS and el.getparent() is not None
        errors.add(_owner_id(el.getparent() if part else el), reason)
    _check_processes(errors, root)
    errors.raise_if_any("The BPMN is not allowed")

    ids = set(by_id)
    for cond in root.iter(f"{{{p.BPMN_NS}}}conditionExpression"):
        _compile(errors, _owner_id(cond), cond.text or "", "condition")
    for timer in root.iter(f"{{{p.BPMN_NS}}}timerEventDefinition"):
        _check_timer(errors, timer)
    for op in root.iter(f"{{{p.SPIFF_NS}}}serviceTaskOperator"):
        owner = _owner_id(op)
        if op.get("id") not in operations:
            known = ", ".join(sorted(operations)) or "none"
            errors.add(owner, f"unknown operation '{op.get('id')}': choose a registered operation ({known}), or "
                       "draw a user task instead")
        for param in op.iter(f"{{{p.SPIFF_NS}}}parameter"):
            _compile(errors, owner, param.get("value", ""), f"parameter '{param.get('id')}'")
    for task in root.iter(f"{{{p.BPMN_NS}}}serviceTask"):
        if task.find(f"{{{p.BPMN_NS}}}extensionElements/{{{p.SPIFF_NS}}}serviceTaskOperator") is None:
            errors.add(task.get("id", ""), "a service task must name a registered operation "
                       f"({', '.join(sorted(operations)) or 'none'}): choose one, or draw a user task instead",
                       plural="{n} service tasks name no registered operation: {ids}; choose one for each, or "
                       "draw user tasks instead")
    # Lanes are a picture of roles (a task's role is its som.role), so any element may sit in any lane: a
    # modeler recomputes lane membership from positions after every edit. Only a dangling reference is wrong.
    for ref in root.iter(f"{{{p.BPMN_NS}}}flowNodeRef"):
        target = (ref.text or "").strip()
        if target not in ids:
            errors.add(_owner_id(ref), f"lane refers to unknown element '{target}'")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        props = som_properties(el)
        if props:
            _check_props(errors, el, props)
    errors.raise_if_any("The BPMN is not allowed")


def _element_ids(root: etree._Element) -> Iterable[tuple[str, etree._Element]]:
    """(id, element) for each BPMN and diagram element that has an id, in document order.

    Ids inside bpmn:extensionElements or in another vocabulary are not element ids: a form field "details" or an
    operation named in two service tasks is data of its own vocabulary, and may repeat."""
    for el in root.iter():
        el_id = el.get("id") if isinstance(el.tag, str) else None
        if el_id and (_local(el)[0] == p.BPMN_NS or _local(el)[0] in _DIAGRAM_NS) and not _inside_extension(el):
            yield el_id, el


def _refused_elements(root: etree._Element) -> Iterable[tuple[etree._Element, str]]:
    """(element, reason) for what the document holds that som_flow does not run, in document order.

    Judged: BPMN elements (the whitelist, with what to draw instead) and executable content of the vocabularies
    modelers write (r.VENDOR_EXECUTABLE). Ignored, with what is inside them: declarations and other data
    (_BPMN_DATA), the diagram, and any other vocabulary's elements, wherever they are. A refused element's
    contents are not judged: one reason per element."""
    todo = [root]
    while todo:
        el = todo.pop()
        if not isinstance(el.tag, str):
            continue
        ns, name = _local(el)
        reason = None
        if ns == p.BPMN_NS:
            if name in _BPMN_DATA:
                continue
            if name in r.REFUSED_ELEMENTS:
                reason = r.REFUSED_ELEMENTS[name]
            elif name not in _BPMN_ALLOWED:
                reason = (f"{_words(name)} is not something som_flow runs: delete it, or draw a user task, a "
                          "service task, a subprocess, a gateway, a timer or a message event instead")
            elif name == "subProcess" and el.get("triggeredByEvent", "false").lower() == "true":
                reason = "event subprocesses are not supported: draw a boundary event on the task instead"
        elif ns in _DIAGRAM_NS:
            continue
        else:
            reason = r.VENDOR_EXECUTABLE.get((ns, name))
        if reason:
            yield el, reason
            continue
        todo.extend(reversed(el))


def _words(name: str) -> str:
    """A BPMN element name as words: "adHocSubProcess" -> "an ad hoc sub process"."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()
    return ("an " if words[:1] in "aeiou" else "a ") + words


def _drawn_processes(root: etree._Element) -> list[etree._Element]:
    """The processes with something drawn in them: a pool left empty (a modeler writes a process for every pool,
    the customer's too) is a picture, not a process to run."""
    flow_nodes = {f"{{{p.BPMN_NS}}}{tag}" for tag in _FLOW_NODES}
    return [proc for proc in root.iterfind(f"{{{p.BPMN_NS}}}process")
            if any(isinstance(el.tag, str) and (el.tag in flow_nodes or _local(el)[1] in r.REFUSED_ELEMENTS)
                   for el in proc)]


def _check_processes(errors: r.Errors, root: etree._Element) -> None:
    """Exactly one process with something drawn in it, marked executable: said against the process, with how to
    fix it."""
    processes = _drawn_processes(root)
    executable = [proc.get("id", "") for proc in processes if proc.get("isExecutable", "").strip() == "true"]
    if not processes:
        empty = root.find(f"{{{p.BPMN_NS}}}process")
        if empty is None:
            errors.add(root.get("id") or "document",
                       "the file has no process: draw a start event, the tasks and an end event in a process")
        else:
            errors.add(empty.get("id", ""), "nothing is drawn in the process: draw a start event, the tasks and an "
                       "end event in it")
    elif len(processes) == 1 and not executable:
        errors.add(processes[0].get("id", ""), r.NOT_EXECUTABLE)
    elif len(processes) > 1:
        ids = ", ".join(proc.get("id", "") for proc in processes)
        if len(executable) == 1:
            for proc in processes:
                if proc.get("id") != executable[0]:
                    errors.add(proc.get("id", ""), f"the file has {len(processes)} processes ({ids}) and som_flow "
                               f"runs one, the executable '{executable[0]}': delete this pool's contents (an "
                               "empty pool may stay)")
        else:
            for proc in processes:
                errors.add(proc.get("id", ""), f"the file has {len(processes)} processes ({ids}), "
                           f"{len(executable)} marked executable; som_flow runs exactly one: keep the process to "
                           'run, set isExecutable="true" on it, and delete the other pools\' contents')


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


def _compile(errors: r.Errors, owner: str, text: str, what: str) -> None:
    try:
        compile_expression(text)
    except ExpressionError as exc:
        errors.add(owner, f"{what} {text.strip()[:80]!r}: {exc}")


def _check_timer(errors: r.Errors, timer: etree._Element) -> None:
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


def _check_props(errors: r.Errors, el: etree._Element, props: dict[str, str]) -> None:
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
    (`check_flows`). Raises InvalidProcess, its reasons in the admin's words (see _library_reason)."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(root.getroottree())
        drawn = [proc.get("id") for proc in _drawn_processes(root)]
        process_ids = [pid for pid in parser.get_process_ids() if pid in drawn]
        if len(process_ids) != 1:  # check_document refuses this first; here for a document it did not see
            errors = r.Errors()
            _check_processes(errors, root)
            errors.raise_if_any("The BPMN is not allowed")
            raise InvalidProcess("The BPMN is not allowed", errors={_main_id(root): [r.NOT_EXECUTABLE]})
        process_id = process_ids[0]
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except (SpiffWorkflowException, etree.LxmlError) as exc:
        element_id, reason = _library_reason(exc, root)
        raise InvalidProcess(f"Invalid BPMN: {element_id}: {reason}", errors={element_id: [reason]}) from None
    check_flows(process_id, spec, subprocess_specs, root)
    return process_id, spec, subprocess_specs


def _main_id(root: etree._Element) -> str:
    """The id to blame when nothing narrower is known: the process's (or the document's)."""
    drawn = _drawn_processes(root)
    process = drawn[0] if drawn else root.find(f"{{{p.BPMN_NS}}}process")
    return (process.get("id") if process is not None else None) or root.get("id") or "document"


def _library_reason(exc: Exception, root: etree._Element) -> tuple[str, str]:
    """(element id, sentence) for SpiffWorkflow's or the BPMN schema's refusal: the element found by its id or,
    failing that, by the line and element name the message gives; its words the admin's, never the library's."""
    message = str(exc).strip()
    line = getattr(exc, "line_number", None) or getattr(exc, "lineno", None) or 0
    element_id = getattr(exc, "id", "") or ""
    named = r.SCHEMA_ELEMENT.match(message)
    if named:  # the schema's wording: "Element '{ns}boundaryEvent': The attribute 'attachedToRef' is required…"
        local = named.group(1)
        element_id = element_id or _id_on_line(root, int(line or 0), local)
        message = message[named.end():]
        if named.group(2):
            message = f"'{named.group(2)}': {message}"
        table, subject = r.SCHEMA_SENTENCES, "this " + _words(local).split(" ", 1)[1]
    else:
        table, subject = r.LIBRARY_SENTENCES, ""
    element_id = element_id or (_id_on_line(root, int(line or 0), None) if line else "") or _main_id(root)
    where = f" (line {line})" if line else ""
    for pattern, sentence in table:
        match = re.search(pattern, message)
        if match:
            said = sentence.format(*match.groups())
            break
    else:  # a message we have no words for: its text in plain words, and where it is
        plain = message
        for pattern, replacement in r.PLAIN_WORDS:
            plain = pattern.sub(replacement, plain)
        said = f"could not be read: {plain.strip(' .')}"
        subject = subject or "this element"
    return element_id, (f"{subject} {said}" if subject else said).strip() + where


def _id_on_line(root: etree._Element, line: int, local: str | None) -> str:
    """The id of the element (named `local`, if given) that starts on `line`, or of its nearest BPMN owner."""
    for el in root.iter():
        if isinstance(el.tag, str) and el.sourceline == line and (local is None or _local(el)[1] == local):
            owner = _owner_id(el)
            if owner != "document":
                return owner
    return ""


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
    errors = r.Errors()
    all_specs = {process_id: spec, **subprocess_specs}
    for each in all_specs.values():
        looped = _graph_has_cycle(each)
        if looped:
            errors.add(looped.split(".")[0], "flows must not loop back (restart a stage instead)")
    # SpiffWorkflow silently drops what no flow reaches; a process that says more than it runs is refused.
    parsed = {getattr(ts, "bpmn_id", None) for each in all_specs.values() for ts in each.task_specs.values()}
    for el in root.iter(*(f"{{{p.BPMN_NS}}}{tag}" for tag in _FLOW_NODES)):
        if el.get("id") not in parsed:
            errors.add(el.get("id", ""), "not reachable from a start event: connect it with a sequence flow, or "
                       "delete it", plural="{n} elements are not reachable from a start event: {ids}. Connect each "
                       "with a sequence flow, or delete it")
    errors.raise_if_any("The process breaks the som_flow profile")


def _profile(
    version_id: int,
    process_id: str,
    spec: Any,
    subprocess_specs: dict[str, Any],
    root: etree._Element,
) -> ProcessDefinition:
    errors = r.Errors()
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
            "this process has no stages: draw each stage as an expanded subprocess with the som_flow property "
            "Stage (som.stage) — the pipeline around them and the won/lost ends are added on import — or, for a "
            "kind without stages, put its tasks in one subprocess marked Pipeline (som.pipeline=true)"
            if not pipelines else
            f"{len(pipelines)} subprocesses are marked Pipeline (som.pipeline=true): keep the marker on one of them",
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
        names_read=_names_read(root),
    )


def _names_read(root: etree._Element) -> frozenset[str] | None:
    """Every data name the document's expressions read: conditions, timers (bare ISO text reads none) and service
    parameters, the only places the engine evaluates one (scripts are refused). None if one does not compile."""
    texts = [c.text or "" for c in root.iter(f"{{{p.BPMN_NS}}}conditionExpression")]
    for timer in root.iter(f"{{{p.BPMN_NS}}}timerEventDefinition"):
        texts.extend(c.text or "" for c in timer if isinstance(c.tag, str) and _local(c)[1] in timers.KINDS)
    texts.extend(param.get("value", "") for param in root.iter(f"{{{p.SPIFF_NS}}}parameter"))
    names: set[str] = set()
    try:
        for text in texts:
            if timers.bare_literal(text) is None:
                names.update(timers.names_read(text))
    except ExpressionError:
        return None
    return frozenset(names)


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
    stage_specs: dict[str, Any], all_specs: dict[str, Any], root: etree._Element, errors: r.Errors
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
