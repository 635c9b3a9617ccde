"""The builders' drawings can be read: no sequence flow runs through a shape or a label it does not start or end
at, bent flows leave the side of the source that faces the target, and each task sits in its role's lane.

Everything is computed from the BPMNDI the builders write, the way bpmn-js draws it (an event's or gateway's
label is a 90x20 box centred under it when the file gives no label bounds; an expanded subprocess's name is
drawn inside it, centred at its top)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from lxml import etree

from som_flow.engine import parse_xml
from som_flow.engine import profile as p
from som_flow.processes import build_kind_bpmn, validate_bpmn
from som_flow.processes.job_builder import build_follow_on_bpmn
from som_flow.processes.kinds import FOUR_STAGES, SHIPPED, SHIPPED_FOLLOW_ONS
from som_flow.processes.ship import shipped_path

NS = {"bpmn": p.BPMN_NS, "bpmndi": p.BPMNDI_NS, "dc": p.DC_NS, "di": p.DI_NS, "spiffworkflow": p.SPIFF_NS}
LABEL_W, LABEL_H = 90, 20  # bpmn-js DEFAULT_LABEL_SIZE
_LABELLED = ("startEvent", "endEvent", "boundaryEvent", "intermediateCatchEvent", "exclusiveGateway",
             "parallelGateway", "inclusiveGateway", "eventBasedGateway")


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    def cut_by(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """Does segment a-b pass through this box's inside (running along or touching its border does not count)?"""
        x0, y0, x1, y1 = self.x + 1, self.y + 1, self.x + self.w - 1, self.y + self.h - 1
        if x0 >= x1 or y0 >= y1:
            return False
        # Liang-Barsky clipping of the segment against the shrunken box.
        dx, dy = b[0] - a[0], b[1] - a[1]
        low, high = 0.0, 1.0
        for step, room in ((-dx, a[0] - x0), (dx, x1 - a[0]), (-dy, a[1] - y0), (dy, y1 - a[1])):
            if step == 0:
                if room < 0:
                    return False
                continue
            t = room / step
            if step < 0:
                low = max(low, t)
            else:
                high = min(high, t)
            if low > high:
                return False
        return high - low > 1e-9

    def holds(self, other: Box) -> bool:
        return (self.x <= other.x and self.y <= other.y and other.x + other.w <= self.x + self.w
                and other.y + other.h <= self.y + self.h)


def _local(el) -> str:
    return etree.QName(el).localname


def _drawing(xml: str):
    """(shapes, labels, flows, containers, tasks, lanes) of a document, by element id."""
    root = parse_xml(xml)
    shapes = {}
    for di in root.iterfind(".//bpmndi:BPMNShape", NS):
        b = di.find("dc:Bounds", NS)
        shapes[di.get("bpmnElement")] = Box(*(float(b.get(k)) for k in ("x", "y", "width", "height")))
    edges = {di.get("bpmnElement"): [(float(w.get("x")), float(w.get("y"))) for w in di.iterfind("di:waypoint", NS)]
             for di in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    process = root.find("bpmn:process", NS)
    labels, inner_labels, containers, tasks, flows = {}, {}, {}, {}, {}
    for el in process.iter():
        if not isinstance(el.tag, str) or not el.get("id"):
            continue
        kind, id_ = _local(el), el.get("id")
        containers[id_] = {a.get("id") for a in el.iterancestors(f"{{{p.BPMN_NS}}}subProcess")}
        if kind in _LABELLED and el.get("name") and id_ in shapes:
            s = shapes[id_]
            labels[id_] = Box(s.x + s.w / 2 - LABEL_W / 2, s.y + s.h, LABEL_W, LABEL_H)
        if kind == "subProcess" and el.get("name") and id_ in shapes:
            # an expanded subprocess's name is drawn inside it, centred at the top (about 7 px a character)
            s, width = shapes[id_], 7 * len(el.get("name"))
            inner_labels[id_] = Box(s.x + s.w / 2 - width / 2, s.y + 5, width, 15)
        if kind == "userTask":
            role = el.find(f".//spiffworkflow:property[@name='{p.ROLE}']", NS)
            tasks[id_] = role.get("value") if role is not None else "rep"
        if kind == "sequenceFlow":
            flows[id_] = (el.get("sourceRef"), el.get("targetRef"), edges[id_])
    lanes = {lane.get("name"): shapes[lane.get("id")] for lane in process.iterfind(".//bpmn:lane", NS)}
    lane_shapes = {lane.get("id") for lane in process.iterfind(".//bpmn:lane", NS)}
    shapes = {k: v for k, v in shapes.items() if k in containers and k not in lane_shapes}
    return shapes, labels | {f"{k} (its name)": v for k, v in inner_labels.items()}, flows, containers, tasks, lanes


def crossings(xml: str) -> list[str]:
    """Every flow segment that runs through a shape or a label that is not its flow's own source, target or a
    container of them (a subprocess's name drawn inside it counts for every flow); and every segment that runs
    through its own source or target."""
    shapes, labels, flows, containers, _, _ = _drawing(xml)
    found = []
    for flow_id, (source, target, points) in flows.items():
        own = {source, target} | containers[source] | containers[target]
        for a, b in zip(points, points[1:], strict=False):
            for id_, box in shapes.items():
                if id_ in containers[source] or id_ in containers[target]:
                    continue
                if box.cut_by(a, b):
                    found.append(f"{flow_id} {a}->{b} crosses {id_}")
            for id_, box in labels.items():
                if id_ not in own and box.cut_by(a, b):  # a subprocess's own name counts even for its flows
                    found.append(f"{flow_id} {a}->{b} crosses the label of {id_}")
    return found


def flows_leaving_away_from_their_target(xml: str) -> list[str]:
    """Flows whose first point is not on the side of the source that faces where the flow ends."""
    shapes, _, flows, _, _, _ = _drawing(xml)
    found = []
    for flow_id, (source, _target, points) in flows.items():
        box, (x, y), (ex, ey) = shapes[source], points[0], points[-1]
        sides = {"left": (abs(x - box.x) < 1, ex <= box.x), "right": (abs(x - box.x - box.w) < 1, ex >= box.x + box.w),
                 "top": (abs(y - box.y) < 1, ey <= box.y), "bottom": (abs(y - box.y - box.h) < 1, ey >= box.y + box.h)}
        on = [side for side, (here, _) in sides.items() if here]
        if not on or not any(sides[side][1] for side in on):
            found.append(f"{flow_id} leaves {source} at {(x, y)} ({', '.join(on) or 'not its border'}) "
                         f"but ends at {(ex, ey)}")
    return found


def misplaced_tasks(xml: str) -> list[str]:
    shapes, _, _, _, tasks, lanes = _drawing(xml)
    return [f"{task} ({role}) is not inside the {role} lane" for task, role in tasks.items()
            if role not in lanes or not lanes[role].holds(shapes[task])]


MIXED = {
    "lead": [
        {"title": "Assign a sales rep", "role": "csr", "done_by": "assignment"},
        {"title": "Call", "role": "rep"},
        {"title": "Book a visit", "role": "rep", "required": False, "action": "schedule_appointment"},
        {"title": "Send a brochure", "role": "office", "required": False},
        {"title": "Approve the discount", "role": "manager"},
    ],
    "qualification": [
        {"title": "Check credit", "role": "csr", "required": False},
        {"title": "Visit", "role": "scheduler"},
    ],
    "proposal": [{"title": "Estimate", "role": "rep"}, {"title": "Review estimate", "role": "manager"}],
}
DESIGNED = {
    "standard": {"key": "std", "name": "Std", "type": "standard", "stages": FOUR_STAGES, "stage_tasks": MIXED,
                 "stage_sla": {"lead": "P2D", "proposal": "P14D"}},
    "custom": {"key": "cust", "name": "Cust", "type": "custom", "stages": FOUR_STAGES, "allow_skip": True,
               "allow_back": True, "stage_tasks": MIXED, "stage_sla": {"qualification": "P7D", "negotiation": "P1D"},
               "required_fields": {"proposal": ["amount"]}},
    "custom-bare": {"key": "bare", "name": "Bare", "type": "custom", "allow_skip": True, "allow_back": True,
                    "stages": [{"key": "a", "name": "A"}, {"key": "b", "name": "B"}, {"key": "c", "name": "C"}]},
    "stageless": {"key": "free", "name": "Free", "type": "stageless", "stages": [],
                  "stage_tasks": {"": [{"title": "Call", "role": "csr"}, {"title": "Visit", "role": "rep"},
                                       {"title": "Invoice", "role": "office"}]}},
}
DIAGRAMS = {
    **{f"shipped {key}": (lambda key=key: shipped_path(key).read_text("utf-8")) for key in SHIPPED},
    **{f"shipped {key}": (lambda key=key: shipped_path(key).read_text("utf-8")) for key in SHIPPED_FOLLOW_ONS},
    **{f"designed {name}": (lambda kw=kw: build_kind_bpmn(**kw)) for name, kw in DESIGNED.items()},
    "designed job-order": lambda: build_follow_on_bpmn("jobs", "Jobs", [
        {"title": "Order", "role": "office"}, {"title": "Plan", "role": "scheduler"},
        {"title": "Check", "role": "manager"}, {"title": "Confirm", "role": "office"}]),
}


@pytest.mark.parametrize("diagram", sorted(DIAGRAMS))
def test_no_flow_runs_through_a_shape_or_a_label(diagram):
    assert crossings(DIAGRAMS[diagram]()) == []


@pytest.mark.parametrize("diagram", sorted(DIAGRAMS))
def test_every_flow_leaves_the_side_of_its_source_that_faces_its_target(diagram):
    assert flows_leaving_away_from_their_target(DIAGRAMS[diagram]()) == []


@pytest.mark.parametrize("diagram", sorted(DIAGRAMS))
def test_every_task_is_drawn_inside_its_roles_lane(diagram):
    assert misplaced_tasks(DIAGRAMS[diagram]()) == []


@pytest.mark.parametrize("name", sorted(DESIGNED))
def test_designed_kinds_with_every_role_stay_valid(name):
    validate_bpmn(build_kind_bpmn(**DESIGNED[name]))


def test_the_checks_see_a_flow_through_a_task_and_a_task_in_the_wrong_lane():
    """The two measures above are not vacuous: a detour through a task and a csr task moved up are both seen."""
    xml = shipped_path("standard-sale").read_text("utf-8")
    shapes, _, flows, _, _, lanes = _drawing(xml)
    task = shapes["task_lead_2"]
    source, _, points = flows["flow_lead_to_2"]
    through = f'<di:waypoint x="{int(points[0][0])}" y="{int(points[0][1])}"/>'
    detour = through + f'<di:waypoint x="{int(task.x + task.w + 60)}" y="{int(task.y + task.h / 2)}"/>'
    assert crossings(xml.replace(through, detour, 1)) != []
    # the pipeline's flow to "Won" leaving from the pipeline's top (as bent flows once did) is seen too
    won = flows["flow_pipeline_won"][2]
    pipeline = shapes["pipeline"]
    first = f'<di:waypoint x="{int(won[0][0])}" y="{int(won[0][1])}"/>'
    from_top = (f'<di:waypoint x="{int(pipeline.x + pipeline.w / 2)}" y="{int(pipeline.y)}"/>'
                f'<di:waypoint x="{int(pipeline.x + pipeline.w / 2)}" y="{int(won[0][1])}"/>')
    assert flows_leaving_away_from_their_target(xml.replace(first, from_top, 1)) != []
    csr = shapes["task_lead_1"]
    moved = xml.replace(f'<dc:Bounds x="{int(csr.x)}" y="{int(csr.y)}"',
                        f'<dc:Bounds x="{int(csr.x)}" y="{int(lanes["rep"].y + 10)}"', 1)
    assert misplaced_tasks(moved) == ["task_lead_1 (csr) is not inside the csr lane"]
