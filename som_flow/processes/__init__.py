"""The sales domain as processes: the BPMN profile, validation, the kind builder, the shipped kinds and
the operations BPMN may call. Imports the engine, never Flask or models."""

from som_flow.processes.builder import KIND_TYPES, build_kind_bpmn, form_fields, kind_identity_errors, without_lanes
from som_flow.processes.kinds import FOLLOW_ON_OF, SHIPPED, SHIPPED_FOLLOW_ONS, shipped_bpmn, shipped_follow_on_bpmn
from som_flow.processes.modeler import read_modeler_bpmn
from som_flow.processes.operations import OPERATIONS
from som_flow.processes.validation import validate_bpmn, validate_follow_on_bpmn

__all__ = ["KIND_TYPES", "OPERATIONS", "SHIPPED", "build_kind_bpmn", "kind_identity_errors", "shipped_bpmn",
           "validate_bpmn"]
__all__ += ["form_fields", "FOLLOW_ON_OF", "SHIPPED_FOLLOW_ONS", "shipped_follow_on_bpmn", "validate_follow_on_bpmn"]
__all__ += ["read_modeler_bpmn", "without_lanes"]
