"""The follow-on builder: a list of the office's tasks → the BPMN of a job's own work (a kind's follow-on).

One task after another, start to end, with left-to-right BPMNDI so bpmn-js draws it:

    start "Deal won with a job" → task 1 → task 2 → … → end "Job's work done"

drawn in a pool with a lane per role used (a picture of `som.role`, which alone says who does a task), each
task in its own column in its role's lane, so flows bend only in the gaps between columns.

Each task carries `som.role` (who does it), and optionally `som.due`, `som.instructions`, `som.form` and
`som.action`. Ids come from the key and the task positions, so the same input always gives the same bytes
(the shipped file in `bpmn/` is checked against the builder in a test).
"""

from __future__ import annotations

import re

from lxml import etree

from som_flow.engine import profile as p
from som_flow.errors import ValidationFailed
from som_flow.i18n import gettext
from som_flow.processes.builder import LANE_ORDER, NSMAP, Shape, route

_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_X0, _LANE_X, _LANE_H = 70, 30, 120
_TASK_W, _TASK_H, _EVENT, _STEP = 100, 80, 36, 150


def _q(ns: str, tag: str) -> str:
    return f"{{{NSMAP[ns]}}}{tag}"


def _check(key: str, tasks: list[dict]) -> None:
    errors: dict[str, list[str]] = {}
    if not _KEY.match(key or ""):
        errors["key"] = ["Use lower-case letters, digits, '-' or '_', starting with a letter (at most 40)."]
    for task in tasks:
        if not (task.get("title") or "").strip():
            errors.setdefault("tasks", []).append("every task needs a title")
        if task.get("role", "office") not in p.ROLES:
            errors.setdefault("tasks", []).append(f"unknown role {task.get('role')!r}")
        if task.get("action") and task["action"] not in p.ACTIONS:
            errors.setdefault("tasks", []).append(f"unknown action {task['action']!r}")
    if errors:
        raise ValidationFailed(gettext("The job's process cannot be built"), errors=errors)


def build_follow_on_bpmn(key: str, name: str, tasks: list[dict]) -> str:
    """The BPMN of a job's work: `tasks` ({title, role?, due?, instructions?, form?, action?}) one after another.

    Raises ValidationFailed for a bad key, an empty title, an unknown role or action."""
    _check(key, tasks)
    ident = key.replace("-", "_")
    root = etree.Element(_q("bpmn", "definitions"), nsmap=NSMAP)
    root.set("id", f"defs_{ident}")
    root.set("targetNamespace", "http://som-flow.example/bpmn")
    root.set("exporter", "som_flow follow-on builder")
    root.set("exporterVersion", "1")
    process_id = f"som_{ident}"
    collab = etree.SubElement(root, _q("bpmn", "collaboration"), id=f"collab_{ident}")
    etree.SubElement(collab, _q("bpmn", "participant"), id="pool", name=name, processRef=process_id)
    process = etree.SubElement(root, _q("bpmn", "process"), id=process_id, name=name, isExecutable="true")
    lane_set = etree.SubElement(process, _q("bpmn", "laneSet"), id="lanes")
    roles = [r for r in LANE_ORDER if any(t.get("role", "office") == r for t in tasks)] or ["office"]
    lane_of: dict[str, str] = {}
    nodes: list[tuple[str, str]] = [("startEvent", "start")]
    etree.SubElement(process, _q("bpmn", "startEvent"), id="start", name="Deal won with a job")
    lane_of["start"] = tasks[0].get("role", "office") if tasks else roles[0]
    for i, task in enumerate(tasks, start=1):
        el = etree.SubElement(process, _q("bpmn", "userTask"), id=f"task_{i}", name=task["title"].strip())
        props = {p.ROLE: task.get("role", "office")}
        for prop, field in ((p.DUE, "due"), (p.INSTRUCTIONS, "instructions"), (p.ACTION, "action")):
            if task.get(field):
                props[prop] = str(task[field])
        if task.get("form"):
            props[p.FORM] = ",".join(task["form"])
        ext = etree.SubElement(el, _q("bpmn", "extensionElements"))
        holder = etree.SubElement(ext, _q("spiffworkflow", "properties"))
        for prop, value in props.items():
            etree.SubElement(holder, _q("spiffworkflow", "property"), name=prop, value=value)
        nodes.append(("userTask", f"task_{i}"))
        lane_of[f"task_{i}"] = props[p.ROLE]
    etree.SubElement(process, _q("bpmn", "endEvent"), id="end", name="Job's work done")
    nodes.append(("endEvent", "end"))
    lane_of["end"] = lane_of[nodes[-2][1]]
    flows = [(f"flow_{i}", a[1], b[1]) for i, (a, b) in enumerate(zip(nodes, nodes[1:], strict=False), start=1)]
    for flow_id, source, target in flows:
        etree.SubElement(process, _q("bpmn", "sequenceFlow"), id=flow_id, sourceRef=source, targetRef=target)
    for role in roles:
        lane = etree.SubElement(lane_set, _q("bpmn", "lane"), id=f"lane_{role}", name=role)
        for _tag, node_id in nodes:
            if lane_of[node_id] == role:
                etree.SubElement(lane, _q("bpmn", "flowNodeRef")).text = node_id

    diagram = etree.SubElement(root, _q("bpmndi", "BPMNDiagram"), id="diagram")
    plane = etree.SubElement(diagram, _q("bpmndi", "BPMNPlane"), id="plane", bpmnElement=f"collab_{ident}")
    width = _X0 + len(nodes) * _STEP
    _bounds(plane, "pool", Shape(0, 0, width, len(roles) * _LANE_H), horizontal=True)
    for index, role in enumerate(roles):
        _bounds(plane, f"lane_{role}", Shape(_LANE_X, index * _LANE_H, width - _LANE_X, _LANE_H), horizontal=True)
    boxes: dict[str, Shape] = {}
    for i, (tag, node_id) in enumerate(nodes):
        w, h = (_TASK_W, _TASK_H) if tag == "userTask" else (_EVENT, _EVENT)
        cy = roles.index(lane_of[node_id]) * _LANE_H + _LANE_H / 2
        boxes[node_id] = Shape(_X0 + i * _STEP + (_TASK_W - w) / 2, cy - h / 2, w, h)
        _bounds(plane, node_id, boxes[node_id])
    for flow_id, source, target in flows:
        edge = etree.SubElement(plane, _q("bpmndi", "BPMNEdge"), id=f"{flow_id}_di", bpmnElement=flow_id)
        for x, y in route(boxes[source], boxes[target]):
            etree.SubElement(edge, _q("di", "waypoint"), x=_n(x), y=_n(y))
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()


def _bounds(plane: etree._Element, id_: str, s: Shape, horizontal: bool = False) -> None:
    el = etree.SubElement(plane, _q("bpmndi", "BPMNShape"), id=f"{id_}_di", bpmnElement=id_)
    if horizontal:
        el.set("isHorizontal", "true")
    etree.SubElement(el, _q("dc", "Bounds"), x=_n(s.x), y=_n(s.y), width=_n(s.w), height=_n(s.h))


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
