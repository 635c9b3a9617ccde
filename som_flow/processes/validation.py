"""Validation of uploaded or built BPMN against the som_flow profile, with the registered operations."""

from __future__ import annotations

from som_flow.engine import Engine, ProcessDefinition
from som_flow.processes.operations import OPERATIONS

_validator = Engine(OPERATIONS)


def validate_bpmn(xml: str | bytes) -> ProcessDefinition:
    """Parse and check a BPMN document; return its definition (stages, flags). Raises InvalidProcess."""
    return _validator.validate(xml)
