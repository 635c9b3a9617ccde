"""The sales domain as processes: the BPMN profile, validation, the kind builder, the shipped kinds and
the operations BPMN may call. Imports the engine, never Flask or models."""

from som_flow.processes.builder import KIND_TYPES, build_kind_bpmn, form_fields, kind_identity_errors
from som_flow.processes.kinds import SHIPPED, shipped_bpmn
from som_flow.processes.operations import OPERATIONS
from som_flow.processes.validation import validate_bpmn

__all__ = ["KIND_TYPES", "OPERATIONS", "SHIPPED", "build_kind_bpmn", "form_fields", "kind_identity_errors",
           "shipped_bpmn", "validate_bpmn"]
