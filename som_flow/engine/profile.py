"""Names of the som_flow BPMN profile: the extension properties and messages the engine understands.

Properties are `spiffworkflow:properties` on elements (strings):

- process level, on the *pipeline* subprocess (`som.pipeline=true`): `som.allow_back`,
  `som.allow_early_win` (default true). They sit on the pipeline rather than on `bpmn:process`
  because SpiffWorkflow only reads extension properties of flow elements.
- stage subprocess: `som.stage` (key), `som.probability`, `som.required` (comma-separated fields),
  plus `name` as the stage name.
- user tasks: `som.gate=true` (the stage gate), `som.wait=true` (stageless "record outcome" wait,
  never a Task row), `som.role` (who does it; default `rep`), `som.due`, `som.instructions`, `som.form`,
  `som.action`, `som.optional=true` (marks a task on a stage's parallel optional branch),
  `som.done_by=assignment` (the task is done when the deal gets a sales rep, by whatever path: the
  services complete it in the assignment's transaction). `som.form` is a typed field list, see
  `som_flow.engine.forms` (`qualified:yesno, budget:number, next_step:choice(call|visit)`).
- end events: `som.outcome = won | lost`.

Roles: a user task's role is its `som.role`, else `rep`. Lanes are only a picture of roles: the builder
draws each task in its role's lane, but a modeler recomputes lane membership from positions after every
edit (and may put the pipeline or a stage in a lane), so the engine never reads a role from a lane and
validation accepts any element in any lane (a lane naming an unknown element is still refused).
"""

from __future__ import annotations

STAGE = "som.stage"
PROBABILITY = "som.probability"
REQUIRED_FIELDS = "som.required"
GATE = "som.gate"
WAIT = "som.wait"
ROLE = "som.role"
DUE = "som.due"
INSTRUCTIONS = "som.instructions"
FORM = "som.form"
ACTION = "som.action"
OPTIONAL = "som.optional"
DONE_BY = "som.done_by"
OUTCOME = "som.outcome"
PIPELINE = "som.pipeline"
ALLOW_BACK = "som.allow_back"
ALLOW_EARLY_WIN = "som.allow_early_win"
SLA = "som.sla"

MESSAGE_LOSE = "som.lose"
MESSAGE_WIN = "som.win"
LOSE_VARIABLE = "som_lose"
WIN_VARIABLE = "som_win"

# Data keys the engine owns: gateways route on them.
TARGET_STAGE = "target_stage"
START_STAGE = "start_stage"

ROLES = ("rep", "csr", "office", "manager", "scheduler")
DEFAULT_ROLE = "rep"  # a task without som.role (lanes are only a picture of roles)
OUTCOMES = ("won", "lost")
ACTIONS = ("schedule_appointment",)
DONE_BY_ASSIGNMENT = "assignment"
DONE_BY_VALUES = (DONE_BY_ASSIGNMENT,)

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")
