"""som_flow's SpiffWorkflow adapter: the only package that imports SpiffWorkflow.

Public API: `Engine` (definitions cache, start/restore/dump/snapshot/moves/messages/timers), the
value types it returns, and `IllegalMove`. See `runtime`, `definition`, `scripting`,
`serialization`, `expressions` and `xmlsafe` for what each part owns, and `profile` for the BPMN
profile's property names.
"""

from som_flow.engine.definition import ProcessDefinition, StageInfo, som_properties
from som_flow.engine.expressions import ExpressionError, ExpressionTooLarge, compile_expression, evaluate
from som_flow.engine.forms import FIELD_TYPES, FormField, FormSpecError, jsonable, make_field, parse_form
from som_flow.engine.runtime import (
    Engine,
    IllegalMove,
    ProcessError,
    ReadyTask,
    Run,
    Snapshot,
    WaitingTimer,
)
from som_flow.engine.xmlsafe import MAX_BPMN_BYTES, parse_xml, storable

__all__ = [
    "FIELD_TYPES",
    "FormField",
    "FormSpecError",
    "jsonable",
    "make_field",
    "parse_form",
    "MAX_BPMN_BYTES",
    "Engine",
    "ExpressionError",
    "ExpressionTooLarge",
    "IllegalMove",
    "ProcessDefinition",
    "ProcessError",
    "ReadyTask",
    "Run",
    "Snapshot",
    "StageInfo",
    "WaitingTimer",
    "compile_expression",
    "evaluate",
    "parse_xml",
    "som_properties",
    "storable",
]
