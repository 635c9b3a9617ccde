"""Benchmark: one stage move through som_flow's engine and through the whole service (SQLite), beside a
baseline of the same engine work with no database. Prints medians; not a test.

Run: .venv/bin/python bench/engine_moves.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from som_flow import create_app
from som_flow.clock import FixedClock
from som_flow.config import TestConfig
from som_flow.engine import Engine
from som_flow.extensions import db
from som_flow.processes import OPERATIONS

ROUNDS = 200
STAGES = ["qualification", "proposal", "negotiation"]
BPMN = (Path(__file__).resolve().parents[1] / "bpmn" / "standard-sale.bpmn").read_text()


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_engine() -> dict[str, float]:
    """Baseline: restore → complete the required tasks → move → dump, no database."""
    engine = Engine(operations=OPERATIONS)
    definition = engine.definition(1, BPMN)
    starts, moves, sizes = [], [], []
    for _ in range(ROUNDS):
        t = time.perf_counter()
        run = engine.start(definition, {"amount": 1000.0})
        state = engine.dump(run)
        starts.append(time.perf_counter() - t)
        for stage in STAGES:
            run = engine.restore(definition, state)
            for _ in range(5):
                todo = [r for r in engine.snapshot(run).ready_tasks if r.required and not r.gate]
                if not todo:
                    break
                engine.complete_task(run, todo[0].id, {f: "yes" for f in todo[0].form})
            t = time.perf_counter()
            run = engine.move_to_stage(run, stage)
            state = engine.dump(run)
            moves.append(time.perf_counter() - t)
        sizes.append(len(state))
    return {"start_ms": _median_ms(starts), "move_ms": _median_ms(moves),
            "state_kb_after_3_moves": statistics.median(sizes) / 1024}


def bench_service() -> dict[str, float]:
    """The whole use case: load → move → project (tasks, reminders, events) → save, one SQLite transaction."""
    from som_flow.services import catalogs, customers, kinds, opportunities, users

    folder = tempfile.mkdtemp()
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{folder}/bench.sqlite"
    app = create_app(config, clock=FixedClock())
    creates, moves = [], []
    with app.app_context():
        db.create_all()
        catalogs.seed_defaults()
        kinds.install_shipped_kinds()
        manager = users.create_user("m@x.test", "M", ["manager"])
        customer = customers.create_customer(None, {"kind": "organization", "name": "Bench"})
        for _ in range(ROUNDS // 4):
            t = time.perf_counter()
            opp = opportunities.create_opportunity(manager, {"title": "b", "customer_id": customer.id,
                                                             "kind": "standard-sale"})
            creates.append(time.perf_counter() - t)
            for stage in STAGES:
                for _ in range(5):
                    todo = [x for x in opportunities.open_tasks(opp) if x.required]
                    if not todo:
                        break
                    opportunities.complete_task(manager, todo[0].id, {f: "yes" for f in todo[0].form})
                t = time.perf_counter()
                opportunities.move_to_stage(manager, opp.id, stage)
                moves.append(time.perf_counter() - t)
    return {"create_ms": _median_ms(creates), "move_ms": _median_ms(moves)}


if __name__ == "__main__":
    engine = bench_engine()
    service = bench_service()
    print(f"engine only   : start {engine['start_ms']:.2f} ms, move {engine['move_ms']:.2f} ms, "
          f"state {engine['state_kb_after_3_moves']:.1f} KB after 3 moves")
    print(f"service+SQLite: create {service['create_ms']:.2f} ms, move {service['move_ms']:.2f} ms "
          f"({service['move_ms'] / engine['move_ms']:.1f}x the engine-only move)")
