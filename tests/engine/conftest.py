"""Fixtures for the engine tests: one Engine with the real operations and the shipped kinds."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from som_flow.engine import Engine, ProcessDefinition, Run
from som_flow.processes import OPERATIONS, build_kind_bpmn, shipped_bpmn

VERSION_IDS = {"standard-sale": 1, "service-contract": 2, "stageless": 3}


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine(OPERATIONS)


@pytest.fixture(scope="session")
def kinds(engine: Engine) -> dict[str, ProcessDefinition]:
    return {key: engine.definition(vid, shipped_bpmn(key)) for key, vid in VERSION_IDS.items()}


@pytest.fixture
def saved(engine: Engine) -> Callable[[Run], Run]:
    """Save and load a run, as every request does (state only, spec from the cache)."""

    def roundtrip(run: Run) -> Run:
        return engine.restore(run.definition, engine.dump(run))

    return roundtrip


@pytest.fixture
def finish_stage(engine: Engine, saved: Callable[[Run], Run]) -> Callable[[Run], Run]:
    """Complete every required task of the current stage, saving in between."""

    def finish(run: Run) -> Run:
        for _ in range(20):
            todo = [t for t in engine.snapshot(run).ready_tasks if t.required and not t.gate]
            if not todo:
                return run
            engine.complete_task(run, todo[0].id, {f: True for f in todo[0].form})
            run = saved(run)
        raise AssertionError("stage never finished")

    return finish


@pytest.fixture
def build(engine: Engine) -> Callable[..., ProcessDefinition]:
    counter = iter(range(1000, 10_000))

    def make(**kwargs) -> ProcessDefinition:
        kwargs.setdefault("key", "test-kind")
        kwargs.setdefault("name", "Test kind")
        return engine.definition(next(counter), build_kind_bpmn(**kwargs))

    return make
