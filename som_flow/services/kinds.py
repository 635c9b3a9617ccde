"""Opportunity kinds: designed or uploaded BPMN, stored as immutable versions."""

from __future__ import annotations

import logging
from importlib.resources import files

from sqlalchemy import func, select

from som_flow.engine import ProcessDefinition, storable
from som_flow.errors import Conflict, NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import FollowOnVersion, KindVersion, Opportunity, OpportunityKind, Stage, User, WorkflowState
from som_flow.processes import (
    FOLLOW_ON_OF,
    SHIPPED,
    build_kind_bpmn,
    kind_identity_errors,
    read_modeler_bpmn,
    validate_bpmn,
    validate_follow_on_bpmn,
)
from som_flow.services.kind_designs import same_design
from som_flow.services.process_run import restart_process
from som_flow.services.reference import kept
from som_flow.services.unit_of_work import now, service

log = logging.getLogger(__name__)
# bpmn/ is the source; the package reaches it through the som_flow/shipped_bpmn link, and the wheel carries the
# files themselves (package data), so an installed som-flow finds its kinds without the source tree
SHIPPED_DIR = files("som_flow") / "shipped_bpmn"


def find_kind(key: str) -> OpportunityKind | None:
    """The kind with this key, or None."""
    return db.session.scalar(select(OpportunityKind).where(OpportunityKind.key == key))


def get_kind(key: str) -> OpportunityKind:
    kind = db.session.scalar(select(OpportunityKind).where(OpportunityKind.key == key))
    if kind is None:
        raise NotFound(gettext("No opportunity kind %(key)s", key=repr(key)))
    return kind


def list_kinds() -> list[OpportunityKind]:
    return list(db.session.scalars(select(OpportunityKind).order_by(OpportunityKind.name)))


def kind_stages(kind: OpportunityKind) -> list[dict]:
    """The stages of the kind's current version, in order (kept between requests: services/reference.py)."""
    def read() -> list[dict]:
        version = kind.current_version
        return [dict(stage) for stage in version.stages] if version else []
    return [dict(stage) for stage in kept(("stages of", kind.current_version_id), read)]


def prepare_bpmn(xml: str) -> tuple[str, ProcessDefinition, list[str]]:
    """An uploaded or drawn BPMN as it would be stored: (the text kept, its checked definition, sentences saying what
    was added to it). Raises InvalidProcess naming elements. Stores nothing: uploads and drafts share it."""
    xml, added = read_modeler_bpmn(xml)  # what modelers write, and the plumbing they leave out, in profile form
    xml = storable(xml)  # what a browser could run is dropped, so what is checked is what is kept
    return xml, validate_bpmn(xml), added


def kind_type_errors(kind_type: str, summary: ProcessDefinition) -> dict[str, list[str]]:
    """What a kind of `kind_type` refuses in a checked process (stages or none), by field; empty when it fits."""
    if kind_type == "stageless" and summary.stages:
        return {"stages": ["A stageless kind has no stages: remove the stage subprocesses."]}
    if kind_type != "stageless" and not summary.stages:
        return {"type": ["This process has no stages: use type 'stageless' for it."]}
    if kind_type == "standard":
        return _standard_errors(summary)
    return {}


def _standard_errors(summary: ProcessDefinition) -> dict[str, list[str]]:
    """A standard kind goes through every stage in order: each stage's only way on is the next stage, and no
    move goes back. Names the stages a deal could skip, so the admin sees which flows to remove."""
    names = {s.key: s.name for s in summary.stages}
    order = [s.key for s in summary.stages]
    skips = [f"{names[key]} → {names[target]}" for i, key in enumerate(order)
             for target in summary.next_stages.get(key, ()) if order.index(target) != i + 1]
    messages = []
    if skips:
        messages.append(f"A standard kind goes through every stage in order, but in this process a deal can skip "
                        f"stages ({', '.join(skips)}): use a custom kind, or remove those flows.")
    if summary.allow_back:
        messages.append("A standard kind never moves back to an earlier stage, but this process allows it "
                        "(som.allow_back on the pipeline): use a custom kind, or remove that property.")
    return {"stages": messages} if messages else {}


def _store_version(kind: OpportunityKind, xml: str, definition: dict | None, actor: User | None) -> KindVersion:
    xml, summary, added = prepare_bpmn(xml)  # raises InvalidProcess naming elements; nothing stored
    errors = kind_type_errors(kind.type, summary)
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], errors)
    number = 1 + max((v.number for v in kind.versions), default=0)
    version = KindVersion(
        kind=kind, number=number, bpmn_xml=xml, definition=definition, created_at=now(),
        created_by_id=actor.id if actor else None, allow_back=summary.allow_back, import_notes=added or None,
        stages=[{"key": s.key, "name": s.name, "probability": s.probability,
                 "required_fields": list(s.required_fields), "sla": s.sla} for s in summary.stages],
    )
    db.session.add(version)
    db.session.flush()
    kind.current_version = version
    return version


@service
def save_designed_kind(data: dict, actor: User | None = None, *, redesign: bool | None = None) -> OpportunityKind:
    """Build BPMN from the designer's stage list and store it as a new version (creating the kind).

    `redesign` is what the caller means: False a new kind (ValidationFailed naming `key` when the key is taken),
    True a new version of an existing kind (NotFound when there is none), None either (the designer page, which
    asks its own question first). Checked in this transaction, so nothing is stored on a refusal.
    Raises ValidationFailed for unknown stages or a type change, InvalidProcess if the result is refused.
    """
    key, kind_type = data["key"], data["type"]
    kind = get_kind(key) if redesign else find_kind(key)
    if redesign is False and kind is not None:
        # worded as the other catalogs word a taken key (services/catalogs.py)
        raise ValidationFailed(gettext("%(key)s exists in %(catalog)s", key=key, catalog="kinds"),
                               {"key": [gettext("Already taken.")]})
    stage_keys: list[str] = data.get("stages") or []
    if kind_type == "stageless" and stage_keys:
        raise ValidationFailed(gettext("A stageless kind has no stages"),
                               {"stages": [gettext("Leave empty for stageless.")]})
    if kind_type != "stageless" and not stage_keys:
        raise ValidationFailed(gettext("Choose at least one stage"), {"stages": [gettext("Missing.")]})
    if len(set(stage_keys)) != len(stage_keys):
        raise ValidationFailed(gettext("A stage is listed twice"), {"stages": [gettext("Each stage once.")]})
    catalog = {s.key: s for s in db.session.scalars(select(Stage).where(Stage.key.in_(stage_keys)))}
    unknown = [k for k in stage_keys if k not in catalog]
    if unknown:
        raise ValidationFailed(gettext("Unknown stages: %(items)s", items=', '.join(unknown)),
                               {"stages": [gettext("Unknown: %(items)s.", items=', '.join(unknown))]})
    for name in ("stage_tasks", "stage_sla", "required_fields", "stage_probability"):
        # a stageless kind's tasks sit under the empty stage key
        allowed = stage_keys + ([""] if kind_type == "stageless" and name == "stage_tasks" else [])
        stray = [k for k in (data.get(name) or {}) if k not in allowed]
        if stray:
            raise ValidationFailed(gettext("%(name)s names stages the kind does not have: %(items)s", name=name,
                                           items=', '.join(stray)),
                                   {name: [gettext("Not a stage of this kind: %(items)s.", items=', '.join(stray))]})
    if kind_type == "standard" and (data.get("allow_skip") or data.get("allow_back")):
        raise ValidationFailed(gettext("A standard kind allows no skips and no backward moves"),
                               {"type": [gettext("Use a custom kind to allow skips or backward moves.")]})
    xml = build_kind_bpmn(
        key=key, name=data["name"], type=kind_type,
        stages=[{"key": k, "name": catalog[k].name,
                 "probability": (data.get("stage_probability") or {}).get(k, catalog[k].default_probability)}
                for k in stage_keys],
        allow_skip=bool(data.get("allow_skip")), allow_back=bool(data.get("allow_back")),
        allow_early_win=data.get("allow_early_win", True),
        stage_tasks=data.get("stage_tasks") or {}, stage_sla=data.get("stage_sla") or {},
        required_fields=data.get("required_fields") or {},
    )
    if kind is None:
        kind = OpportunityKind(key=key, name=data["name"], type=kind_type)
        db.session.add(kind)
    elif kind.type != kind_type:
        raise ValidationFailed(gettext("A kind keeps its type"), {"type": [gettext("This kind is %(type)s.",
                                                                                   type=kind.type)]})
    kind.name = data["name"]
    kind.allowed = data.get("allowed", True)
    kind.record_initial_request = data.get("record_initial_request", kind.record_initial_request or False)
    current = kind.current_version
    # an unchanged design keeps its version even when the builder now draws it differently
    if current is None or (current.bpmn_xml != xml and not same_design(current.definition, data)):
        _store_version(kind, xml, definition=dict(data), actor=actor)
    return kind


@service
def import_kind_bpmn(key: str, xml: bytes | str, *, name: str | None = None, kind_type: str = "custom",
                     actor: User | None = None) -> KindVersion:
    """Store an uploaded BPMN as a new version of `key`. Raises InvalidProcess (nothing stored)."""
    xml = _text(xml)
    kind = db.session.scalar(select(OpportunityKind).where(OpportunityKind.key == key))
    errors = kind_identity_errors(key, kind.type if kind else kind_type)
    if errors:
        raise ValidationFailed("Check the kind's " + " and ".join(errors), errors)
    if kind is None:
        kind = OpportunityKind(key=key, name=name or key.replace("-", " ").title(), type=kind_type)
        db.session.add(kind)
    return _store_version(kind, xml, definition=None, actor=actor)


def _text(xml: bytes | str) -> str:
    """An uploaded BPMN as text. Raises ValidationFailed (naming `bpmn`) when it is not UTF-8."""
    if isinstance(xml, str):
        return xml
    try:
        return xml.decode("utf-8") if xml else ""
    except UnicodeDecodeError as exc:
        raise ValidationFailed(gettext("The BPMN file is not UTF-8 text"),
                               {"bpmn": [gettext("Byte %(start)s is not UTF-8; save the file as UTF-8.",
                                                 start=exc.start)]}) from exc


def prepare_follow_on_bpmn(xml: str) -> tuple[str, ProcessDefinition, list[str]]:
    """A follow-on process (the job's own work) as it would be stored: read as a kind's process is (properties,
    forms), without the sale's plumbing; what a browser could run is dropped, so what is checked is what is kept.
    Raises InvalidProcess naming elements."""
    xml, added = read_modeler_bpmn(xml, plumbing=False)
    xml = storable(xml)
    return xml, validate_follow_on_bpmn(xml), added


def check_draft(xml: bytes | str, kind_type: str | None = None, *, follow_on: bool = False) -> dict:
    """What uploading this BPMN would give, without storing anything: {valid, errors by element id (or field),
    stages, added}. The same checks as an upload (prepare_bpmn, then the kind type's when `kind_type` is given;
    a follow-on's when `follow_on`), so a draft that passes here is a version the upload accepts."""
    try:
        _xml, summary, added = (prepare_follow_on_bpmn if follow_on else prepare_bpmn)(_text(xml))
    except ValidationFailed as exc:  # InvalidProcess names elements; a non-UTF-8 body names `bpmn`
        return {"valid": False, "errors": exc.errors or {"document": [exc.detail]}, "stages": [], "added": []}
    errors = kind_type_errors(kind_type, summary) if kind_type else {}
    stages = [{"key": s.key, "name": s.name, "probability": s.probability,
               "required_fields": list(s.required_fields), "sla": s.sla} for s in summary.stages]
    return {"valid": not errors, "errors": errors, "stages": stages, "added": list(added)}


# -- the follow-on process: the job's own work after a win with a job ---------------------------------------------
def current_follow_on(kind: OpportunityKind) -> FollowOnVersion | None:
    """The kind's newest follow-on version (the one a win with a job starts), or None."""
    return db.session.scalar(select(FollowOnVersion).where(FollowOnVersion.kind_id == kind.id)
                             .order_by(FollowOnVersion.number.desc()).limit(1))


def follow_on_version(kind: OpportunityKind, number: int | None) -> FollowOnVersion:
    """The kind's follow-on version `number` (default: the current one). Raises NotFound."""
    if number is None:
        version = current_follow_on(kind)
    else:
        version = db.session.scalar(select(FollowOnVersion).where(
            FollowOnVersion.kind_id == kind.id, FollowOnVersion.number == number))
    if version is None:
        raise NotFound(f"Kind {kind.key} has no follow-on process" + (f" version {number}" if number else ""))
    return version


@service
def attach_follow_on(key: str, xml: bytes | str, actor: User | None = None) -> FollowOnVersion:
    """Store an uploaded follow-on BPMN as the kind's new follow-on version; later wins with a job start it (jobs
    already running keep theirs). Raises NotFound (kind), ValidationFailed (not UTF-8), InvalidProcess (the
    engine's check, naming elements; nothing stored)."""
    kind = get_kind(key)
    xml, definition, _added = prepare_follow_on_bpmn(_text(xml))
    number = 1 + (db.session.scalar(select(func.max(FollowOnVersion.number))
                                    .where(FollowOnVersion.kind_id == kind.id)) or 0)
    version = FollowOnVersion(kind_id=kind.id, number=number, bpmn_xml=xml, created_at=now(),
                              name=(getattr(definition.spec, "description", None) or definition.process_id)[:200],
                              created_by_id=actor.id if actor else None)
    db.session.add(version)
    db.session.flush()
    return version


@service
def update_kind(key: str, **fields) -> OpportunityKind:
    kind = get_kind(key)
    for name, value in fields.items():
        setattr(kind, name, value)
    return kind


def version_of(kind: OpportunityKind, number: int | None) -> KindVersion:
    if number is None:
        if kind.current_version is None:
            raise NotFound(gettext("Kind %(key)s has no version", key=kind.key))
        return kind.current_version
    for version in kind.versions:
        if version.number == number:
            return version
    raise NotFound(gettext("Kind %(key)s has no version %(number)s", key=kind.key, number=number))


def install_shipped_kinds() -> list[str]:
    """Install the shipped kinds (bpmn/) that the database does not have yet.

    Raises FileNotFoundError when a shipped file is missing: a broken install must not pass for one with no kinds.
    """
    installed = []
    for key, design in SHIPPED.items():
        if db.session.scalar(select(OpportunityKind.id).where(OpportunityKind.key == key)):
            continue
        bpmn = (SHIPPED_DIR / f"{key}.bpmn").read_bytes()
        import_kind_bpmn(key, bpmn, name=design["name"], kind_type=design["type"])
        installed.append(key)
    _install_shipped_follow_ons()
    return installed


def _install_shipped_follow_ons() -> None:
    """Attach the shipped follow-on process (bpmn/) to each shipped kind that never had one (an admin's
    follow-on, once attached, is never replaced by this)."""
    for key, follow_on in FOLLOW_ON_OF.items():
        kind = find_kind(key)
        if kind is None or db.session.scalar(select(FollowOnVersion.id).where(FollowOnVersion.kind_id == kind.id)):
            continue
        attach_follow_on(key, (SHIPPED_DIR / f"{follow_on}.bpmn").read_bytes())


@service
def migrate_opportunities(key: str) -> tuple[list[int], dict[int, str]]:
    """Move open opportunities of `key` to the current version where their stage exists there."""
    kind = get_kind(key)
    current = kind.current_version
    if current is None:
        raise Conflict(gettext("Kind %(key)s has no version", key=key))
    stage_keys = {s["key"] for s in current.stages}
    moved: list[int] = []
    left: dict[int, str] = {}
    rows = db.session.scalars(select(Opportunity).where(
        Opportunity.kind_id == kind.id, Opportunity.closed.is_(False),
        Opportunity.kind_version_id != current.id))
    for opp in rows:
        if opp.stage is not None and opp.stage not in stage_keys:
            left[opp.id] = f"stage {opp.stage} is not in version {current.number}"
            continue
        try:
            restart_process(opp, current, start_stage=opp.stage, actor=None, reason="kind_migrated")
        except ValidationFailed as exc:  # a timer its data cannot start (engine/timers.py); raised before any write
            left[opp.id] = exc.detail
            continue
        moved.append(opp.id)
    return moved, left


def workflow_state(opp: Opportunity) -> WorkflowState:
    state = db.session.get(WorkflowState, opp.id)
    if state is None:
        raise Conflict(gettext("Opportunity %(id)s has no process state", id=opp.id))
    return state
