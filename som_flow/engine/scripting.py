"""The script engine SpiffWorkflow runs with: whitelisted expressions only, services by registered name.

SpiffWorkflow's default engine is `eval`/`exec`. Ours routes `evaluate` through
`som_flow.engine.expressions`, refuses `execute` (script tasks are refused at upload anyway; this is
the second lock), and dispatches service tasks to the operations the caller registered. Some library
paths call `script_engine.environment.evaluate` directly, so the environment is restricted too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from som_flow.engine import timers
from som_flow.engine.expressions import ExpressionError, compile_expression, evaluate

log = logging.getLogger(__name__)

Operation = Callable[[dict, dict], "dict | None"]
FIELDS_KEY = "fields"  # workflow.data[FIELDS_KEY]: opportunity fields set by Engine.set_data


class ScriptsRefused(RuntimeError):
    """Raised if anything asks the engine to run a script."""


class TimerRefused(WorkflowTaskException):
    """A timer that cannot start with the value it read; `errors` name the fields (or the timer)."""

    def __init__(self, task: Any, cause: timers.TimerValueError):
        spec = task.task_spec
        label = repr(spec.bpmn_name) if spec.bpmn_name else f"on {spec.bpmn_id}"
        super().__init__(cause.detail(label), task=task)
        self.errors = cause.errors(label)


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    def __init__(self, operations: Mapping[str, Operation]):
        super().__init__({})
        self.operations = dict(operations)

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        names = dict(context)
        names.update(external_context or {})
        return evaluate(expression, names)

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        raise ScriptsRefused("scripts are not allowed in som_flow processes")

    def call_service(
        self, context: dict, operation_name: str = "", operation_params: dict | None = None, **kwargs: Any
    ) -> str:
        operation = self.operations.get(operation_name)
        if operation is None:
            raise ExpressionError(f"unknown operation '{operation_name}'")
        params = {name: spec.get("value") for name, spec in (operation_params or {}).items()}
        result = operation(dict(context), params) or {}
        # SpiffWorkflow json.loads the result into the task data.
        return json.dumps(result, default=str)


class SafeScriptEngine(PythonScriptEngine):
    def __init__(self, operations: Mapping[str, Operation]):
        super().__init__(environment=SafeEnvironment(operations))

    @staticmethod
    def names_for(task: Any) -> dict:
        """Task data overlaid with the opportunity's current fields (fields win: they are fresher)."""
        names = dict(task.data)
        names.update(task.workflow.top_workflow.data.get(FIELDS_KEY) or {})
        return names

    def validate(self, expression: str) -> None:
        compile_expression(expression)

    def evaluate(self, task: Any, expression: str, external_context: dict | None = None) -> Any:
        event_definition = getattr(task.task_spec, "event_definition", None)
        kind = timers.kind_of(event_definition)
        if kind and expression == event_definition.expression:
            # A timer starting: bare ISO text is its value, and a value read from data must be within the bounds.
            try:
                return timers.start_value(kind, expression, self.names_for(task))
            except timers.TimerValueError as exc:
                raise TimerRefused(task, exc) from None
        try:
            return self.environment.evaluate(expression, self.names_for(task), external_context)
        except ExpressionError as exc:
            raise WorkflowTaskException(
                f"Error evaluating expression '{expression}': {exc}", task=task
            ) from None

    def execute(self, task: Any, script: str, external_context: dict | None = None) -> bool:
        raise WorkflowTaskException("Scripts are not allowed in som_flow processes", task=task)

    def call_service(self, task: Any, **kwargs: Any) -> str:
        try:
            return self.environment.call_service(self.names_for(task), **kwargs)
        except Exception as exc:
            raise WorkflowTaskException(f"Service task failed: {exc}", task=task, exception=exc) from None
