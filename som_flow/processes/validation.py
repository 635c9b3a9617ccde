"""Validation of uploaded or built BPMN against the som_flow profile, with the registered operations.

On top of the engine's checks (safe XML, whitelist, expressions, profile) this bounds what would only
hurt later: ids, names and stage keys longer than the columns that mirror them, timers that would
overflow the clock or fire endlessly, and an error report larger than the upload itself.
"""

from __future__ import annotations

import re

from lxml import etree

from som_flow.engine import ExpressionError, ProcessDefinition, evaluate, parse_xml
from som_flow.engine import profile as p
from som_flow.engine.definition import collapse_repeats, parse_definition
from som_flow.engine.follow_on import parse_follow_on
from som_flow.errors import InvalidProcess
from som_flow.processes.operations import OPERATIONS

MAX_ID = 100  # Task.spec_name
MAX_NAME = 200  # Task.title
MAX_STAGE_KEY = 64  # Opportunity.stage
MAX_TIMER_DAYS = 3653  # ten years; SpiffWorkflow hangs on durations like P999999999Y
MIN_CYCLE_SECONDS = 3600  # each firing creates a task; more than hourly is a mistake
MAX_CYCLE_REPEATS = 100
MAX_REPORTED = 50  # elements named in one refusal
MAX_REASONS = 6  # reasons given for one element (after collapsing: distinct causes)

_NUMBER = r"(\d{1,9}(?:[.,]\d{1,9})?)"
_DURATION = re.compile(
    rf"^P(?!$)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?$"
)
_DAYS_PER = (365.25, 30.44, 7, 1, 1 / 24, 1 / 1440, 1 / 86400)
_CYCLE = re.compile(r"^R(\d{1,9})/(?:[^/]+/)?([^/]+)$")


def _validated(xml: str | bytes, parse) -> ProcessDefinition:
    """Parse with `parse` (a kind's or a follow-on's parser) inside the bounds every uploaded BPMN has."""
    root = parse_xml(xml)  # size cap and DOCTYPE refusal come first, before anything reads the tree
    limits = _limit_errors(root)
    try:
        definition = parse(0, xml, OPERATIONS, root=root)
    except InvalidProcess as exc:
        for element, reasons in limits.items():
            exc.errors.setdefault(element, []).extend(reasons)
        raise _trimmed(exc.detail, exc.errors) from None
    if limits:
        element, reasons = next(iter(limits.items()))
        raise _trimmed(f"The BPMN is not allowed: {element}: {reasons[0]}", limits)
    return definition


def validate_bpmn(xml: str | bytes) -> ProcessDefinition:
    """Parse and check a BPMN document; return its definition (stages, flags). Raises InvalidProcess."""
    return _validated(xml, parse_definition)


def validate_follow_on_bpmn(xml: str | bytes) -> ProcessDefinition:
    """Parse and check a kind's follow-on process (a job's own work: no stages, see engine/follow_on.py) with the
    same bounds as a kind's BPMN. Raises InvalidProcess naming the elements."""
    return _validated(xml, parse_follow_on)


def _days(text: str) -> float | None:
    """The length of a plain ISO-8601 duration in days; None if it is not one (negative, repeating…)."""
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    return sum(float(g.replace(",", ".")) * per for g, per in zip(match.groups(), _DAYS_PER, strict=True) if g)


def _timer_reason(kind: str, value: str) -> str | None:
    if kind == "timeDuration":
        days = _days(value)
        if days is None:
            return f"timer {value!r} is not a plain ISO-8601 duration such as P14D"
        if days > MAX_TIMER_DAYS:
            return f"timer {value!r} is longer than ten years"
    elif kind == "timeCycle":
        match = _CYCLE.match(value.strip())
        if match is None:
            return f"timer cycle {value!r} must be R<count>/<interval> such as R3/P1D (endless cycles are refused)"
        repeats, days = int(match.group(1)), _days(match.group(2))
        if not 1 <= repeats <= MAX_CYCLE_REPEATS:
            return f"timer cycle {value!r} must repeat 1 to {MAX_CYCLE_REPEATS} times"
        if days is None or days * 86400 < MIN_CYCLE_SECONDS or days > MAX_TIMER_DAYS:
            return f"timer cycle {value!r} needs an interval from one hour to ten years"
    return None


def _limit_errors(root: etree._Element) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for el in root.iter(f"{{{p.BPMN_NS}}}*"):
        el_id, name = el.get("id") or "", el.get("name") or ""
        if len(el_id) > MAX_ID:
            errors.setdefault(el_id, []).append(f"id is {len(el_id)} characters; the limit is {MAX_ID}")
        if len(name) > MAX_NAME:
            errors.setdefault(el_id or "document", []).append(
                f"name is {len(name)} characters; the limit is {MAX_NAME}")
    for prop in root.iter(f"{{{p.SPIFF_NS}}}property"):
        value = prop.get("value") or ""
        if prop.get("name") == p.STAGE and len(value) > MAX_STAGE_KEY:
            owner = next((a.get("id") for a in prop.iterancestors() if a.get("id")), "document")
            errors.setdefault(owner, []).append(f"som.stage is {len(value)} characters; the limit is {MAX_STAGE_KEY}")
    for timer in root.iter(f"{{{p.BPMN_NS}}}timerEventDefinition"):
        owner = next((a.get("id") for a in timer.iterancestors() if a.get("id")), "document")
        for expr in timer.iterchildren(*(f"{{{p.BPMN_NS}}}{k}" for k in ("timeDuration", "timeCycle"))):
            try:
                value = evaluate(expr.text or "", {})
            except ExpressionError:
                continue  # refers to data, or is refused by the engine's own check with its reason
            reason = _timer_reason(etree.QName(expr).localname, value) if isinstance(value, str) else None
            if reason:
                errors.setdefault(owner, []).append(reason)
    return errors


def _trimmed(detail: str, errors: dict[str, list[str]]) -> InvalidProcess:
    """The refusal with one row per cause (a reason many elements share names them together), at most
    MAX_REPORTED elements and MAX_REASONS reasons each: never larger than needed."""
    items = list(collapse_repeats(errors).items())
    shown: dict[str, list[str]] = {}
    for element, reasons in items[:MAX_REPORTED]:
        key = element if len(element) <= MAX_ID else element[:MAX_ID] + "…"
        more = len(reasons) - MAX_REASONS
        shown[key] = reasons[:MAX_REASONS] + ([f"and {more} more reasons for this element"] if more > 0 else [])
    if len(items) > MAX_REPORTED:
        shown.setdefault("document", []).append(f"and {len(items) - MAX_REPORTED} more elements with problems")
    return InvalidProcess(detail[:500], errors=shown)
