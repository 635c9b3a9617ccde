"""Benchmark for issue #3: one stage move in raw SpiffWorkflow and through som_flow's service, on SQLite.

(a) raw SpiffWorkflow, the standard kind: its spec parsed once, then per move deserialize the library's
    own JSON → complete the stage gate → do_engine_steps → serialize (what an app storing the library's
    JSON would do per request).
(b) som_flow: `opportunities.move_to_stage` on the standard kind — load the opportunity and its state,
    restore with the cached spec, move on a copy, project tasks / reminders / events, save, commit.
(c) (b) after 60 moves of history, on a custom kind with back moves (service-contract); also the same
    kind with no history, to separate the kind from the history.
(d) a task completion: raw SpiffWorkflow (deserialize → run a required user task → steps → serialize) beside
    `opportunities.complete_task` on the standard kind.
Beside each service time: the SQL statements it sent (a `before_cursor_execute` count, BEGIN included). Each timed
call is made as a request makes it: the signed-in user read first (not timed, not counted), then the service.
Targets: (b) ≤ 1.3 × (a); (c) ≤ 1.5 × (b); (d) service ≤ 1.3 × raw. Prints medians; not a test.

Run: .venv/bin/python bench/engine.py [--rounds N] [--cpu] [--repeat K]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event

from som_flow import create_app
from som_flow.clock import FixedClock
from som_flow.config import TestConfig
from som_flow.engine import Engine
from som_flow.extensions import db
from som_flow.processes import OPERATIONS

STAGES = ["lead", "qualification", "proposal", "negotiation"]
BPMN = (Path(__file__).resolve().parents[1] / "bpmn" / "standard-sale.bpmn").read_text()
HISTORY = 60
clock = time.perf_counter  # --cpu: time.process_time, this process's CPU only (a machine others are busy on)


def _ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


# -- (a) raw SpiffWorkflow -------------------------------------------------------------------------
def _props(task) -> dict:
    return (getattr(task.task_spec, "extensions", None) or {}).get("properties") or {}


def _ready_user_tasks(workflow: BpmnWorkflow) -> list:
    return workflow.get_tasks(state=TaskState.READY, spec_class=UserTask)


def _raw_state_at(spec, subprocesses, serializer, stage: str) -> str:
    """The library's JSON of a standard-sale run in `stage` with its required tasks done (gate ready)."""
    workflow = BpmnWorkflow(spec, subprocesses)
    start = next(t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.name == "Start")
    start.data.update(start_stage=stage, target_stage=stage)
    workflow.do_engine_steps()
    for _ in range(10):
        todo = [t for t in _ready_user_tasks(workflow)
                if _props(t).get("som.gate") != "true" and _props(t).get("som.optional") != "true"]
        if not todo:
            break
        todo[0].run()
        workflow.do_engine_steps()
    return serializer.serialize_json(workflow)


def _raw_open_state(spec, subprocesses, serializer, stage: str) -> str:
    """The library's JSON of a standard-sale run just entered `stage` (its required tasks still open)."""
    workflow = BpmnWorkflow(spec, subprocesses)
    start = next(t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.name == "Start")
    start.data.update(start_stage=stage, target_stage=stage)
    workflow.do_engine_steps()
    return serializer.serialize_json(workflow)


class RawLoop:
    """The raw cycle of the standard kind, ready to run one move or one completion at a time: the bench runs its own
    loop of each, and the service bench runs one beside each timed service call (a pair sees the same machine)."""

    def __init__(self) -> None:
        parser = SpiffBpmnParser()
        parser.add_bpmn_str(BPMN.encode())
        [process_id] = parser.get_process_ids()
        spec, subprocesses = parser.get_spec(process_id), parser.get_subprocess_specs(process_id)
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        self.states = {stage: _raw_state_at(spec, subprocesses, self.serializer, stage) for stage in STAGES[:-1]}
        # a task completion: the first required, non-gate user task of a stage just entered
        self.open_states = {stage: _raw_open_state(spec, subprocesses, self.serializer, stage)
                            for stage in STAGES[:-1]}

    def move(self, index: int) -> float:
        """Seconds for one move from STAGES[index] to the next."""
        t = clock()
        workflow = self.serializer.deserialize_json(self.states[STAGES[index]])
        gate = next(x for x in _ready_user_tasks(workflow) if _props(x).get("som.gate") == "true")
        gate.data["target_stage"] = STAGES[index + 1]
        gate.run()
        workflow.do_engine_steps()
        self.serializer.serialize_json(workflow)
        return clock() - t

    def complete(self, stage: str) -> float | None:
        """Seconds for one completion of the first required task of `stage` (None: it has none)."""
        t = clock()
        workflow = self.serializer.deserialize_json(self.open_states[stage])
        todo = [x for x in _ready_user_tasks(workflow)
                if _props(x).get("som.gate") != "true" and _props(x).get("som.optional") != "true"]
        if not todo:
            return None
        todo[0].run()
        workflow.do_engine_steps()
        self.serializer.serialize_json(workflow)
        return clock() - t


def bench_raw(rounds: int, raw: RawLoop) -> dict:
    samples = [raw.move(index) for _ in range(rounds) for index in range(len(STAGES) - 1)]
    completions = [c for _ in range(rounds) for stage in STAGES[:-1] if (c := raw.complete(stage)) is not None]
    return {"move_ms": _ms(samples), "complete_ms": _ms(completions),
            "state_kb": statistics.median(len(s) for s in raw.states.values()) / 1024}


def bench_engine_only(rounds: int) -> float:
    """som_flow's engine with no database: restore state-only JSON → move on a copy → dump (context)."""
    engine = Engine(OPERATIONS)
    definition = engine.definition(1, BPMN)
    states = {}
    for stage in STAGES[:-1]:
        run = engine.start(definition, {}, start_stage=stage)
        for _ in range(10):
            todo = [r for r in engine.snapshot(run).ready_tasks if r.required and not r.gate]
            if not todo:
                break
            engine.complete_task(run, todo[0].id, {f: "yes" for f in todo[0].form})
        states[stage] = engine.dump(run)
    samples = []
    for _ in range(rounds):
        for index, stage in enumerate(STAGES[:-1]):
            t = clock()
            run = engine.restore(definition, states[stage])
            moved = engine.move_to_stage(run, STAGES[index + 1])
            engine.snapshot(moved)
            engine.dump(moved)
            samples.append(clock() - t)
    return _ms(samples)


# -- (b) and (c) through the service ---------------------------------------------------------------
def bench_service(rounds: int, raw: RawLoop) -> dict:
    from som_flow.models import User, WorkflowState
    from som_flow.services import catalogs, customers, kinds, opportunities, users
    from som_flow.services.history import history

    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    app = create_app(config, clock=FixedClock())
    with app.app_context():
        db.create_all()
        catalogs.seed_defaults()
        kinds.install_shipped_kinds()
        manager = users.create_user("m@x.test", "M", ["manager"])
        customer = customers.create_customer(None, {"kind": "organization", "name": "Bench"})
        sent = [0]  # SQL statements sent to the database, counted by the driver hook
        event.listen(db.engine, "before_cursor_execute", lambda *_: sent.__setitem__(0, sent[0] + 1))
        statements: dict[str, list[int]] = {"standard": [], "complete": [], "custom_fresh": [], "custom_history": []}
        paired: dict[str, list[float]] = {"move": [], "complete": []}  # a raw call right before each timed one

        def new(kind: str) -> int:
            return opportunities.create_opportunity(manager, {"title": "b", "customer_id": customer.id,
                                                              "kind": kind}).id

        def signed_in() -> User:
            """The actor as a request has it: read (with its session) before the request's service call."""
            return db.session.get(User, manager.id, populate_existing=True)

        def timed_move(opp_id: int, stage: str, into: list[float], counts: list[int]) -> None:
            actor = signed_in()
            before = sent[0]
            t = clock()
            opportunities.move_to_stage(actor, opp_id, stage)
            into.append(clock() - t)
            counts.append(sent[0] - before)

        # (b) standard kind, the required tasks done untimed before each move
        # (d) the completions of those required tasks, timed and counted too
        standard: list[float] = []
        complete: list[float] = []
        for _ in range(max(rounds // 3, 10)):
            opp_id = new("standard-sale")
            for stage in STAGES[1:]:
                for _ in range(10):
                    opp = opportunities.get_opportunity(opp_id)
                    todo = [x for x in opportunities.open_tasks(opp) if x.required]
                    if not todo:
                        break
                    task_id, answers = todo[0].id, {f: "yes" for f in todo[0].form}
                    db.session.commit()  # end the read: the count is the completion's own
                    paired["complete"].append(raw.complete(STAGES[STAGES.index(stage) - 1]) or 0.0)
                    actor = signed_in()
                    before = sent[0]
                    t = clock()
                    opportunities.complete_task(actor, task_id, answers)
                    complete.append(clock() - t)
                    statements["complete"].append(sent[0] - before)
                paired["move"].append(raw.move(STAGES.index(stage) - 1))
                timed_move(opp_id, stage, standard, statements["standard"])

        # the custom kind with no history: lead → qualification → proposal → negotiation
        custom_fresh: list[float] = []
        for _ in range(max(rounds // 3, 10)):
            opp_id = new("service-contract")
            for stage in STAGES[1:]:
                timed_move(opp_id, stage, custom_fresh, statements["custom_fresh"])

        # (c) 60 moves of history (forward steps and back moves), then timed next-stage moves
        custom_history: list[float] = []
        opp_id = new("service-contract")
        fresh_state = len(db.session.get(WorkflowState, opp_id).state)
        moves = 0
        while moves < HISTORY:
            for stage in [*STAGES[1:], "lead"]:  # three steps forward, one back
                opportunities.move_to_stage(manager, opp_id, stage)
                moves += 1
        history_state = len(db.session.get(WorkflowState, opp_id).state)
        for _ in range(rounds):
            for stage in STAGES[1:]:
                timed_move(opp_id, stage, custom_history, statements["custom_history"])
            opportunities.move_to_stage(manager, opp_id, "lead")  # back, untimed
        events = len(history(opportunities.get_opportunity(opp_id)))
    return {"standard_ms": _ms(standard), "complete_ms": _ms(complete),
            "paired_move_ms": _ms(paired["move"]), "paired_complete_ms": _ms([x for x in paired["complete"] if x]),
            "statements": {k: statistics.median(v) for k, v in statements.items()},
            "custom_fresh_ms": _ms(custom_fresh),
            "custom_history_ms": _ms(custom_history), "fresh_state_kb": fresh_state / 1024,
            "history_state_kb": history_state / 1024, "events": events}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--cpu", action="store_true",
                        help="time by this process's CPU time, not the wall clock (for a busy machine; SQLite's "
                             "writes wait on no disk here: its journal is WAL without fsync per commit)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="passes to run; with more than one, the median of their ratios is printed at the end")
    args = parser.parse_args()
    rounds = args.rounds
    global clock
    if args.cpu:
        clock = time.process_time
    print(f"timed by {'CPU time' if args.cpu else 'the wall clock'}, medians of {rounds} rounds")

    ratios: dict[str, list[float]] = {"b": [], "c": [], "d": [], "pb": [], "pd": []}
    for repeat in range(args.repeat):
        if args.repeat > 1:
            print(f"-- pass {repeat + 1} of {args.repeat}")
        for key, value in _one_pass(rounds).items():
            ratios[key].append(value)
    if args.repeat > 1:
        print(f"-- median of the {args.repeat} passes' ratios (each pass: its raw loop and its service back to back)")
        for key, target, label in (("b", 1.3, "(b)/(a)"), ("c", 1.5, "(c)/(b)"), ("d", 1.3, "(d) service/raw"),
                                   ("pb", 1.3, "paired move"), ("pd", 1.3, "paired completion")):
            value = statistics.median(ratios[key])
            each = ", ".join(f"{r:.2f}" for r in ratios[key])
            print(f"{label} = {value:.2f}  target ≤ {target:.2f}: {'met' if value <= target else 'MISSED'}  ({each})")


def _one_pass(rounds: int) -> dict[str, float]:
    loop = RawLoop()
    raw = bench_raw(rounds, loop)
    engine_only = bench_engine_only(rounds)
    service = bench_service(rounds, loop)
    a, b, c = raw["move_ms"], service["standard_ms"], service["custom_history_ms"]
    n = service["statements"]
    print(f"(a) raw SpiffWorkflow move, standard kind      : {a:7.2f} ms  (library JSON {raw['state_kb']:.1f} KB)")
    print(f"    som_flow engine only, no database           : {engine_only:7.2f} ms")
    print(f"(b) service move on SQLite, standard kind       : {b:7.2f} ms  {n['standard']:.0f} SQL statements")
    print(f"    service move, custom kind, no history       : {service['custom_fresh_ms']:7.2f} ms  "
          f"{n['custom_fresh']:.0f} SQL statements")
    print(f"(c) service move, custom kind, {HISTORY}+ moves history: {c:7.2f} ms  "
          f"{n['custom_history']:.0f} SQL statements "
          f"(state {service['fresh_state_kb']:.1f} KB fresh, {service['history_state_kb']:.1f} KB after "
          f"{HISTORY} moves; {service['events']} events)")
    d_raw, d = raw["complete_ms"], service["complete_ms"]
    print(f"(d) raw SpiffWorkflow task completion          : {d_raw:7.2f} ms")
    print(f"    service task completion, standard kind      : {d:7.2f} ms  {n['complete']:.0f} SQL statements")
    ratio_b, ratio_c = b / a, c / b
    print(f"(b)/(a) = {ratio_b:.2f}  target ≤ 1.30: {'met' if ratio_b <= 1.3 else 'MISSED'}")
    print(f"(c)/(b) = {ratio_c:.2f}  target ≤ 1.50: {'met' if ratio_c <= 1.5 else 'MISSED'}")
    print(f"(d) service/raw = {d / d_raw:.2f}  target ≤ 1.30: {'met' if d / d_raw <= 1.3 else 'MISSED'}")
    print(f"(c)/custom with no history = {c / service['custom_fresh_ms']:.2f} (the cost of history alone)")
    pair_b, pair_d = b / service["paired_move_ms"], d / service["paired_complete_ms"]
    print(f"paired (a raw call run right before each timed service call): move {pair_b:.2f}× its raw "
          f"({service['paired_move_ms']:.2f} ms), completion {pair_d:.2f}× ({service['paired_complete_ms']:.2f} ms)")
    return {"b": ratio_b, "c": ratio_c, "d": d / d_raw, "pb": pair_b, "pd": pair_d}


if __name__ == "__main__":
    main()
