"""Reading what BPMN modelers write: BPMN drawn in Camunda Modeler, the Zeebe modeler or bpmn.io, turned into the
som_flow profile before it is checked.

What a modeler writes differs from what the engine reads in four ways, each translated here and said in a sentence
the admin sees on the stored version:
- som properties written as `camunda:properties` or `zeebe:properties` (their properties panels) become
  `spiffworkflow:properties`; the three are equivalent, and two that disagree on one element are refused; a
  task's candidate group that is one som_flow role is its som.role;
- a Camunda form (`camunda:formData`) or an inline Zeebe form (Camunda Forms JSON) defines a task's `som.form`
  when the task has none;
- a timer written bare, `P14D` as modelers write it, becomes the quoted text the expression evaluator reads
  (unquoted it would be taken for a data name and fail only when a deal reaches it);
- a process drawn with its stages but without the pipeline, or without the lose/win boundary messages, gets
  them (with messages, outcome end events and diagram shapes): the admin draws stages and tasks, the
  profile's plumbing is ours.
Nothing is evaluated or run: the text is parsed with the engine's safe parser and only rearranged.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from lxml import etree

from som_flow.engine import FormSpecError, parse_xml, som_properties
from som_flow.engine import profile as p
from som_flow.errors import InvalidProcess
from som_flow.i18n import gettext
from som_flow.processes.builder import form_fields

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
# where a modeler keeps properties, by the name an admin knows it by
PROPERTY_SOURCES = {"camunda:properties": CAMUNDA_NS, "zeebe:properties": ZEEBE_NS}
SOM_PREFIX = "som."

# Camunda 7 form field types → som.form types (anything else is read as text)
CAMUNDA_FIELD_TYPES = {"boolean": "yesno", "long": "number", "date": "date", "enum": "choice", "string": "text"}
# Camunda Forms (Zeebe) component types → som.form types; components without an answer (text, button) are skipped
ZEEBE_FIELD_TYPES = {"textfield": "text", "textarea": "text", "number": "number", "checkbox": "yesno",
                     "select": "choice", "radio": "choice", "datetime": "date"}

_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = rf"P(?!$)(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?"
_DATE_TIME = r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_BARE_TIMER = re.compile(
    rf"^(?:{_DURATION}|{_DATE_TIME}|R\d*/(?:(?:{_DATE_TIME})/)?{_DURATION}(?:/{_DATE_TIME})?)$")

_EVENT, _TASK_GAP = 36, 60
_MAX_SHOWN = 80  # characters of an id or a value quoted in a refusal


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _b(tag: str) -> str:
    return _q(p.BPMN_NS, tag)


def read_modeler_bpmn(xml: str, *, plumbing: bool = True) -> tuple[str, list[str]]:
    """`xml` as som_flow stores it, and sentences saying what was read or added (none: `xml` comes back as it was).

    `plumbing=False` leaves out the pipeline and its boundaries (a job's follow-on process has neither). Raises
    InvalidProcess naming the element when what a modeler wrote cannot be read (two property sources disagree, a
    form field has no usable name): the upload is refused whole, as any other refusal."""
    root = parse_xml(xml)
    errors: dict[str, list[str]] = {}
    notes = _read_properties(root, errors)
    notes += _read_roles(root)
    notes += _read_forms(root, errors)
    if errors:
        errors = {_short(element): reasons for element, reasons in errors.items()}
        first, reasons = next(iter(errors.items()))
        raise InvalidProcess(gettext("What the modeler wrote cannot be read: %(first)s: %(value)s", first=first,
                                     value=reasons[0]), errors=errors)
    notes += _read_timers(root)
    if plumbing:
        notes += _add_plumbing(root)
    if not notes:
        return xml, []
    tree = root.getroottree()
    # declare the profile's prefix once at the top, as the builder's files do, instead of on every element
    etree.cleanup_namespaces(tree, top_nsmap={"spiffworkflow": p.SPIFF_NS})
    etree.indent(tree, space="  ")  # what was added reads like the rest when the admin opens the stored text
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8").decode("utf-8"), notes


# -- properties ------------------------------------------------------------------------------------------------
def set_som_properties(el: etree._Element, values: dict[str, str]) -> None:
    """Add or replace `spiffworkflow:properties` entries of an element (its extensionElements made if needed)."""
    ext = el.find(_b("extensionElements"))
    if ext is None:
        ext = etree.Element(_b("extensionElements"))
        el.insert(_after_documentation(el), ext)  # the schema wants documentation, then extensionElements
    holder = ext.find(_q(p.SPIFF_NS, "properties"))
    if holder is None:
        holder = etree.SubElement(ext, _q(p.SPIFF_NS, "properties"))
    for name, value in values.items():
        prop = next((x for x in holder.iterfind(_q(p.SPIFF_NS, "property")) if x.get("name") == name), None)
        if prop is None:
            prop = etree.SubElement(holder, _q(p.SPIFF_NS, "property"), name=name)
        prop.set("value", value)


def _after_documentation(el: etree._Element) -> int:
    return sum(1 for child in el if child.tag == _b("documentation"))


def _read_properties(root: etree._Element, errors: dict[str, list[str]]) -> list[str]:
    """Move som.* properties from camunda:/zeebe:properties into spiffworkflow:properties, refusing disagreement."""
    read: dict[str, list[str]] = {source: [] for source in PROPERTY_SOURCES}
    for ext in list(root.iter(_b("extensionElements"))):
        owner = ext.getparent()
        owner_id = owner.get("id") or "document"
        found: dict[str, dict[str, set[str]]] = {}  # name -> source -> values
        for name, value in som_properties(owner).items():
            found.setdefault(name, {}).setdefault("spiffworkflow:properties", set()).add(value)
        moved: dict[str, str] = {}
        for source, ns in PROPERTY_SOURCES.items():
            for holder in ext.iterfind(_q(ns, "properties")):
                for prop in list(holder.iterfind(_q(ns, "property"))):
                    name = (prop.get("name") or "").strip()
                    if not name.startswith(SOM_PREFIX):
                        continue  # the modeler's own settings: left as they are
                    found.setdefault(name, {}).setdefault(source, set()).add(prop.get("value") or "")
                    moved[name] = prop.get("value") or ""
                    holder.remove(prop)
                    if owner_id not in read[source]:
                        read[source].append(owner_id)
                if len(holder) == 0:
                    ext.remove(holder)
        for name, by_source in found.items():
            values = {v for vs in by_source.values() for v in vs}
            if len(values) > 1:
                said = "; ".join(f"{source} says {' and '.join(repr(_short(v)) for v in sorted(vs))}"
                                 for source, vs in by_source.items())
                errors.setdefault(owner_id, []).append(
                    f"{name} is given different values ({said}): keep one of them")
        if moved:
            have = som_properties(owner)
            set_som_properties(owner, {k: v for k, v in moved.items() if k not in have})
    return [f"Read {source} as som properties on {_listed(ids)}" for source, ids in read.items() if ids]


# -- roles -----------------------------------------------------------------------------------------------------
def _read_roles(root: etree._Element) -> list[str]:
    """A user task without som.role whose candidate group (Camunda's `camunda:candidateGroups`, Zeebe's
    `zeebe:assignmentDefinition candidateGroups`) is one som_flow role takes it as its som.role. Other groups are
    the modeler's business: the default (rep) decides, as for any task (lanes are only a picture)."""
    read: list[str] = []
    for task in root.iter(_b("userTask")):
        if som_properties(task).get(p.ROLE):
            continue
        assignment = task.find(f"{_b('extensionElements')}/{_q(ZEEBE_NS, 'assignmentDefinition')}")
        groups = task.get(_q(CAMUNDA_NS, "candidateGroups")) or (
            assignment.get("candidateGroups") if assignment is not None else None) or ""
        named = [g.strip().lower() for g in groups.split(",") if g.strip()]
        if len(named) == 1 and named[0] in p.ROLES:
            set_som_properties(task, {p.ROLE: named[0]})
            read.append(f"{task.get('id') or 'document'} ({named[0]})")
    return [f"Read the candidate group as the som.role of {_listed(read)}"] if read else []


# -- forms -----------------------------------------------------------------------------------------------------
def _read_forms(root: etree._Element, errors: dict[str, list[str]]) -> list[str]:
    """A task without som.form (and not done by an assignment) takes its Camunda form fields, or the fields of its
    inline Zeebe form."""
    read: dict[str, list[str]] = {"Camunda form fields": [], "the Zeebe form": []}
    zeebe_forms = {
        form.get("id"): form.text or "" for form in root.iter(_q(ZEEBE_NS, "userTaskForm")) if form.get("id")}
    for task in root.iter(_b("userTask")):
        props = som_properties(task)
        # a task done by an assignment asks nothing: its modeler form stays the modeler's data
        if props.get(p.FORM, "").strip() or props.get(p.DONE_BY):
            continue
        task_id = task.get("id") or "document"
        ext = task.find(_b("extensionElements"))
        if ext is None:
            continue
        items, source = _camunda_form(ext), "Camunda form fields"
        if not items:
            items, source = _zeebe_form(ext, zeebe_forms, task_id, errors), "the Zeebe form"
        if not items:
            continue
        try:
            spec = ", ".join(f.spec() for f in form_fields(items))
        except FormSpecError as exc:
            errors.setdefault(task_id, []).append(f"{source}: {exc}")
            continue
        set_som_properties(task, {p.FORM: spec})
        read[source].append(task_id)
    return [f"Read {source} as the som.form of {_listed(ids)}" for source, ids in read.items() if ids]


def _label(text: str | None) -> str | None:
    # a som.form label is quoted text: quotes inside become apostrophes rather than refusing the form
    text = (text or "").strip().replace('"', "'")[:200]
    return text or None


def _camunda_form(ext: etree._Element) -> list[dict]:
    items = []
    for field in ext.iterfind(f"{_q(CAMUNDA_NS, 'formData')}/{_q(CAMUNDA_NS, 'formField')}"):
        kind = CAMUNDA_FIELD_TYPES.get((field.get("type") or "string").strip(), "text")
        choices = [v.get("id") or "" for v in field.iterfind(_q(CAMUNDA_NS, "value"))] if kind == "choice" else []
        items.append({"name": field.get("id"), "type": kind, "choices": choices, "label": _label(field.get("label"))})
    return items


def _zeebe_form(ext: etree._Element, forms: dict[str, str], task_id: str, errors: dict[str, list[str]]) -> list[dict]:
    definition = ext.find(_q(ZEEBE_NS, "formDefinition"))
    key = (definition.get("formKey") or "") if definition is not None else ""
    form_id = key.rsplit(":", 1)[-1] if key.startswith("camunda-forms:bpmn:") else None
    if form_id is None or form_id not in forms:
        return []  # a linked or external form: nothing here to read
    try:
        form = json.loads(forms[form_id])
    except (ValueError, RecursionError):  # a form nested a thousand deep is no form either
        errors.setdefault(task_id, []).append(f"the Zeebe form {form_id} is not readable JSON")
        return []
    items = []
    for component in _components(form):
        kind = ZEEBE_FIELD_TYPES.get(str(component.get("type")))
        if kind is None or not component.get("key"):
            continue
        if component.get("type") == "datetime" and component.get("subtype") not in (None, "date"):
            kind = "text"  # a time of day has no som.form type
        values = component.get("values") if isinstance(component.get("values"), list) else []
        choices = [str(v.get("value")) for v in values if isinstance(v, dict)] if kind == "choice" else []
        items.append({"name": component.get("key"), "type": kind, "choices": choices,
                      "label": _label(str(component.get("label") or ""))})
    return items


def _components(node: object, depth: int = 0) -> list[dict]:
    """Every component of a Camunda Forms document, groups opened (bounded: the file is at most 1 MiB anyway)."""
    if not isinstance(node, dict) or depth > 10:
        return []
    found = []
    components = node.get("components")
    for component in components if isinstance(components, list) else []:
        if isinstance(component, dict):
            found.append(component)
            found.extend(_components(component, depth + 1))
    return found


# -- timers ----------------------------------------------------------------------------------------------------
def _read_timers(root: etree._Element) -> list[str]:
    """A bare ISO 8601 duration, date-time or cycle becomes the quoted text the evaluator reads."""
    read: list[str] = []
    kinds = tuple(_b(k) for k in ("timeDuration", "timeDate", "timeCycle"))
    for timer in root.iter(_b("timerEventDefinition")):
        for expr in timer.iterchildren(*kinds):
            value = (expr.text or "").strip()
            if len(value) <= _MAX_SHOWN and _BARE_TIMER.match(value):
                expr.text = f'"{value}"'
                owner = next((a.get("id") for a in timer.iterancestors() if a.get("id")), "document")
                read.append(f"{owner} ({value})")
    return [f"Read the timers written bare as ISO 8601 text: {_listed(read)}"] if read else []


# -- the profile's plumbing: the pipeline, its lose/win boundaries and the outcome ends -------------------------
@dataclass
class _Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def _add_plumbing(root: etree._Element) -> list[str]:
    processes = root.findall(_b("process"))
    if len(processes) != 1:
        return []  # which process is meant is the validation's question, answered with its own reason
    process = processes[0]
    pipelines = [sp for sp in process.iter(_b("subProcess")) if p.truthy(som_properties(sp).get(p.PIPELINE))]
    notes: list[str] = []
    if not pipelines:
        stages = [sp for sp in process.iterfind(_b("subProcess")) if som_properties(sp).get(p.STAGE)]
        if not stages:
            return []  # nothing drawn that says it is a sale: the validation says what is missing
        _refuse_lost_ends(process)
        pipelines = [_wrap_in_pipeline(root, process)]
        names = [sp.get("name") or som_properties(sp)[p.STAGE] for sp in stages]
        moved = [name for name in (p.ALLOW_BACK, p.ALLOW_EARLY_WIN) if name in som_properties(pipelines[0])]
        notes.append(f"Added the pipeline subprocess around the stages {', '.join(names)}, with a start event "
                     "before it and the Won end after it"
                     + (f"; moved {' and '.join(moved)} from the process onto it" if moved else ""))
    if len(pipelines) == 1:
        for label, message, outcome in (("lose", p.MESSAGE_LOSE, "lost"), ("win", p.MESSAGE_WIN, "won")):
            if not _has_boundary(root, pipelines[0], message):
                _add_boundary(root, pipelines[0], label, message, outcome)
                notes.append(f"Added the boundary message {message} on the pipeline ({label} from any stage), "
                             f"ending in the {outcome.title()} outcome")
    return notes


def _refuse_lost_ends(process: etree._Element) -> None:
    """An end marked lost among the drawn stages would end the added pipeline, and the pipeline's end is Won: the
    deal would be won where the admin drew it lost. Refused naming the ends, with what to draw instead."""
    lost = [end.get("id") or "document" for end in process.iterfind(_b("endEvent"))
            if som_properties(end).get(p.OUTCOME) == "lost"]
    if lost:
        reason = ("an end marked som.outcome=lost beside the stages cannot end the deal once the pipeline is added "
                  "around them: remove this end (losing is the som.lose message, added on import) or draw the "
                  "pipeline yourself")
        raise InvalidProcess(gettext("What the modeler wrote cannot be read: %(value)s: %(reason)s",
                                     value=_short(lost[0]), reason=reason),
                             errors={_short(end_id): [reason] for end_id in lost})


def _wrap_in_pipeline(root: etree._Element, process: etree._Element) -> etree._Element:
    """Move the process's flow into a new pipeline subprocess; start → pipeline → Won around it."""
    kept = {_b("laneSet"), _b("extensionElements"), _b("documentation")}
    moving = [child for child in process if isinstance(child.tag, str) and child.tag not in kept]
    ids = _Ids(root)
    pipeline_id = ids.new("pipeline")
    pipeline = etree.SubElement(process, _b("subProcess"), id=pipeline_id, name="Sales pipeline")
    # the pipeline's settings may have been written on the process, the one place a modeler offers for them;
    # the engine reads them on the pipeline (SpiffWorkflow reads properties of flow elements only)
    settings = {p.PIPELINE: "true"}
    for prop in list(process.iterfind(
            f"{_b('extensionElements')}/{_q(p.SPIFF_NS, 'properties')}/{_q(p.SPIFF_NS, 'property')}")):
        if prop.get("name") in (p.ALLOW_BACK, p.ALLOW_EARLY_WIN):
            settings[prop.get("name")] = prop.get("value", "")
            prop.getparent().remove(prop)
    set_som_properties(pipeline, settings)
    for child in moving:
        pipeline.append(child)
    start_id, end_id = ids.new("start"), ids.new("end_won")
    etree.SubElement(process, _b("startEvent"), id=start_id, name="Opportunity created")
    end = etree.SubElement(process, _b("endEvent"), id=end_id, name="Won")
    set_som_properties(end, {p.OUTCOME: "won"})
    in_id, out_id = ids.new("flow_start"), ids.new("flow_pipeline_won")
    etree.SubElement(process, _b("sequenceFlow"), id=in_id, sourceRef=start_id, targetRef=pipeline_id)
    etree.SubElement(process, _b("sequenceFlow"), id=out_id, sourceRef=pipeline_id, targetRef=end_id)

    plane = _main_plane(root, process)
    if plane is None:
        return pipeline
    inner = {el.get("id") for el in pipeline.iter() if el.get("id")}
    boxes = [box for el_id, box in _shapes(plane).items() if el_id in inner]
    points = [pt for edge in plane.iterfind(_q(p.BPMNDI_NS, "BPMNEdge")) if edge.get("bpmnElement") in inner
              for pt in _waypoints(edge)]
    xs = [b.x for b in boxes] + [x for x, _ in points]
    ys = [b.y for b in boxes] + [y for _, y in points]
    rights = [b.right for b in boxes] + [x for x, _ in points]
    bottoms = [b.bottom for b in boxes] + [y for _, y in points]
    if not xs:
        return pipeline
    box = _Box(min(xs) - 30, min(ys) - 40, max(rights) - min(xs) + 60, max(bottoms) - min(ys) + 70)
    _add_shape(plane, pipeline_id, box, expanded=True, first=True)
    start = _Box(box.x - _EVENT - _TASK_GAP, box.cy - _EVENT / 2, _EVENT, _EVENT)
    end_box = _Box(box.right + _TASK_GAP, box.cy - _EVENT / 2, _EVENT, _EVENT)
    _add_shape(plane, start_id, start)
    _add_shape(plane, end_id, end_box)
    _add_edge(plane, in_id, [(start.right, start.cy), (box.x, start.cy)])
    _add_edge(plane, out_id, [(box.right, end_box.cy), (end_box.x, end_box.cy)])
    return pipeline


def _has_boundary(root: etree._Element, pipeline: etree._Element, message: str) -> bool:
    names = {m.get("id"): m.get("name") for m in root.iter(_b("message"))}
    return any(
        names.get(definition.get("messageRef")) == message
        for boundary in root.iter(_b("boundaryEvent")) if boundary.get("attachedToRef") == pipeline.get("id")
        for definition in boundary.iterfind(_b("messageEventDefinition")))


def _add_boundary(root: etree._Element, pipeline: etree._Element, label: str, message: str, outcome: str) -> None:
    """A som.lose / som.win boundary message on the pipeline, flowing to an end event with its outcome."""
    ids = _Ids(root)
    message_id = next((m.get("id") for m in root.iter(_b("message")) if m.get("name") == message), None)
    if message_id is None:
        message_id = ids.new(f"msg_{label}")
        process = next(a for a in pipeline.iterancestors(_b("process")))
        process.addprevious(etree.Element(_b("message"), id=message_id, name=message))
    parent = pipeline.getparent()
    boundary_id, end_id, flow_id = ids.new(f"on_{label}"), ids.new(f"end_{outcome}_{label}"), ids.new(f"flow_{label}")
    boundary = etree.SubElement(parent, _b("boundaryEvent"), id=boundary_id, name=message,
                                attachedToRef=pipeline.get("id"))
    definition = etree.SubElement(boundary, _b("messageEventDefinition"), id=ids.new(f"{boundary_id}_def"),
                                  messageRef=message_id)
    variable = etree.SubElement(etree.SubElement(definition, _b("extensionElements")),
                                _q(p.SPIFF_NS, "messageVariable"))
    variable.text = p.LOSE_VARIABLE if label == "lose" else p.WIN_VARIABLE
    end = etree.SubElement(parent, _b("endEvent"), id=end_id, name="Lost" if outcome == "lost" else "Won early")
    set_som_properties(end, {p.OUTCOME: outcome})
    etree.SubElement(parent, _b("sequenceFlow"), id=flow_id, sourceRef=boundary_id, targetRef=end_id)

    process = next(pipeline.iterancestors(_b("process")))
    plane = _main_plane(root, process)
    box = _shapes(plane).get(pipeline.get("id")) if plane is not None else None
    if box is None:
        return
    x = box.right - (130 if label == "lose" else 70)
    b = _Box(x, box.bottom - _EVENT / 2, _EVENT, _EVENT)
    e = _Box(x, box.bottom + _TASK_GAP, _EVENT, _EVENT)
    _add_shape(plane, boundary_id, b)
    _add_shape(plane, end_id, e)
    _add_edge(plane, flow_id, [(b.x + _EVENT / 2, b.bottom), (e.x + _EVENT / 2, e.y)])
    _fit_pool(plane)


# -- diagram helpers -------------------------------------------------------------------------------------------
class _Ids:
    """New element ids that collide with none in the document."""

    def __init__(self, within: etree._Element) -> None:
        root = within.getroottree().getroot()  # ids are unique document-wide, diagram included
        self.taken = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}

    def new(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{wanted}_{n}"
        self.taken.add(candidate)
        return candidate


def _main_plane(root: etree._Element, process: etree._Element) -> etree._Element | None:
    """The diagram plane that draws the process: its own, or its collaboration's (where its pool is)."""
    owners = {process.get("id")} | {
        collab.get("id") for collab in root.iter(_b("collaboration"))
        if any(part.get("processRef") == process.get("id") for part in collab.iterfind(_b("participant")))}
    return next((plane for plane in root.iter(_q(p.BPMNDI_NS, "BPMNPlane"))
                 if plane.get("bpmnElement") in owners), None)


def _shapes(plane: etree._Element) -> dict[str, _Box]:
    out = {}
    for shape in plane.iterfind(_q(p.BPMNDI_NS, "BPMNShape")):
        bounds = shape.find(_q(p.DC_NS, "Bounds"))
        if bounds is None:
            continue
        try:
            values = [float(bounds.get(k, "0")) for k in ("x", "y", "width", "height")]
        except ValueError:
            continue  # a broken shape draws nothing; it is not ours to mend
        if all(math.isfinite(v) for v in values):
            out[shape.get("bpmnElement")] = _Box(*values)
    return out


def _waypoints(edge: etree._Element) -> list[tuple[float, float]]:
    points = []
    for point in edge.iterfind(_q(p.DI_NS, "waypoint")):
        try:
            x, y = float(point.get("x", "0")), float(point.get("y", "0"))
        except ValueError:
            continue
        if math.isfinite(x) and math.isfinite(y):
            points.append((x, y))
    return points


def _n(value: float) -> str:
    return str(int(round(value)))


def _add_shape(plane: etree._Element, element_id: str, box: _Box, *, expanded: bool = False,
               first: bool = False) -> None:
    shape = etree.Element(_q(p.BPMNDI_NS, "BPMNShape"), id=_Ids(plane).new(f"{element_id}_di"),
                          bpmnElement=element_id)
    if expanded:
        shape.set("isExpanded", "true")
    etree.SubElement(shape, _q(p.DC_NS, "Bounds"), x=_n(box.x), y=_n(box.y), width=_n(box.w), height=_n(box.h))
    if first:
        plane.insert(0, shape)  # drawn first, so the pipeline lies under what it holds
    else:
        plane.append(shape)


def _add_edge(plane: etree._Element, element_id: str, points: list[tuple[float, float]]) -> None:
    edge = etree.SubElement(plane, _q(p.BPMNDI_NS, "BPMNEdge"), id=_Ids(plane).new(f"{element_id}_di"),
                            bpmnElement=element_id)
    for x, y in points:
        etree.SubElement(edge, _q(p.DI_NS, "waypoint"), x=_n(x), y=_n(y))


def _fit_pool(plane: etree._Element) -> None:
    """Grow a drawn pool (and its lanes) to hold the shapes added beside it, so nothing hangs outside the pool."""
    root = plane.getroottree().getroot()
    participants = {part.get("id") for part in root.iter(_b("participant"))}
    lanes = {lane.get("id") for lane in root.iter(_b("lane"))}
    # only the pool's own lanes are stretched; lanes nested in a lane keep their place within it
    top_lanes = {lane.get("id") for lane in root.iterfind(f"{_b('process')}/{_b('laneSet')}/{_b('lane')}")}
    shapes = {s.get("bpmnElement"): s for s in plane.iterfind(_q(p.BPMNDI_NS, "BPMNShape"))}
    boxes = _shapes(plane)
    pools = [k for k in boxes if k in participants]
    if len(pools) != 1:
        return
    pool = boxes[pools[0]]
    content = [b for k, b in boxes.items() if k not in participants and k not in lanes]
    if not content:
        return
    left = min(pool.x, min(b.x for b in content) - 30 - (30 if lanes else 0))
    top = min(pool.y, min(b.y for b in content) - 20)
    right = max(pool.right, max(b.right for b in content) + 30)
    bottom = max(pool.bottom, max(b.bottom for b in content) + 30)
    _set_bounds(shapes[pools[0]], _Box(left, top, right - left, bottom - top))
    lane_boxes = sorted(((k, b) for k, b in boxes.items() if k in top_lanes), key=lambda kb: kb[1].y)
    for i, (key, lane) in enumerate(lane_boxes):
        y = top if i == 0 else lane.y
        lane_bottom = bottom if i == len(lane_boxes) - 1 else lane.bottom
        _set_bounds(shapes[key], _Box(left + 30, y, right - left - 30, lane_bottom - y))


def _set_bounds(shape: etree._Element, box: _Box) -> None:
    bounds = shape.find(_q(p.DC_NS, "Bounds"))
    for key, value in (("x", box.x), ("y", box.y), ("width", box.w), ("height", box.h)):
        bounds.set(key, _n(value))


def _short(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…"


def _listed(items: list[str], limit: int = 6) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit} more"
