"""What the stage designer can hold of a kind, and what a kind's current version has, stage by stage.

The designer edits a stage list, task titles, roles, due dates and SLAs. A version uploaded as BPMN, or designed
through the API with task details the form has no field for (instructions, forms, actions), would lose parts
when saved from that form, so the designer shows such a kind read-only (the outline below) and refuses to save it.
"""

from __future__ import annotations

from lxml import etree
from sqlalchemy import select

from som_flow.engine import parse_xml, som_properties
from som_flow.engine import profile as p
from som_flow.errors import InvalidProcess
from som_flow.extensions import db
from som_flow.models import KindVersion, OpportunityKind, Stage

UPLOADED = ("This kind was uploaded as BPMN; the stage designer would lose parts of it. "
            "Edit it in the modeler or upload a new file.")
# task settings the designer's form shows; anything else set on a task is something a save from it would drop
_FORM_TASK_KEYS = frozenset({"title", "role", "due", "required"})
_TASK_TAGS = frozenset({"userTask", "manualTask", "task"})


def designer_refusal(kind: OpportunityKind | None) -> str | None:
    """Why the designer must show `kind` read-only (a sentence for the admin), or None when it can edit it."""
    version = kind.current_version if kind else None
    if version is None:
        return None
    design = version.definition
    if not design:
        return UPLOADED
    lost: list[str] = []
    catalog = set(db.session.scalars(select(Stage.key)))
    gone = [key for key in design.get("stages") or [] if key not in catalog]
    if gone:
        lost.append(f"stages no longer in the stage catalog ({', '.join(gone)})")
    tasks = design.get("stage_tasks") or {}
    if tasks.get(""):
        lost.append("tasks outside the stages")
    details = sorted({name for stage_tasks in tasks.values() for task in stage_tasks for name, value in task.items()
                      if name not in _FORM_TASK_KEYS and value not in (None, "", [], {})})
    if details:
        lost.append("task " + ", ".join(d.replace("_", " ") for d in details))
    if not lost:
        return None
    return (f"This kind was designed with {' and '.join(lost)}, which the stage designer cannot show; saving here "
            "would lose them. Edit it in the modeler or upload a new file.")


def version_outline(version: KindVersion | None) -> list[dict]:
    """A version's stages with their tasks, as it holds them: [{key, name, probability, sla, required_fields,
    tasks: [{title, role, due, required, gate, after_sla}]}] (a task's role is its som.role, as the engine
    hands it out); tasks outside any stage come last under key ""."""
    if version is None:
        return []
    stages = [{"key": s["key"], "name": s.get("name") or s["key"], "probability": s.get("probability"),
               "sla": s.get("sla"), "required_fields": list(s.get("required_fields") or []), "tasks": []}
              for s in version.stages or []]
    by_key = {s["key"]: s for s in stages}
    loose: list[dict] = []
    try:
        root = parse_xml(version.bpmn_xml)
    except InvalidProcess:  # a stored version was checked when stored; a broken one still shows its stages
        return stages
    rank = _flow_rank(root)
    overdue = _after_stage_timer(root)
    found = [el for el in root.iter(f"{{{p.BPMN_NS}}}*") if etree.QName(el).localname in _TASK_TAGS]
    # in the order work reaches them; of tasks reached together, the required ones first
    def order(el: etree._Element) -> tuple[int, bool]:
        return rank.get(el.get("id"), len(rank)), p.truthy(som_properties(el).get(p.OPTIONAL))

    for el in sorted(found, key=order):
        props = som_properties(el)
        if p.truthy(props.get(p.WAIT)):
            continue  # the stageless wait is the process's own plumbing, not work for anyone
        stage = _stage_of(el) or overdue.get(el.get("id"))
        task = {"title": el.get("name") or el.get("id", ""), "role": props.get(p.ROLE) or p.DEFAULT_ROLE,
                "due": props.get(p.DUE) or "", "required": not p.truthy(props.get(p.OPTIONAL)),
                "gate": p.truthy(props.get(p.GATE)), "after_sla": el.get("id") in overdue}
        (by_key[stage]["tasks"] if stage in by_key else loose).append(task)
    if loose:
        stages.append({"key": "", "name": "Tasks outside the stages" if stages else "Tasks", "probability": None,
                       "sla": None, "required_fields": [], "tasks": loose})
    return stages


def _flow_rank(root: etree._Element) -> dict[str, int]:
    """Each flow node's distance (in sequence flows) from a start event, so tasks list in the order they come."""
    targets: dict[str, list[str]] = {}
    for flow in root.iter(f"{{{p.BPMN_NS}}}sequenceFlow"):
        targets.setdefault(flow.get("sourceRef", ""), []).append(flow.get("targetRef", ""))
    todo = [el.get("id") for el in root.iter(f"{{{p.BPMN_NS}}}startEvent")]
    rank = dict.fromkeys(todo, 0)
    while todo:
        node = todo.pop(0)
        for target in targets.get(node, []):
            if target not in rank:
                rank[target] = rank[node] + 1
                todo.append(target)
    return rank


def _after_stage_timer(root: etree._Element) -> dict[str, str]:
    """Tasks that a stage's SLA timer starts (a boundary event on the stage, one flow away): task id -> stage key."""
    stage_of_sub = {el.get("id"): som_properties(el)[p.STAGE] for el in root.iter(f"{{{p.BPMN_NS}}}subProcess")
                    if som_properties(el).get(p.STAGE)}
    stage_of_event = {b.get("id"): stage_of_sub[b.get("attachedToRef")]
                      for b in root.iter(f"{{{p.BPMN_NS}}}boundaryEvent") if b.get("attachedToRef") in stage_of_sub}
    return {flow.get("targetRef", ""): stage_of_event[flow.get("sourceRef")]
            for flow in root.iter(f"{{{p.BPMN_NS}}}sequenceFlow") if flow.get("sourceRef") in stage_of_event}


def _stage_of(el: etree._Element) -> str | None:
    """The key of the stage subprocess `el` sits in, if any."""
    parent = el.getparent()
    while parent is not None:
        if etree.QName(parent).localname == "subProcess" and som_properties(parent).get(p.STAGE):
            return som_properties(parent)[p.STAGE]
        parent = parent.getparent()
    return None


def same_design(stored: dict | None, design: dict) -> bool:
    """Whether two designer inputs build the same process: the kind's name and offering live on the kind."""
    if not stored:
        return False
    kind_level = {"key", "name", "allowed", "record_initial_request"}
    return ({k: v for k, v in stored.items() if k not in kind_level}
            == {k: v for k, v in design.items() if k not in kind_level})
