"""A kind's follow-on process: the job's own work after a deal is won with a job (seed 001, step 6).

It is checked as strictly as a kind's process (safe XML, the element whitelist, no scripts, every expression
compiled, no loop-backs, nothing unreachable), but it has no pipeline and no stages: it only hands out the
office's tasks until it ends. What it may not contain, and why:
- stages, gates, the pipeline, outcomes and the stageless wait: they belong to the sale, which is over;
- timers: the scheduler wakes deals' runs, not jobs' runs, so a timer would never fire;
- service tasks: their effects (probability, notices) are made for a running deal.
The result is a stageless `ProcessDefinition`, so the runtime's start, restore, snapshot and complete_task
work on it unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from som_flow.engine import profile as p
from som_flow.engine.definition import ProcessDefinition, check_document, parse_specs
from som_flow.engine.xmlsafe import parse_xml
from som_flow.errors import InvalidProcess

_SALE_ONLY = {
    p.STAGE: "stages belong to the sale; a job's process has none",
    p.GATE: "stage gates belong to the sale; a job's process has none",
    p.PIPELINE: "the pipeline belongs to the sale; a job's process has none",
    p.OUTCOME: "won and lost belong to the sale; a job's process just ends",
    p.WAIT: "the outcome wait belongs to the sale; a job's process just ends",
}
_REFUSED_ELEMENTS = {
    "timerEventDefinition": "timers are not supported in a job's process (the scheduler wakes deals, not jobs)",
    "serviceTask": "service tasks are not supported in a job's process (their effects are made for a deal)",
    "messageEventDefinition": "messages are not supported in a job's process (nothing sends them to a job)",
}


def parse_follow_on(version_id: int, xml: str | bytes, operations: Iterable[str],
                    root: etree._Element | None = None) -> ProcessDefinition:
    """Parse and validate a follow-on process. Raises InvalidProcess with errors keyed by element id."""
    root = parse_xml(xml) if root is None else root
    check_document(root, operations)
    errors: dict[str, list[str]] = {}
    for tag, reason in _REFUSED_ELEMENTS.items():
        for el in root.iter(f"{{{p.BPMN_NS}}}{tag}"):
            owner = el if el.get("id") and tag == "serviceTask" else el.getparent()
            errors.setdefault(owner.get("id") or "document", []).append(reason)
    for prop in root.iter(f"{{{p.SPIFF_NS}}}property"):
        reason = _SALE_ONLY.get(prop.get("name", ""))
        if reason:
            owner = next((a.get("id") for a in prop.iterancestors() if a.get("id")), "document")
            errors.setdefault(owner, []).append(reason)
    if errors:
        first, reasons = next(iter(errors.items()))
        raise InvalidProcess(f"The job's process is not allowed: {first}: {reasons[0]}", errors=errors)
    process_id, spec, subprocess_specs = parse_specs(root)
    return ProcessDefinition(
        version_id=version_id, process_id=process_id, spec=spec, subprocess_specs=subprocess_specs,
        stages=[], stageless=True, allow_back=False, allow_early_win=True, next_stages={},
    )
