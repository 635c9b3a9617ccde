"""Validation of uploaded or built BPMN against the som_flow profile, with the registered operations.

On top of the engine's checks (safe XML, whitelist, expressions, profile) this bounds what would only
hurt later: ids, names and stage keys longer than the columns that mirror them, timers that would
overflow the clock or fire endlessly (the bounds are the engine's, engine/timers.py: it applies them again
when a timer reads its value from a deal), timers and `som.due` reading names no deal has, and an error
report larger than the upload itself. These apply to uploads only: a stored version is parsed by the
engine's own checks, so tightening them here never makes a running kind unloadable.
"""

from __future__ import annotations

from lxml import etree

from som_flow.engine import ExpressionError, FormSpecError, ProcessDefinition, parse_form, parse_xml, timers
from som_flow.engine import profile as p
from som_flow.engine.definition import collapse_repeats, parse_definition
from som_flow.engine.follow_on import parse_follow_on
from som_flow.errors import InvalidProcess
from som_flow.i18n import gettext
from som_flow.processes.operations import OPERATIONS

MAX_ID = 100  # Task.spec_name
MAX_NAME = 200  # Task.title
MAX_STAGE_KEY = 64  # Opportunity.stage
MAX_REPORTED = 50  # elements named in one refusal
MAX_REASONS = 6  # reasons given for one element (after collapsing: distinct causes)


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
        raise _trimmed(gettext("The BPMN is not allowed: %(element)s: %(value)s", element=element, value=reasons[0]),
                       limits)
    return definition


def validate_bpmn(xml: str | bytes) -> ProcessDefinition:
    """Parse and check a BPMN document; return its definition (stages, flags). Raises InvalidProcess."""
    return _validated(xml, parse_definition)


def validate_follow_on_bpmn(xml: str | bytes) -> ProcessDefinition:
    """Parse and check a kind's follow-on process (a job's own work: no stages, see engine/follow_on.py) with the
    same bounds as a kind's BPMN. Raises InvalidProcess naming the elements."""
    return _validated(xml, parse_follow_on)


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
        for expr in timer.iterchildren(*(f"{{{p.BPMN_NS}}}{k}" for k in timers.KINDS)):
            reason = _timer_reason(etree.QName(expr).localname, expr.text or "", owner, root)
            if reason:
                errors.setdefault(owner, []).append(reason)
    for prop in root.iter(f"{{{p.SPIFF_NS}}}property"):
        if prop.get("name") == p.DUE and prop.get("value"):
            owner = next((a.get("id") for a in prop.iterancestors() if a.get("id")), "document")
            reason = _due_reason(prop.get("value"))
            if reason:
                errors.setdefault(owner, []).append(reason)
    return errors


def _timer_reason(kind: str, text: str, owner: str, root: etree._Element) -> str | None:
    """Upload's part of the timer rule (engine/timers.py): a timer reads only the data a workflow has, and a
    constant one (bare ISO text included) is within the bounds. Whether a constant is ISO 8601 at all, and
    whether an expression compiles, the engine says with its own reason."""
    if timers.bare_literal(text) is None:
        try:
            names = timers.names_read(text)
        except ExpressionError:
            return None
        unknown = [name for name in names if name not in _timer_names(root)]
        if unknown:
            return (f"timer on {owner} refers to {unknown[0][:80]!r}, which is neither an ISO-8601 "
                    f"{timers.KINDS[kind]} nor a field of the opportunity (write P14D, or read one of "
                    f"{', '.join(timers.OPPORTUNITY_FIELDS[:-1])} or custom[\"<field key>\"])")
        if names:
            return None  # read from the deal: bounded when the timer starts
    value = timers.constant_value(text)
    if not isinstance(value, str) or timers.iso_reason(kind, value):
        return None
    return timers.bound_reason(kind, value)


def _timer_names(root: etree._Element) -> frozenset[str]:
    """The names a timer may read: the opportunity's fields, the engine's routing keys and the answers the
    document's forms ask for (a completed task's answers stay in the workflow's data)."""
    answers: set[str] = set()
    for prop in root.iter(f"{{{p.SPIFF_NS}}}property"):
        if prop.get("name") == p.FORM:
            try:
                answers.update(f.name for f in parse_form(prop.get("value")))
            except FormSpecError:
                pass  # refused by the engine with its own reason
    return frozenset((*timers.OPPORTUNITY_FIELDS, *timers.ENGINE_NAMES, *answers))


def _due_reason(value: str) -> str | None:
    """`som.due` is a duration within the bounds or a date field of the deal (services/process_run.task_due)."""
    value = value.strip()
    if value in timers.DUE_FIELDS or timers.is_bounded_duration(value):
        return None
    if timers.bare_literal(value) and timers.bound_reason("timeDuration", value):
        return f"som.due {value!r} is longer than ten years"
    return (f"som.due {value[:80]!r} is neither an ISO-8601 duration such as P2D nor a date field of the "
            f"opportunity ({', '.join(timers.DUE_FIELDS)})")


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
