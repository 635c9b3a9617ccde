"""Random walks of one opportunity through the services, checked against a small model of its kind.

A hypothesis state machine moves (forward, skips, backward, onto the same stage), wins, loses, reopens,
holds, resumes, completes tasks and sets fields on an opportunity of the standard kind and of a custom
kind with skips, back moves, a required task and a required field. After every step the stored rows
must agree with the engine and with the model; a refused action must leave every row as it was.
SQLite only: the backends are covered by the other engine tests, this one is about the state space.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select

from som_flow.engine import IllegalMove
from som_flow.errors import Conflict, SomFlowError, StaleVersion, ValidationFailed
from som_flow.extensions import db
from som_flow.models import Event, Opportunity, Reminder, Task, User, WorkflowState
from som_flow.services import kinds as kind_services
from som_flow.services import opportunities as opps
from som_flow.services import process_run
from tests.helpers import make_customer, make_user

STAGES = ["lead", "qualification", "proposal", "negotiation"]
PROBABILITY = {"lead": 10, "qualification": 20, "proposal": 50, "negotiation": 80}
SETTINGS = settings(max_examples=25, stateful_step_count=25, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

CUSTOM_DESIGN = {
    "key": "field-deal", "name": "Field deal", "type": "custom", "stages": STAGES,
    "allow_skip": True, "allow_back": True,
    "stage_tasks": {"qualification": [{"title": "Qualify budget", "role": "rep", "required": True}],
                    "proposal": [{"title": "Send brochure", "role": "rep"}]},
    "required_fields": {"proposal": ["amount"]},
}


@dataclass(frozen=True)
class KindModel:
    """What a kind allows, written down independently of the BPMN."""

    key: str
    skip: bool
    back: bool
    required_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def allowed(self, stage: str) -> list[str]:
        i = STAGES.index(stage)
        forward = STAGES[i + 1:] if self.skip else STAGES[i + 1:i + 2]
        return (STAGES[:i] if self.back else []) + forward


STANDARD = KindModel("standard-sale", skip=False, back=False)
CUSTOM = KindModel("field-deal", skip=True, back=True, required_fields={"proposal": ("amount",)})


def _fingerprint(opp_id: int) -> tuple:
    """Everything a refused action must leave untouched."""
    db.session.expire_all()
    opp = db.session.get(Opportunity, opp_id)
    tasks = sorted((t.id, t.status) for t in db.session.scalars(select(Task).where(Task.opportunity_id == opp_id)))
    events = db.session.scalar(select(func.count()).select_from(Event).where(Event.opportunity_id == opp_id))
    state = db.session.get(WorkflowState, opp_id)
    reminders = sorted((r.idempotency_key, r.state) for r in db.session.scalars(
        select(Reminder).where(Reminder.opportunity_id == opp_id)))
    return (opp.stage, opp.status, opp.version, opp.probability, opp.amount, tuple(tasks), events,
            state.state, tuple(reminders))


class OpportunityWalk(RuleBasedStateMachine):
    """One opportunity per example; the model is `stage`, `status` and the hand-set probability."""

    kind: KindModel
    seen: Counter  # what the walks of one test reached, so the test can show it explored

    def __init__(self, actor_id: int, customer_id: int):
        super().__init__()
        self.actor = db.session.get(User, actor_id)
        opp = opps.create_opportunity(self.actor, {"title": "Walk", "customer_id": customer_id,
                                                   "kind": self.kind.key})
        self.opp_id = opp.id
        self.stage = "lead"
        self.status = "in_progress"
        self.manual_probability: int | None = None
        self.amount = Decimal("0")
        self.events = self._events()

    # -- helpers -----------------------------------------------------------------------------------
    def _events(self) -> list[str]:
        return list(db.session.scalars(select(Event.type).where(Event.opportunity_id == self.opp_id)
                                       .order_by(Event.id)))

    def _opp(self) -> Opportunity:
        db.session.expire_all()
        return db.session.get(Opportunity, self.opp_id)

    def _open_tasks(self) -> list[Task]:
        return list(db.session.scalars(select(Task).where(Task.opportunity_id == self.opp_id,
                                                          Task.status == "open").order_by(Task.id)))

    def _refused(self, error: type[SomFlowError], call, *args, **kwargs) -> SomFlowError:
        before = _fingerprint(self.opp_id)
        with pytest.raises(error) as refused:
            call(*args, **kwargs)
        assert _fingerprint(self.opp_id) == before, f"a refused {call.__name__} changed rows"
        self.seen[f"refused {call.__name__} {type(refused.value).__name__}"] += 1
        return refused.value

    def _succeeded(self, *expected: str) -> None:
        """The call wrote at least the expected events, in order, and lost none of the earlier ones."""
        events = self._events()
        assert events[:len(self.events)] == self.events, "an earlier event disappeared"
        new = events[len(self.events):]
        assert all(e in new for e in expected), f"events {new} lack {expected}"
        positions = [new.index(e) for e in expected]
        assert positions == sorted(positions), f"events {new} lack {expected}"
        self.events = events

    @property
    def closed(self) -> bool:
        return self.status in ("won", "lost")

    # -- rules -------------------------------------------------------------------------------------
    @rule(stage=st.sampled_from(STAGES))
    def move(self, stage):
        target = stage
        call = (opps.move_to_stage, self.actor, self.opp_id, target)  # no version: the guard is stale_move's
        if self.closed or self.status == "on_hold":
            error = self._refused(Conflict, *call)
            assert not isinstance(error, IllegalMove)
            return
        if target == self.stage:
            self._refused(Conflict, *call)
            return
        missing = [f for f in self.kind.required_fields.get(self.stage, ()) if self.amount == 0]
        if missing:
            error = self._refused(ValidationFailed, *call)
            assert set(error.errors) == set(missing)
            return
        if target not in self.kind.allowed(self.stage):
            error = self._refused(IllegalMove, *call)
            assert error.allowed == self.kind.allowed(self.stage), "the refusal names the allowed stages"
            return
        forward = STAGES.index(target) > STAGES.index(self.stage)
        required = [t.title for t in self._open_tasks() if t.required and t.stage == self.stage]
        if forward and required:
            error = self._refused(ValidationFailed, *call)
            assert all(title in error.detail for title in required), error.detail
            return
        opps.move_to_stage(self.actor, self.opp_id, target)
        step = STAGES.index(target) - STAGES.index(self.stage)
        self.seen["back" if step < 0 else "skip" if step > 1 else "forward"] += 1
        self.seen[f"reached {target}"] += 1
        self.stage = target
        self._succeeded("stage_changed")

    @precondition(lambda self: self.stage != STAGES[-1])
    @rule()
    def move_next(self):
        self.move(STAGES[STAGES.index(self.stage) + 1])

    @precondition(lambda self: self.stage != STAGES[0])
    @rule(pick=st.integers(min_value=0, max_value=3))
    def move_back(self, pick):
        earlier = STAGES[:STAGES.index(self.stage)]
        self.move(earlier[pick % len(earlier)])

    @precondition(lambda self: not self.closed and self.stage != STAGES[-1])
    @rule()
    def work_and_move_next(self):
        """The everyday path: do the stage's required tasks, fill what leaving needs, move on."""
        self.finish_stage()
        if self.kind.required_fields.get(self.stage) and self.amount == 0:
            self.set_amount(Decimal("1250.00"))
        self.move_next()

    @rule(outcome=st.sampled_from(["won", "lost"]), reason=st.sampled_from(["price", "other"]))
    def close(self, outcome, reason):
        """Win or lose (one rule, so that deals are not closed in most steps)."""
        call = opps.win if outcome == "won" else opps.lose
        reason = reason if reason != "other" else ("relationship" if outcome == "won" else "competitor")
        if self.closed:
            self._refused(Conflict, call, self.actor, self.opp_id, reason=reason)
            return
        call(self.actor, self.opp_id, reason=reason)
        self.status = outcome
        self.seen[outcome] += 1
        self._succeeded(outcome)

    @rule()
    def reopen(self):
        if not self.closed:
            self._refused(Conflict, opps.reopen, self.actor, self.opp_id)
            return
        opps.reopen(self.actor, self.opp_id)
        self.status = "in_progress"
        self.manual_probability = None  # a reopened deal takes its stage's default again
        self.seen["reopened"] += 1
        self._succeeded("reopened", "stage_changed")

    @rule(hold=st.booleans())
    def hold_or_resume(self, hold):
        was = self.status
        if hold and self.closed:
            self._refused(Conflict, opps.hold, self.actor, self.opp_id)
            return
        if hold:
            opps.hold(self.actor, self.opp_id)
            self.status = "on_hold"
            self._succeeded(*(["held"] if was != "on_hold" else []))
            return
        opps.resume(self.actor, self.opp_id)  # a no-op unless on hold
        if was == "on_hold":
            self.status = "in_progress"
        self._succeeded(*(["resumed"] if was == "on_hold" else []))

    @precondition(lambda self: not self.closed)
    @rule()
    def finish_stage(self):
        """Do the open required tasks one after another, as the rep and the office would."""
        for _ in range(5):
            todo = [t for t in self._open_tasks() if t.required]
            if not todo:
                return
            opps.complete_task(self.actor, todo[0].id, {f: "yes" for f in todo[0].form})
            self._succeeded("task_completed")

    @precondition(lambda self: not self.closed)
    @rule(pick=st.integers(min_value=0, max_value=5), required_first=st.booleans())
    def complete_task(self, pick, required_first):
        tasks = self._open_tasks()
        if required_first:
            tasks = [t for t in tasks if t.required] or tasks
        if not tasks:
            return
        task = tasks[pick % len(tasks)]
        opps.complete_task(self.actor, task.id, {f: "yes" for f in task.form})
        self._succeeded("task_completed")
        db.session.expire_all()
        assert db.session.get(Task, task.id).status == "done"

    @rule(value=st.integers(min_value=0, max_value=100))
    def set_probability(self, value):
        if self.closed:
            self._refused(Conflict, opps.update_opportunity, self.actor, self.opp_id, {"probability": value})
            return
        opps.update_opportunity(self.actor, self.opp_id, {"probability": value})
        self.manual_probability = value
        self._succeeded()

    @rule(amount=st.sampled_from([Decimal("0"), Decimal("1250.00")]))
    def set_amount(self, amount):
        if self.closed:
            self._refused(Conflict, opps.update_opportunity, self.actor, self.opp_id, {"amount": amount})
            return
        opps.update_opportunity(self.actor, self.opp_id, {"amount": amount})
        self.amount = amount
        self._succeeded()

    @rule(version=st.integers(min_value=-3, max_value=-1))
    def stale_move(self, version):
        """A move carrying an old version is refused whatever the stage."""
        if self.closed or self.status == "on_hold":
            return
        target = self.kind.allowed(self.stage)[-1] if self.kind.allowed(self.stage) else self.stage
        current = self._opp().version
        self._refused(StaleVersion, opps.move_to_stage, self.actor, self.opp_id, target,
                      expected_version=current + version)

    # -- invariants --------------------------------------------------------------------------------
    @invariant()
    def rows_agree_with_the_engine_and_the_model(self):
        opp = self._opp()
        eng = process_run.engine()
        state = db.session.get(WorkflowState, self.opp_id)
        assert state.kind_version_id == opp.kind_version_id
        snap = eng.snapshot(eng.restore(process_run.definition_for(opp.kind_version), state.state))
        assert opp.status == self.status
        assert opp.stage == self.stage, "the stored stage is the model's"
        if self.closed:
            assert opp.closed and snap.completed and snap.outcome == self.status
            assert opps.allowed_stages(opp) == []
            assert opp.probability == (100 if self.status == "won" else 0)
        else:
            assert not opp.closed and not snap.completed
            assert snap.stage == opp.stage, "the stored stage is the engine's"
            assert list(snap.allowed_stages) == self.kind.allowed(self.stage)
            expected = self.manual_probability if self.manual_probability is not None else PROBABILITY[self.stage]
            assert opp.probability == expected
        open_ids = {t.id for t in self._open_tasks()}
        assert open_ids == {t.id for t in snap.ready_tasks if not t.gate}, "open tasks are the READY user tasks"
        timers = set(db.session.scalars(select(Reminder.source_id).where(
            Reminder.opportunity_id == self.opp_id, Reminder.kind == "process_timer", Reminder.state == "pending")))
        assert timers == ({t.id for t in snap.timers} if not self.closed else set())
        moves = [e for e in db.session.scalars(select(Event).where(
            Event.opportunity_id == self.opp_id, Event.type == "stage_changed").order_by(Event.id))]
        assert moves[-1].data["to"] == self.stage, "the last stage_changed event is where the deal is"


class StandardWalk(OpportunityWalk):
    kind = STANDARD
    seen = Counter()


class CustomWalk(OpportunityWalk):
    kind = CUSTOM
    seen = Counter()


@pytest.fixture
def people(app):
    actor = make_user("manager@x.test", "manager")
    customer = make_customer("Walker Ltd.")
    return actor.id, customer.id


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_standard_kind_random_walks(people):
    StandardWalk.seen.clear()
    run_state_machine_as_test(lambda: StandardWalk(*people), settings=SETTINGS)
    seen = StandardWalk.seen
    assert seen["reached negotiation"] and seen["won"] and seen["lost"] and seen["reopened"], seen
    assert seen["refused move_to_stage IllegalMove"] and seen["refused move_to_stage ValidationFailed"], seen


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_custom_kind_random_walks(people):
    kind_services.save_designed_kind(dict(CUSTOM_DESIGN))
    CustomWalk.seen.clear()
    run_state_machine_as_test(lambda: CustomWalk(*people), settings=SETTINGS)
    seen = CustomWalk.seen
    assert seen["skip"] and seen["back"] and seen["reached negotiation"] and seen["reopened"], seen
    assert seen["refused move_to_stage ValidationFailed"] and seen["refused move_to_stage StaleVersion"], seen
