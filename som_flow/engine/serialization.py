"""Workflow state ↔ JSON, state only: the parsed spec is cached per kind version and never stored.

A `StateOnlyWorkflowConverter` replaces SpiffWorkflow's top-level workflow converter: it skips the
spec and subprocess specs when dumping (saving their conversion time and ~60% of the size) and takes
them from the caller when restoring. `Decimal` and `date` in the data survive the round trip.
The registry flips a mode flag while encoding, so a serializer is used under a lock.
"""

from __future__ import annotations

import json
import threading
from copy import deepcopy
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


class StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict:
        # WorkflowConverter.to_dict (the grandparent) has the task tree and data, without the specs.
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict, spec: Any = None, subprocess_specs: dict | None = None) -> BpmnWorkflow:
        if spec is None:
            raise ValueError("state-only workflow JSON needs the spec to restore")
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class StateSerializer:
    """Dumps and restores workflow state; safe to share between threads."""

    def __init__(self) -> None:
        config = deepcopy(SPIFF_CONFIG)
        config[BpmnWorkflow] = StateOnlyWorkflowConverter
        registry = BpmnWorkflowSerializer.configure(config)
        registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
        registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
        self._serializer = BpmnWorkflowSerializer(registry)
        self._lock = threading.Lock()

    def dump(self, workflow: BpmnWorkflow) -> str:
        with self._lock:
            return self._serializer.serialize_json(workflow)

    def restore(self, state: str, spec: Any, subprocess_specs: dict) -> BpmnWorkflow:
        dct = json.loads(state)
        with self._lock:
            self._serializer.migrate(dct)
            return self._serializer.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
