"""The kind builder: a stage list plus per-stage tasks, SLAs and required fields → profile BPMN.

The output follows the som_flow profile (see `som_flow.engine.profile`) and carries left-to-right
BPMNDI (a pool with rep/csr/manager lanes, the pipeline and every stage expanded) so bpmn-js draws
it. Element ids are derived from the stage keys and task positions, so the same input always gives
the same bytes (the shipped files are checked against the builder in a test).

Shape of the process::

    start → pipeline[ start → entry gateway on start_stage → stage → (route gateway) → stage … → end ]
            pipeline ⟂ som.lose → end(lost),  pipeline ⟂ som.win → end(won),  pipeline → end(won)
    stage[ start → (parallel split) → required tasks → gate → terminate end
                                    ↘ optional tasks → end ]
    stage ⟂ non-interrupting SLA timer → "Review stalled <Stage>" (manager) → end

Layout: one horizontal lane per role (rep, csr, then office/scheduler when used, manager last) and in each
lane a row for required and a row for optional tasks, so every task is drawn in its role's lane. Within a
stage each node has its own column, so a flow only joins neighbouring columns and bends in the gap between
them (leaving the side of its source that faces its target). Flows from stage to stage run along the rep
row; those that enter or skip to a later stage run above the stages.
Lanes are a picture of roles: a task's role is its `som.role` alone (see `som_flow.engine.profile`), and
the pipeline and its boundary events are in no lane, so a modeler that recomputes lane membership after an
edit changes nothing that runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from som_flow.engine import FormField, FormSpecError, make_field, parse_form, parse_xml
from som_flow.engine import profile as p
from som_flow.errors import ValidationFailed
from som_flow.i18n import gettext

NSMAP = {
    "bpmn": p.BPMN_NS,
    "bpmndi": p.BPMNDI_NS,
    "dc": p.DC_NS,
    "di": p.DI_NS,
    "spiffworkflow": p.SPIFF_NS,
    "xsi": p.XSI_NS,
}
KIND_TYPES = ("standard", "custom", "stageless")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_KIND_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def kind_identity_errors(key: str | None, type: str | None) -> dict[str, list[str]]:
    """What is wrong with a kind's key and type, by field (empty when both are fine): the one check the
    designer, the BPMN upload (API, page, CLI) and the builder share."""
    errors: dict[str, list[str]] = {}
    if not _KIND_KEY.match(key or ""):
        errors["key"] = ["Use lower-case letters, digits, '-' or '_', starting with a letter (at most 40)."]
    if type not in KIND_TYPES:
        errors["type"] = [f"Choose one of {', '.join(KIND_TYPES)}."]
    return errors
_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")

# Layout constants (pixels). Between the pipeline's top and the stages' tops run the flows that enter a
# stage from the entry gateway or skip to a later one; rows of tasks are ROW_H high, one column is STEP wide.
TASK_W, TASK_H = 100, 80
EVENT = 36
GW = 50
LANE_X = 30
PIPE_Y, STAGE_Y = 30, 120
ENTRY_LEVEL, SKIP_LEVEL = 56, 84  # the heights of those flows (the pipeline's label sits above them)
ROW_H = 100
STEP = 140
PAD = 20  # from a stage's side to its first and last column
LANE_ORDER = ("rep", "csr", "office", "scheduler", "manager")


def _q(ns: str, tag: str) -> str:
    return f"{{{NSMAP[ns]}}}{tag}"


@dataclass
class Shape:
    x: float
    y: float
    w: float
    h: float
    expanded: bool = False

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w


@dataclass
class _Doc:
    process: etree._Element
    shapes: dict[str, Shape] = field(default_factory=dict)
    edges: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    lanes: dict[str, list[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def node(
        self,
        parent: etree._Element,
        tag: str,
        id_: str,
        name: str | None = None,
        props: dict[str, str] | None = None,
        shape: Shape | None = None,
        **attrs: str,
    ) -> etree._Element:
        el = etree.SubElement(parent, _q("bpmn", tag), id=id_)
        if name:
            el.set("name", name)
        for key, value in attrs.items():
            el.set(key, value)
        if props:
            ext = etree.SubElement(el, _q("bpmn", "extensionElements"))
            holder = etree.SubElement(ext, _q("spiffworkflow", "properties"))
            for key, value in props.items():
                etree.SubElement(holder, _q("spiffworkflow", "property"), name=key, value=value)
        if shape is not None:
            self.shapes[id_] = shape
            self.order.append(id_)
        return el

    def flow(
        self,
        parent: etree._Element,
        id_: str,
        source: str,
        target: str,
        condition: str | None = None,
        waypoints: list[tuple[float, float]] | None = None,
    ) -> etree._Element:
        el = etree.SubElement(parent, _q("bpmn", "sequenceFlow"), id=id_, sourceRef=source, targetRef=target)
        if condition is not None:
            cond = etree.SubElement(el, _q("bpmn", "conditionExpression"))
            cond.set(_q("xsi", "type"), "bpmn:tFormalExpression")
            cond.text = condition
        self.edges[id_] = waypoints or route(self.shapes[source], self.shapes[target])
        self.order.append(id_)
        return el


def route(a: Shape, b: Shape) -> list[tuple[float, float]]:
    """An orthogonal route from a's right side to b's left side (b lies to the right of a).

    When the two overlap vertically the flow is one straight line at a height both share (a's or b's centre
    if the other spans it); otherwise it leaves a's right side, bends once in the gap between them and
    enters b's left side, so it never runs through either shape or anything between neighbouring columns."""
    top, bottom = max(a.y, b.y), min(a.y + a.h, b.y + b.h)
    if top < bottom:
        if top < b.cy < bottom:
            y = b.cy
        elif top < a.cy < bottom:
            y = a.cy
        else:
            y = (top + bottom) / 2
        return [(a.right, y), (b.x, y)]
    mid = (a.right + b.x) / 2
    return [(a.right, a.cy), (mid, a.cy), (mid, b.cy), (b.x, b.cy)]


@dataclass
class _Grid:
    """Where lanes and rows are: a lane per role, with a row for required and one for optional tasks."""

    roles: list[str]
    rows: dict[tuple[str, str], float]  # (role, "main" | "optional") -> centre y of that row
    lanes: dict[str, tuple[float, float]]  # role -> (top, height)
    stage_bottom: float
    review_y: float  # centre of the row of "Review stalled" tasks below the stages
    pipe_bottom: float
    outcome_y: float  # centre of the lost / won-early end events below the pipeline
    height: float

    def y(self, role: str, optional: bool = False) -> float:
        return self.rows[(role, "optional" if optional else "main")]


def _grid(tasks: list[dict], has_sla: bool) -> _Grid:
    """Lay the lanes out for these tasks: rep, csr and manager always, office and scheduler when used."""
    used = {t.get("role", "rep") for t in tasks}
    roles = [r for r in LANE_ORDER if r in ("rep", "csr", "manager") or r in used]
    rows: dict[tuple[str, str], float] = {}
    lanes: dict[str, tuple[float, float]] = {}
    y = 0.0
    row_top = STAGE_Y + 20.0  # the rep lane starts at the pool's top, above the pipeline
    for role in roles:
        kinds = [k for k, needed in (
            ("main", role == "rep" or any(t.get("role", "rep") == role and t.get("required", True) for t in tasks)),
            ("optional", any(t.get("role", "rep") == role and not t.get("required", True) for t in tasks)),
        ) if needed]
        for kind in kinds:
            rows[(role, kind)] = row_top + ROW_H / 2
            row_top += ROW_H
        if not kinds:
            row_top += ROW_H  # an empty lane still shows its role
        lanes[role] = (y, row_top - y)
        y = row_top
    stage_bottom = y + 10
    review_y = stage_bottom + 40 + TASK_H / 2
    pipe_bottom = review_y + TASK_H / 2 + 20 if has_sla else stage_bottom + 30
    outcome_y = pipe_bottom + 70
    height = outcome_y + EVENT / 2 + 50
    last = roles[-1]
    lanes[last] = (lanes[last][0], height - lanes[last][0])
    return _Grid(roles, rows, lanes, stage_bottom, review_y, pipe_bottom, outcome_y, height)


def _at(column_x: float, cy: float, w: float, h: float, expanded: bool = False) -> Shape:
    """A w x h shape centred in the column starting at column_x, on the row centred at cy."""
    return Shape(column_x + (TASK_W - w) / 2, cy - h / 2, w, h, expanded)


def _check_inputs(
    key: str,
    type: str,
    stages: list[dict],
    stage_tasks: dict[str, list[dict]],
    stage_sla: dict[str, str],
    required_fields: dict[str, list[str]],
) -> None:
    errors = kind_identity_errors(key, type)
    keys = [s.get("key", "") for s in stages]
    if type != "stageless" and not stages:
        errors.setdefault("stages", []).append("at least one stage")
    for stage_key in keys:
        if not _KEY.match(stage_key or ""):
            errors.setdefault("stages", []).append(f"bad stage key {stage_key!r}")
    if len(set(keys)) != len(keys):
        errors.setdefault("stages", []).append("stage keys must be unique")
    for stage_key, tasks in stage_tasks.items():
        if type != "stageless" and stage_key not in keys:
            errors.setdefault("stage_tasks", []).append(f"unknown stage {stage_key!r}")
        for task in tasks:
            if not (task.get("title") or "").strip():
                errors.setdefault("stage_tasks", []).append("every task needs a title")
            if task.get("role", "rep") not in p.ROLES:
                errors.setdefault("stage_tasks", []).append(f"unknown role {task.get('role')!r}")
            if task.get("action") and task["action"] not in p.ACTIONS:
                errors.setdefault("stage_tasks", []).append(f"unknown action {task['action']!r}")
            try:
                form = form_fields(task.get("form"))
            except FormSpecError as exc:
                errors.setdefault("stage_tasks", []).append(f"{task.get('title')!r}: form: {exc}")
                form = ()
            done_by = task.get("done_by")
            if done_by is not None and done_by not in p.DONE_BY_VALUES:
                errors.setdefault("stage_tasks", []).append(f"unknown done_by {done_by!r}")
            elif done_by and (form or task.get("action")):
                errors.setdefault("stage_tasks", []).append(
                    f"{task.get('title')!r}: a task done by an assignment cannot also ask for a form or an action")
    for stage_key, sla in stage_sla.items():
        if stage_key not in keys:
            errors.setdefault("stage_sla", []).append(f"unknown stage {stage_key!r}")
        if not _DURATION.match(sla or ""):
            errors.setdefault("stage_sla", []).append(f"{sla!r} is not an ISO-8601 duration like P14D")
    for stage_key in required_fields:
        if stage_key not in keys:
            errors.setdefault("required_fields", []).append(f"unknown stage {stage_key!r}")
    if errors:
        raise ValidationFailed(gettext("The kind cannot be built"), errors=errors)


def form_fields(items: list | tuple | None) -> tuple[FormField, ...]:
    """A task's `form` as the designer and the API give it: items that are `som.form` text ("qualified:yesno",
    or a plain name) or objects `{name, type?, choices?, label?}`. Raises FormSpecError."""
    fields: list[FormField] = []
    for item in items or ():
        if isinstance(item, str):
            fields.extend(parse_form(item))
        elif isinstance(item, dict):
            unknown = set(item) - {"name", "type", "choices", "label"}
            if unknown:
                raise FormSpecError(gettext("unknown key %(value)s in a form field", value=repr(sorted(unknown)[0])))
            fields.append(make_field(item.get("name"), item.get("type") or "text", item.get("choices") or (),
                                     item.get("label")))
        else:
            raise FormSpecError(gettext("a form field is a text such as qualified:yesno or an object with a name"))
    spec = ", ".join(f.spec() for f in fields)
    return parse_form(spec)  # one reading for both shapes: duplicates and the field limit are checked there


def _task_props(task: dict, role: str) -> dict[str, str]:
    props = {p.ROLE: role}
    if task.get("due"):
        props[p.DUE] = str(task["due"])
    if task.get("instructions"):
        props[p.INSTRUCTIONS] = str(task["instructions"])
    if task.get("form"):
        props[p.FORM] = ", ".join(f.spec() for f in form_fields(task["form"]))
    if task.get("action"):
        props[p.ACTION] = str(task["action"])
    if not task.get("required", True):
        props[p.OPTIONAL] = "true"
    if task.get("done_by"):
        props[p.DONE_BY] = str(task["done_by"])
    return props


def _task_node(doc: _Doc, sub, tid: str, task: dict, prev: str, column_x: float, grid: _Grid) -> str:
    """A user task drawn in its role's lane (the optional row for an optional task), after `prev`."""
    role = task.get("role", "rep")
    shape = _at(column_x, grid.y(role, not task.get("required", True)), TASK_W, TASK_H)
    doc.node(sub, "userTask", tid, task["title"], props=_task_props(task, role), shape=shape)
    doc.lanes.setdefault(role, []).append(tid)
    return tid


def _stage_columns(required: int, optional: int) -> int:
    """Columns of a stage: start, (split), the tasks side by side with the optional ones, gate, end."""
    first = 2 if optional else 1
    return max(first + required + 2, first + optional + 1)


def build_kind_bpmn(
    key: str,
    name: str,
    type: str,
    stages: list[dict],
    allow_skip: bool = False,
    allow_back: bool = False,
    allow_early_win: bool = True,
    stage_tasks: dict[str, list[dict]] | None = None,
    stage_sla: dict[str, str] | None = None,
    required_fields: dict[str, list[str]] | None = None,
) -> str:
    """Build the BPMN of a kind. Raises ValidationFailed for bad input (unknown stage, role, bad SLA).

    `standard` kinds never skip or go back (`allow_skip`/`allow_back` are ignored for them);
    `stageless` kinds take their tasks from `stage_tasks[""]` (or the first list given).
    """
    stage_tasks = stage_tasks or {}
    stage_sla = stage_sla or {}
    required_fields = required_fields or {}
    if type == "stageless":
        stages = []
    _check_inputs(key, type, stages, stage_tasks, stage_sla, required_fields)
    if type == "standard":
        allow_skip = allow_back = False

    root = etree.Element(_q("bpmn", "definitions"), nsmap=NSMAP)
    root.set("id", f"defs_{_ident(key)}")
    root.set("targetNamespace", "http://som-flow.example/bpmn")
    root.set("exporter", "som_flow kind builder")
    root.set("exporterVersion", "1")
    process_id = f"som_{_ident(key)}"
    collab = etree.SubElement(root, _q("bpmn", "collaboration"), id=f"collab_{_ident(key)}")
    etree.SubElement(collab, _q("bpmn", "participant"), id="pool", name=name, processRef=process_id)
    for label, message in (("lose", p.MESSAGE_LOSE), ("win", p.MESSAGE_WIN)):
        etree.SubElement(root, _q("bpmn", "message"), id=f"msg_{label}", name=message)
    process = etree.SubElement(root, _q("bpmn", "process"), id=process_id, name=name, isExecutable="true")
    lane_set = etree.SubElement(process, _q("bpmn", "laneSet"), id="lanes")
    doc = _Doc(process)
    if type == "stageless":
        tasks = stage_tasks.get("") or next(iter(stage_tasks.values()), [])
        grid = _grid([{**t, "required": True} for t in tasks], has_sla=False)
    else:
        tasks = [t for s in stages for t in stage_tasks.get(s["key"], [])]
        grid = _grid(tasks, has_sla=any(stage_sla.get(s["key"]) for s in stages))
    row1 = grid.y("rep")

    # Top level: start → pipeline → won; boundary messages → outcomes. The pipeline and its boundary events
    # are in no lane (they hold or serve tasks of every role).
    doc.node(process, "startEvent", "start", "Opportunity created", shape=Shape(60, row1 - EVENT / 2, EVENT, EVENT))
    doc.lanes.setdefault("rep", []).append("start")
    pipe_x = 140.0
    pipeline = doc.node(
        process,
        "subProcess",
        "pipeline",
        "Sales pipeline" if type != "stageless" else "Opportunity",
        props={
            p.PIPELINE: "true",
            p.ALLOW_BACK: "true" if allow_back else "false",
            p.ALLOW_EARLY_WIN: "true" if allow_early_win else "false",
        },
        shape=Shape(pipe_x, PIPE_Y, 0, grid.pipe_bottom - PIPE_Y, expanded=True),
    )
    if type == "stageless":
        right = _build_stageless(doc, pipeline, tasks, pipe_x, grid)
    else:
        right = _build_stages(
            doc, pipeline, stages, allow_skip, stage_tasks, stage_sla, required_fields, pipe_x, grid
        )
    doc.shapes["pipeline"].w = right - pipe_x
    doc.flow(process, "flow_start", "start", "pipeline")
    end_x = right + 50
    doc.node(
        process,
        "endEvent",
        "end_won",
        "Won",
        props={p.OUTCOME: "won"},
        shape=Shape(end_x, row1 - EVENT / 2, EVENT, EVENT),
    )
    doc.lanes["rep"].append("end_won")
    doc.flow(process, "flow_pipeline_won", "pipeline", "end_won")
    for i, (label, outcome, title) in enumerate((("lose", "lost", "Lost"), ("win", "won", "Won early"))):
        bx = right - 230 + i * 110
        boundary = doc.node(
            process,
            "boundaryEvent",
            f"on_{label}",
            p.MESSAGE_LOSE if label == "lose" else p.MESSAGE_WIN,
            shape=Shape(bx, grid.pipe_bottom - EVENT / 2, EVENT, EVENT),
            attachedToRef="pipeline",
        )
        definition = etree.SubElement(boundary, _q("bpmn", "messageEventDefinition"), id=f"on_{label}_def")
        definition.set("messageRef", f"msg_{label}")
        ext = etree.SubElement(definition, _q("bpmn", "extensionElements"))
        var = etree.SubElement(ext, _q("spiffworkflow", "messageVariable"))
        var.text = p.LOSE_VARIABLE if label == "lose" else p.WIN_VARIABLE
        # extensionElements must come first inside the event definition for the XSD.
        doc.node(
            process,
            "endEvent",
            f"end_{outcome}_{label}",
            title,
            props={p.OUTCOME: outcome},
            shape=Shape(bx, grid.outcome_y - EVENT / 2, EVENT, EVENT),
        )
        doc.lanes.setdefault(grid.roles[-1], []).append(f"end_{outcome}_{label}")
        b = doc.shapes[f"on_{label}"]
        doc.flow(
            process,
            f"flow_{label}",
            f"on_{label}",
            f"end_{outcome}_{label}",
            waypoints=[(b.x + EVENT / 2, b.y + EVENT), (b.x + EVENT / 2, grid.outcome_y - EVENT / 2)],
        )

    for role in grid.roles:
        lane = etree.SubElement(lane_set, _q("bpmn", "lane"), id=f"lane_{role}", name=role)
        for ref in doc.lanes.get(role, []):
            etree.SubElement(lane, _q("bpmn", "flowNodeRef")).text = ref
    total_w = end_x + EVENT + 40
    _diagram(root, doc, grid, total_w, f"collab_{_ident(key)}")
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()


def _ident(key: str) -> str:
    return key.replace("-", "_")


def _build_stages(
    doc: _Doc,
    pipeline: etree._Element,
    stages: list[dict],
    allow_skip: bool,
    stage_tasks: dict[str, list[dict]],
    stage_sla: dict[str, str],
    required_fields: dict[str, list[str]],
    pipe_x: float,
    grid: _Grid,
) -> float:
    row1 = grid.y("rep")
    doc.node(pipeline, "startEvent", "pipeline_start", shape=Shape(pipe_x + 30, row1 - EVENT / 2, EVENT, EVENT))
    entry_x = pipe_x + 110
    doc.node(
        pipeline,
        "exclusiveGateway",
        "entry",
        "Start stage?",
        shape=Shape(entry_x, row1 - GW / 2, GW, GW),
        default=f"flow_entry_{stages[0]['key']}",
    )
    doc.flow(pipeline, "flow_pipeline_start", "pipeline_start", "entry")

    # First pass: geometry of stage boxes (needed before drawing flows between them).
    x = entry_x + GW + 60
    boxes: list[Shape] = []
    for stage in stages:
        tasks = stage_tasks.get(stage["key"], [])
        req = [t for t in tasks if t.get("required", True)]
        opt = [t for t in tasks if not t.get("required", True)]
        width = _stage_columns(len(req), len(opt)) * STEP
        box = Shape(x, STAGE_Y, width, grid.stage_bottom - STAGE_Y, expanded=True)
        boxes.append(box)
        x = box.right + (100 if allow_skip else 60)

    for index, stage in enumerate(stages):
        _build_stage(doc, pipeline, stage, boxes[index], stage_tasks, stage_sla, required_fields, grid)

    end_x = boxes[-1].right + 50
    pipeline_end = doc.node(
        pipeline,
        "endEvent",
        "pipeline_end",
        "Pipeline finished",
        shape=Shape(end_x, row1 - EVENT / 2, EVENT, EVENT),
    )
    # Terminate: an open "Review stalled" task must not keep the pipeline (and so the win) waiting.
    etree.SubElement(pipeline_end, _q("bpmn", "terminateEventDefinition"), id="pipeline_end_def")

    # Entry flows: every stage may be the start stage (backward moves restart there). Those to a later stage
    # leave the gateway's top and run above the stages, each at its own height, into the stage's top.
    for index, stage in enumerate(stages):
        cond = None if index == 0 else f'{p.START_STAGE} == "{stage["key"]}"'
        gw = doc.shapes["entry"]
        if index == 0:
            points = None
        else:
            level = ENTRY_LEVEL + 4 * (index % 6)
            tx = boxes[index].x + 30
            points = [(gw.x + GW / 2, gw.y), (gw.x + GW / 2, level), (tx, level), (tx, STAGE_Y)]
        doc.flow(pipeline, f"flow_entry_{stage['key']}", "entry", f"stage_{stage['key']}", cond, points)

    # Between stages: the next stage only, or a route gateway offering every later stage.
    for index, stage in enumerate(stages):
        source = f"stage_{stage['key']}"
        later = stages[index + 1 :]
        if not later:
            doc.flow(pipeline, f"flow_{stage['key']}_finish", source, "pipeline_end")
            continue
        if not allow_skip or len(later) == 1:
            # at the height of the rep's row, like every other flow along the pipeline
            gap = [(boxes[index].right, row1), (boxes[index + 1].x, row1)]
            doc.flow(pipeline, f"flow_{stage['key']}_{later[0]['key']}", source, f"stage_{later[0]['key']}",
                     waypoints=gap)
            continue
        route = f"route_{stage['key']}"
        box = boxes[index]
        doc.node(
            pipeline,
            "exclusiveGateway",
            route,
            "Next stage?",
            shape=Shape(box.right + 25, row1 - GW / 2, GW, GW),
            default=f"flow_{route}_{later[0]['key']}",
        )
        doc.flow(pipeline, f"flow_{stage['key']}route", source, route)
        for offset, target in enumerate(later):
            cond = None if offset == 0 else f'{p.TARGET_STAGE} == "{target["key"]}"'
            points = None
            if offset:
                gw = doc.shapes[route]
                level = SKIP_LEVEL + 4 * ((index + offset) % 7)
                tx = boxes[index + 1 + offset].x + 60 + 8 * index
                points = [(gw.x + GW / 2, gw.y), (gw.x + GW / 2, level), (tx, level), (tx, STAGE_Y)]
            doc.flow(pipeline, f"flow_{route}_{target['key']}", route, f"stage_{target['key']}", cond, points)
    return end_x + EVENT + 30


def _build_stage(
    doc: _Doc,
    pipeline: etree._Element,
    stage: dict,
    box: Shape,
    stage_tasks: dict[str, list[dict]],
    stage_sla: dict[str, str],
    required_fields: dict[str, list[str]],
    grid: _Grid,
) -> None:
    key = stage["key"]
    props = {p.STAGE: key}
    if stage.get("probability") is not None:
        props[p.PROBABILITY] = str(int(stage["probability"]))
    if required_fields.get(key):
        props[p.REQUIRED_FIELDS] = ",".join(required_fields[key])
    sub = doc.node(pipeline, "subProcess", f"stage_{key}", stage.get("name") or key, props=props, shape=box)
    tasks = stage_tasks.get(key, [])
    numbered = list(enumerate(tasks, start=1))
    required = [(n, t) for n, t in numbered if t.get("required", True)]
    optional = [(n, t) for n, t in numbered if not t.get("required", True)]
    row1 = grid.y("rep")

    def column(i: int) -> float:
        return box.x + PAD + i * STEP

    start = f"start_{key}"
    doc.node(sub, "startEvent", start, shape=_at(column(0), row1, EVENT, EVENT))
    prev, first = start, 1
    if optional:
        split = f"split_{key}"
        doc.node(sub, "parallelGateway", split, shape=_at(column(1), row1, GW, GW))
        doc.flow(sub, f"flow_{key}_split", prev, split)
        prev, first = split, 2
        # The optional branch shares the columns of the required tasks, on the optional rows of their lanes.
        oprev = split
        for i, (n, task) in enumerate(optional):
            tid = _task_node(doc, sub, f"task_{key}_{n}", task, oprev, column(first + i), grid)
            doc.flow(sub, f"flow_{key}_to_{n}", oprev, tid)
            oprev = tid
        oend = f"optional_end_{key}"
        orow = grid.y(optional[-1][1].get("role", "rep"), optional=True)
        doc.node(sub, "endEvent", oend, shape=_at(column(first + len(optional)), orow, EVENT, EVENT))
        doc.flow(sub, f"flow_{key}_optional_end", oprev, oend)
    for i, (n, task) in enumerate(required):
        tid = _task_node(doc, sub, f"task_{key}_{n}", task, prev, column(first + i), grid)
        doc.flow(sub, f"flow_{key}_to_{n}", prev, tid)
        prev = tid
    gate = f"gate_{key}"
    doc.node(
        sub,
        "userTask",
        gate,
        f"Complete {stage.get('name') or key}",
        props={p.GATE: "true", p.ROLE: "rep"},
        shape=_at(column(first + len(required)), row1, TASK_W, TASK_H),
    )
    doc.lanes.setdefault("rep", []).append(gate)
    doc.flow(sub, f"flow_{key}_gate", prev, gate)
    end = f"end_{key}"
    end_el = doc.node(
        sub, "endEvent", end, f"{stage.get('name') or key} done",
        shape=_at(column(first + len(required) + 1), row1, EVENT, EVENT),
    )
    # Terminate: ends this stage only, cancelling its optional branch (§8).
    etree.SubElement(end_el, _q("bpmn", "terminateEventDefinition"), id=f"end_{key}_def")
    doc.flow(sub, f"flow_{key}_done", gate, end)

    if stage_sla.get(key):
        # The SLA timer sits on the stage's bottom edge; its review task waits below, in the manager lane.
        sla = f"sla_{key}"
        bx = box.right - 90
        boundary = doc.node(
            pipeline,
            "boundaryEvent",
            sla,
            f"SLA {stage_sla[key]}",
            shape=Shape(bx, grid.stage_bottom - EVENT / 2, EVENT, EVENT),
            attachedToRef=f"stage_{key}",
            cancelActivity="false",
        )
        timer = etree.SubElement(boundary, _q("bpmn", "timerEventDefinition"), id=f"sla_{key}_def")
        duration = etree.SubElement(timer, _q("bpmn", "timeDuration"))
        duration.set(_q("xsi", "type"), "bpmn:tFormalExpression")
        duration.text = f'"{stage_sla[key]}"'
        review = f"review_{key}"
        cx = bx + EVENT / 2
        doc.node(
            pipeline,
            "userTask",
            review,
            f"Review stalled {stage.get('name') or key}",
            props={p.ROLE: "manager", p.OPTIONAL: "true"},
            shape=Shape(cx - TASK_W / 2, grid.review_y - TASK_H / 2, TASK_W, TASK_H),
        )
        doc.lanes.setdefault("manager", []).append(review)
        review_end = f"review_end_{key}"
        doc.node(pipeline, "endEvent", review_end,
                 shape=Shape(cx + TASK_W / 2 + 40, grid.review_y - EVENT / 2, EVENT, EVENT))
        b = doc.shapes[sla]
        doc.flow(
            pipeline,
            f"flow_{sla}",
            sla,
            review,
            waypoints=[(cx, b.y + EVENT), (cx, grid.review_y - TASK_H / 2)],
        )
        doc.flow(pipeline, f"flow_{review}_end", review, review_end)


def _build_stageless(doc: _Doc, pipeline: etree._Element, tasks: list[dict], pipe_x: float, grid: _Grid) -> float:
    row1 = grid.y("rep")

    def column(i: int) -> float:
        return pipe_x + PAD + i * STEP

    doc.node(pipeline, "startEvent", "pipeline_start", shape=_at(column(0), row1, EVENT, EVENT))
    prev = "pipeline_start"
    for n, task in enumerate(tasks, start=1):
        tid = _task_node(doc, pipeline, f"task_{n}", {**task, "required": True}, prev, column(n), grid)
        doc.flow(pipeline, f"flow_to_{n}", prev, tid)
        prev = tid
    # The outcome arrives only as a som.win / som.lose message; this wait keeps the pipeline open.
    last = len(tasks) + 1
    doc.node(
        pipeline,
        "userTask",
        "record_outcome",
        "Record outcome",
        props={p.WAIT: "true", p.ROLE: "rep"},
        shape=_at(column(last), row1, TASK_W, TASK_H),
    )
    doc.lanes.setdefault("rep", []).append("record_outcome")
    doc.flow(pipeline, "flow_to_record_outcome", prev, "record_outcome")
    doc.node(pipeline, "endEvent", "pipeline_end", shape=_at(column(last + 1), row1, EVENT, EVENT))
    doc.flow(pipeline, "flow_pipeline_end", "record_outcome", "pipeline_end")
    return max(column(last + 2), pipe_x + 400)


def _diagram(root: etree._Element, doc: _Doc, grid: _Grid, total_w: float, collab_id: str) -> None:
    diagram = etree.SubElement(root, _q("bpmndi", "BPMNDiagram"), id="diagram")
    plane = etree.SubElement(diagram, _q("bpmndi", "BPMNPlane"), id="plane", bpmnElement=collab_id)

    def shape(id_: str, s: Shape, horizontal: bool = False) -> None:
        el = etree.SubElement(plane, _q("bpmndi", "BPMNShape"), id=f"{id_}_di", bpmnElement=id_)
        if s.expanded:
            el.set("isExpanded", "true")
        if horizontal:
            el.set("isHorizontal", "true")
        etree.SubElement(el, _q("dc", "Bounds"), x=_n(s.x), y=_n(s.y), width=_n(s.w), height=_n(s.h))

    shape("pool", Shape(0, 0, total_w, grid.height), horizontal=True)
    for role in grid.roles:
        ly, lh = grid.lanes[role]
        shape(f"lane_{role}", Shape(LANE_X, ly, total_w - LANE_X, lh), horizontal=True)
    for id_ in doc.order:
        if id_ in doc.shapes:
            shape(id_, doc.shapes[id_])
        else:
            edge = etree.SubElement(plane, _q("bpmndi", "BPMNEdge"), id=f"{id_}_di", bpmnElement=id_)
            for px, py in doc.edges[id_]:
                etree.SubElement(edge, _q("di", "waypoint"), x=_n(px), y=_n(py))


def _n(value: float) -> str:
    return str(int(round(value)))


def without_lanes(xml: str) -> str:
    """The drawing without its lanes: roles come from each task's "Done by" (som.role), and a modeler recomputes lane
    membership from positions on every move, which would put the pipeline in a lane the admin never chose."""
    root = parse_xml(xml)
    lanes = root.findall(f".//{{{p.BPMN_NS}}}laneSet")
    ids = {lane.get("id") for lane_set in lanes for lane in lane_set.iter(f"{{{p.BPMN_NS}}}lane")}
    shapes = [s for s in root.iter(f"{{{p.BPMNDI_NS}}}BPMNShape") if s.get("bpmnElement") in ids]
    for node in lanes + shapes:
        node.getparent().remove(node)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()
