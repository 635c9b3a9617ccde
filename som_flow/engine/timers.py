"""Timer values: what a timer may read, bare ISO 8601 text read as one, and the bounds every timer keeps.

The one owner of the timer rule, for both moments a timer is checked:
- at upload (`definition._check_timer`, processes/validation.py): a constant timer must be ISO 8601 and within
  the bounds, an expression may read only the data the engine gives the workflow;
- when a timer computed from the opportunity's data starts (`scripting.SafeScriptEngine`): the value must be
  ISO 8601 and within the bounds, else the action that started it is refused naming the fields it read.

Modelers write `P14D`, `PT5M`, `2026-01-01T09:00:00Z` or `R3/P1D` without quotes; as Python the first two
are names and the date is arithmetic (2026 - 1 - 1), so such text is read as the literal it obviously is.
The bounds keep SpiffWorkflow usable: it loops once per month of a duration (`P2000000Y` takes 15 s, then
overflows), and every firing of a cycle creates a task.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

from som_flow.engine import profile as p
from som_flow.engine.expressions import ExpressionError, compile_expression, evaluate

MAX_TIMER_DAYS = 3653  # ten years; SpiffWorkflow hangs on durations like P999999999Y
MIN_CYCLE_SECONDS = 3600  # each firing creates a task; more than hourly is a mistake
MAX_CYCLE_REPEATS = 100

# The opportunity's fields the workflow can read (services/process_run.process_data gives exactly these; a test
# holds the two together), and the routing keys the engine sets itself.
OPPORTUNITY_FIELDS = ("amount", "currency", "priority", "product", "probability", "qualified", "custom")
ENGINE_NAMES = (p.TARGET_STAGE, p.START_STAGE)
# The opportunity's date fields a `som.due` may name (services/process_run.task_due reads them off the deal).
DUE_FIELDS = ("opened_on", "follow_up_date", "anticipated_close_date")

KINDS = {"timeDuration": "duration", "timeDate": "date", "timeCycle": "cycle"}
_EXAMPLES = {"timeDuration": "P14D or PT5M", "timeDate": "2026-01-05T09:00:00Z", "timeCycle": "R3/P1D"}

_NUMBER = r"(\d{1,9}(?:[.,]\d{1,9})?)"
_DURATION = re.compile(
    rf"^P(?!$)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?$"
)
_DAYS_PER = (365.25, 30.44, 7, 1, 1 / 24, 1 / 1440, 1 / 86400)
_CYCLE = re.compile(r"^R(\d{1,9})/(?:[^/]+/)?([^/]+)$")
# What a modeler writes without quotes: a duration, a date (time optional) or a repeating interval.
_BARE_DATE = r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_BARE_DURATION = r"P(?:\d|T\d)[0-9.,YMWDTHS]*"
_BARE = re.compile(rf"^(?:{_BARE_DURATION}|{_BARE_DATE}|R\d*/[0-9A-Z:.,+/-]+)$")


class TimerValueError(ExpressionError):
    """A timer's value that is missing, not ISO 8601 or not within the bounds; `fields` are the data it read."""

    def __init__(self, reason: str, fields: tuple[str, ...] = (), *, missing: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.fields = fields
        self.missing = missing

    def errors(self, timer: str) -> dict[str, list[str]]:
        """The refusal keyed by each field the timer read (as the API names them), else by the timer. Each
        sentence names its field, so it reads the same beside the field and in a page's flash."""
        if not self.fields:
            return {timer: [f"The timer {timer} cannot start: {self.reason}."]}
        value_words = self.reason.removeprefix("timer ")
        return {field: [f"The timer {timer} reads {_field_words(field)}: {value_words}."] for field in self.fields}

    def detail(self, timer: str) -> str:
        return " ".join(dict.fromkeys(m for msgs in self.errors(timer).values() for m in msgs))


def _field_words(field: str) -> str:
    """`custom.wait` as words: the user-defined field 'wait'."""
    if field.startswith("custom."):
        return f"the user-defined field '{field.removeprefix('custom.')}'"
    return f"the field '{field}'"


@dataclass(frozen=True)
class DataTimer:
    """A timer of a process whose value is read from the workflow's data."""

    label: str  # 'Wait for the customer' (its name), or its element id
    kind: str
    expression: str
    fields: tuple[str, ...]


def bare_literal(text: str | None) -> str | None:
    """The ISO 8601 text a modeler wrote without quotes (`P14D`, `2026-01-01`, `R3/P1D`), else None."""
    stripped = (text or "").strip()
    return stripped if _BARE.match(stripped) else None


def names_read(text: str) -> tuple[str, ...]:
    """The data names an expression reads (function names excluded), in order. Raises ExpressionError."""
    tree = compile_expression(text)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in called and node.id not in names:
            names.append(node.id)
    return tuple(names)


def fields_read(text: str) -> tuple[str, ...]:
    """The fields an expression reads, as the API names them: `custom["wait"]` is `custom.wait`."""
    if bare_literal(text) is not None:
        return ()
    try:
        tree = compile_expression(text)
    except ExpressionError:
        return ()
    keyed: list[str] = []
    keyed_names: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            keyed.append(f"{node.value.id}.{node.slice.value}")
            keyed_names.add(id(node.value))
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    plain = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called | keyed_names]
    return tuple(dict.fromkeys(keyed + plain))


def _days(text: str) -> float | None:
    """The length of a plain ISO-8601 duration in days; None if it is not one (negative, repeating…)."""
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    return sum(float(g.replace(",", ".")) * per for g, per in zip(match.groups(), _DAYS_PER, strict=True) if g)


def bound_reason(kind: str, value: str) -> str | None:
    """Why a timer value of `kind` (timeDuration, timeDate, timeCycle) is beyond the bounds; None if within."""
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


def iso_reason(kind: str, value: Any) -> str | None:
    """Why `value` is not an ISO-8601 value SpiffWorkflow reads as a `kind` timer; None if it is one.

    A cycle's parts are read one by one: SpiffWorkflow's own reading of a cycle loops once per month of its
    interval, which only the bounds make short."""
    what = KINDS.get(kind, "timer")
    try:
        if not isinstance(value, str):
            raise ValueError("not text")
        if kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        elif kind == "timeDate":
            TimerEventDefinition.get_datetime(value)
        else:
            _check_cycle(value)
    except Exception:  # the library raises bare Exceptions for bad ISO strings; its words are not the admin's
        return f"timer {value!r} is not a valid ISO-8601 {what} such as {_EXAMPLES.get(kind, 'P14D')}"
    return None


def _check_cycle(value: str) -> None:
    """Raise unless `value` is R[n]/start/duration, R[n]/duration/end or R[n]/duration (as SpiffWorkflow reads it)."""
    parts = value.upper().replace("--", "/").strip("R").split("/")
    if parts[0]:
        int(parts[0])
    if len(parts) not in (2, 3):
        raise ValueError("expected R<count>/<interval>")
    read = [TimerEventDefinition.parse_time_or_duration(part) for part in parts[1:]]
    if sum(isinstance(r, dict) for r in read) != 1:  # one interval, with at most a start or an end
        raise ValueError("Invalid recurring interval")


def value_reason(kind: str, value: Any) -> str | None:
    """Why a timer's value cannot start the timer (not ISO 8601, or beyond the bounds); None if it can."""
    if not isinstance(value, str):
        return (f"timer value {value!r} is not a valid ISO-8601 {KINDS.get(kind, 'timer')}: "
                f"write text such as {_EXAMPLES.get(kind, 'P14D')}")
    return iso_reason(kind, value) or bound_reason(kind, value)


def constant_value(text: str | None) -> Any:
    """The value of a timer that reads no data (a bare ISO text or a constant expression); None otherwise."""
    literal = bare_literal(text)
    if literal is not None:
        return literal
    try:
        if names_read(text or ""):
            return None
        return evaluate(text or "", {})
    except ExpressionError:
        return None


def kind_of(event_definition: Any) -> str | None:
    """timeDuration, timeDate or timeCycle for a SpiffWorkflow timer definition; None for any other event."""
    for cls, kind in ((CycleTimerEventDefinition, "timeCycle"), (DurationTimerEventDefinition, "timeDuration"),
                      (TimeDateEventDefinition, "timeDate")):
        if isinstance(event_definition, cls):
            return kind
    return None


def start_value(kind: str, text: str, names: dict) -> str:
    """The value a timer starts with, read from the workflow's data; raises TimerValueError naming the fields
    read when it is missing, not ISO 8601, or beyond the bounds (a 15 s hang or a task a second, otherwise)."""
    literal = bare_literal(text)
    if literal is not None:
        value: Any = literal
    else:
        try:
            value = evaluate(text, names)
        except ExpressionError:
            raise TimerValueError(f"the value is missing; enter an ISO-8601 {KINDS[kind]} such as "
                                  f"{_EXAMPLES[kind]}", fields_read(text), missing=True) from None
    reason = value_reason(kind, value)
    if reason:
        raise TimerValueError(reason, fields_read(text))
    return value


def is_bounded_duration(text: str) -> bool:
    """Whether `text` is a plain ISO-8601 duration no longer than ten years (a `som.due`, say)."""
    days = _days(text)
    return days is not None and days <= MAX_TIMER_DAYS and iso_reason("timeDuration", text) is None


def data_timers(specs: Iterable[Any]) -> tuple[DataTimer, ...]:
    """The timers among the task specs of `specs` (SpiffWorkflow process specs) that read the workflow's data."""
    found = []
    for spec in specs:
        for task_spec in spec.task_specs.values():
            event_definition = getattr(task_spec, "event_definition", None)
            kind = kind_of(event_definition)
            fields = fields_read(event_definition.expression) if kind else ()
            if fields:
                label = repr(task_spec.bpmn_name) if task_spec.bpmn_name else f"on {task_spec.bpmn_id}"
                found.append(DataTimer(label, kind, event_definition.expression, fields))
    return tuple(found)


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[str]:
    """The fields that differ between two sets of workflow data, a custom field as `custom.<key>`."""
    changed = {key for key in old.keys() | new.keys() if key != "custom" and old.get(key) != new.get(key)}
    old_custom, new_custom = old.get("custom") or {}, new.get("custom") or {}
    changed |= {f"custom.{key}" for key in old_custom.keys() | new_custom.keys()
                if old_custom.get(key) != new_custom.get(key)}
    return changed


def refused_changes(found: Iterable[DataTimer], old: Mapping[str, Any], new: Mapping[str, Any]) -> dict:
    """Why the change from `old` to `new` data gives a timer that reads a changed field a value it cannot start
    with, keyed by the changed fields (`custom.wait`); empty when every such timer can start. A value that is
    missing is no refusal here: the timer says so if it starts without one."""
    changed = changed_fields(old, new)
    errors: dict[str, list[str]] = {}
    for timer in found:
        hit = tuple(f for f in timer.fields
                    if f in changed or (f == "custom" and any(c.startswith("custom.") for c in changed)))
        if not hit:
            continue
        try:
            start_value(timer.kind, timer.expression, dict(new))
        except TimerValueError as exc:
            if not exc.missing:
                for field, reasons in TimerValueError(exc.reason, hit).errors(timer.label).items():
                    errors.setdefault(field, []).extend(reasons)
    return errors
