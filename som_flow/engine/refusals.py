"""What an admin reads when an upload is refused: the sentence for each element som_flow does not run (with what to
draw instead), the library's and the BPMN schema's messages in plain words, and one row per root cause.

Kept apart from definition.py, which decides *whether* a document is refused; this module only words *why*.
"""

from __future__ import annotations

import re

from som_flow.engine import profile as p
from som_flow.errors import InvalidProcess

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ACTIVITI_NS = "http://activiti.org/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"

# What a modeler draws that som_flow does not run, each with what to draw instead (said of one element; many of
# one kind collapse into one row, see _Errors). Their contents are not judged separately: one reason per element.
REFUSED_ELEMENTS = {
    "scriptTask": "script tasks are not run (no code in a BPMN file): draw a service task with a registered "
                  "operation, or a user task",
    "script": "scripts are not run (no code in a BPMN file): use a service task with a registered operation",
    "callActivity": "call activities are not supported: draw the called process inline as an expanded subprocess",
    "businessRuleTask": "business rule tasks are not supported: draw an exclusive gateway with a condition on "
                        "each outgoing flow",
    "sendTask": "send tasks are not supported: draw a service task with a registered operation (a notification)",
    "receiveTask": "receive tasks are not supported: draw a user task that someone completes when the answer "
                   "arrives",
    "standardLoopCharacteristics": "loop markers are not supported: draw the steps once; repetition is modelled "
                                   "by restarting a stage",
    "multiInstanceLoopCharacteristics": "multi-instance markers are not supported: draw a single task (or one "
                                        "task per party)",
    "conditionalEventDefinition": "conditional events are not supported: draw an exclusive gateway with a "
                                  "condition on its outgoing flow",
    "signalEventDefinition": "signal events are not supported: draw a message event (the pipeline's lose and win "
                             "messages) or a user task",
    "errorEventDefinition": "error events are not supported: draw an end event, or an exclusive gateway that "
                            "routes the failure",
    "escalationEventDefinition": "escalation events are not supported: draw a timer on the task with a follow-up "
                                 "user task for the person to escalate to",
    "compensateEventDefinition": "compensation events are not supported: draw the undoing steps as user tasks",
    "cancelEventDefinition": "cancel events are not supported: draw an end event",
    "linkEventDefinition": "link events are not supported: draw the sequence flow itself",
    "intermediateThrowEvent": "throwing events are not supported: draw a service task with a registered "
                              "operation, or delete the event",
    "complexGateway": "complex gateways are not supported: draw an inclusive or exclusive gateway with a "
                      "condition on each outgoing flow",
    "eventBasedGateway": "event-based gateways are not supported: draw an exclusive gateway, or a timer on the "
                         "waiting user task",
    "transaction": "transactions are not supported: draw an ordinary expanded subprocess",
    "adHocSubProcess": "ad-hoc subprocesses are not supported: draw an expanded subprocess with its tasks on "
                       "parallel branches (a parallel gateway)",
    "messageFlow": "message flows between pools are not supported: som_flow runs one pool; delete the message "
                   "flow (the pipeline's lose and win messages come from the app)",
    "dataObjectReference": "data objects are not supported: keep the data in the deal's fields (a task's form); "
                           "delete the data object",
    "dataStoreReference": "data stores are not supported: keep the data in the deal's fields; delete the data "
                          "store",
    "dataInputAssociation": "data associations are not supported: a task reads the deal's fields; delete the "
                            "association",
    "dataOutputAssociation": "data associations are not supported: a task writes the deal's fields through its "
                             "form; delete the association",
    "ioSpecification": "task inputs and outputs are not supported: a task reads the deal's fields and writes "
                       "them through its form (som.form); delete the inputs and outputs",
    "dataInput": "data inputs are not supported: a task reads the deal's fields; delete the data input",
    "dataOutput": "data outputs are not supported: a task writes the deal's fields through its form; delete the "
                  "data output",
    "property": "process and task variables are not supported: keep the data in the deal's fields",
    "potentialOwner": "who does a task comes from its role (som.role), not from a potential owner: delete the "
                      "assignment and set som.role",
    "performer": "who does a task comes from its role (som.role), not from a performer: delete the assignment "
                 "and set som.role",
    "resourceRole": "who does a task comes from its role (som.role), not from a resource: delete the assignment "
                    "and set som.role",
    "humanPerformer": "who does a task comes from its role (som.role), not from a performer: delete the "
                      "assignment and set som.role",
    "choreographyTask": "choreographies are not supported: draw the process of one pool",
    "subChoreography": "choreographies are not supported: draw the process of one pool",
    "conversation": "conversations are not supported: draw the process of one pool",
}
# Executable content in the vocabularies modelers write: code another engine would run. som_flow runs none of it,
# so an admin who drew it would expect something that never happens: it is refused, saying what to draw instead.
# Everything else in these vocabularies is data and is ignored here (processes/modeler.py reads some of it):
# properties, form fields, input/output mappings without scripts, retry counts (spiffworkflow:retry), unit tests,
# job types and headers (zeebe:taskDefinition, zeebe:taskHeaders), modeler and grid settings, colours.
LISTENER = ("listeners are not run: som_flow runs no code from a BPMN file; delete the listener and draw a "
             "service task with a registered operation where its effect belongs")
VENDOR_EXECUTABLE = {
    (p.SPIFF_NS, "script"): "scripts are not run (no code in a BPMN file): use a service task with a registered "
                            "operation",
    (p.SPIFF_NS, "preScript"): "pre-scripts are not run (no code in a BPMN file): delete it; a service task "
                               "with a registered operation can do the work",
    (p.SPIFF_NS, "postScript"): "post-scripts are not run (no code in a BPMN file): delete it; a service task "
                                "with a registered operation can do the work",
    (p.SPIFF_NS, "messagePayload"): "message payloads are not supported: the deal's messages carry no data; "
                                    "delete the payload",
    (p.SPIFF_NS, "payloadExpression"): "message payloads are not supported: the deal's messages carry no data; "
                                       "delete the payload",
    (CAMUNDA_NS, "script"): "scripts are not run (no code in a BPMN file): delete it; a service task with a "
                             "registered operation can do the work",
    (CAMUNDA_NS, "executionListener"): LISTENER,
    (CAMUNDA_NS, "taskListener"): LISTENER,
    (ACTIVITI_NS, "executionListener"): LISTENER,
    (ACTIVITI_NS, "taskListener"): LISTENER,
    (ZEEBE_NS, "script"): "scripts are not run (no code in a BPMN file): use a service task with a registered "
                           "operation",
}
NOT_EXECUTABLE = ('the process is not marked executable: set isExecutable="true" on the process (in Camunda '
                   'Modeler, tick "Executable" in the process\'s properties)')


# What SpiffWorkflow says when it cannot read a process, in the admin's words. Keyed by a pattern of its message.
LIBRARY_SENTENCES = (
    (r"No start event found", "the process has no start event: draw one start event where the process begins"),
    (r"Exactly one start event is required in a SubWorkflow Task; found (\d+)",
     "this subprocess needs exactly one start event, found {0}: keep one start event inside it"),
    (r"A SubWorkflow Must contain an End event", "this subprocess has no end event: draw one after its last task"),
    (r"Non-default exclusive outgoing sequence flow without condition",
     "this flow leaves an exclusive gateway without a condition: give it a condition, or make it the gateway's "
     "default flow"),
    (r"is not executable", NOT_EXECUTABLE),
    (r"Could not find messageRef", "this message event names no message: choose the message it waits for"),
    (r"Duplicate process ID", "two processes have this id: give each its own id"),
)
# What the BPMN schema says of an element (lxml's wording), in the admin's words; {0} is the setting's name.
SCHEMA_SENTENCES = (
    (r"The attribute 'attachedToRef' is required", "is not attached to a task: draw it on the border of the task "
     "or subprocess it belongs to"),
    (r"The attribute 'sourceRef' is required", "has no start: connect it from the element it leaves"),
    (r"The attribute 'targetRef' is required", "has no end: connect it to the element it leads to"),
    (r"The attribute '(\w+)' is required", "is incomplete: its {0} is missing; set it in your modeler"),
    (r"The attribute '(\w+)' is not allowed", "has a setting BPMN does not know ({0}): delete it"),
    (r"is not a valid value of the atomic type 'xs:ID'", "has an id that is not a valid id: an id starts with a "
     "letter or an underscore and has no spaces"),
    (r"'(\w+)': '([^']*)' is not a valid value", "has a bad value '{1}' for its {0}: correct it in your modeler"),
    (r"This element is not expected", "is in a place BPMN does not allow (for example, inside the wrong element, "
     "or in the wrong order): move it, or draw it again in your modeler"),
    (r"Missing child element", "is missing a part BPMN requires: draw it again in your modeler"),
)
# Library words a fallback sentence must not carry, and what the admin reads instead.
PLAIN_WORDS = ((re.compile(r"\{[^}]*\}"), ""), (re.compile(r"\b\w+(Exception|Error)\b:?\s*"), ""),
                (re.compile(r"\battributes?\b", re.I), "setting"), (re.compile(r"\bxsd?:"), ""),
                (re.compile(r"\bschema\b", re.I), "BPMN standard"), (re.compile(r"Element '"), "'"))
SCHEMA_ELEMENT = re.compile(r"Element '(?:\{[^}]*\})?(\w+)'(?:, attribute '(?:\{[^}]*\})?(\w+)')?: ")


# Identical reasons on this many elements or more are one row naming them all (one root cause, one row).
COLLAPSE_AT = 3
_LISTED = 12  # element ids named in one collapsed row

class Errors:
    """Reasons by element id, as the admin reads them: one row per root cause (see collapse_repeats)."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.plurals: dict[str, str] = {}

    def add(self, element_id: str, reason: str, plural: str | None = None) -> None:
        """Note `reason` against the element; `plural` ("{n} elements are …: {ids}") words it for many."""
        self.errors.setdefault(element_id or "document", []).append(reason)
        if plural:
            self.plurals[reason] = plural

    def raise_if_any(self, detail: str) -> None:
        if self.errors:
            errors = collapse_repeats(self.errors, self.plurals)
            first_id, reasons = next(iter(errors.items()))
            raise InvalidProcess(f"{detail}: {first_id}: {reasons[0]}", errors=errors)


def collapse_repeats(errors: dict[str, list[str]], plurals: dict[str, str] | None = None) -> dict[str, list[str]]:
    """`errors` with each reason given to COLLAPSE_AT or more elements said once, against the first of them,
    naming them all: one cause, one row. `plurals` words such a row ("{n} elements are …: {ids}"); otherwise
    it reads "{n} elements (a, b, c): reason"."""
    holders: dict[str, list[str]] = {}
    for element, reasons in errors.items():
        for reason in dict.fromkeys(reasons):
            holders.setdefault(reason, []).append(element)
    out: dict[str, list[str]] = {}
    said: set[str] = set()
    for element, reasons in errors.items():
        for reason in reasons:
            many = holders[reason]
            if len(many) < COLLAPSE_AT:
                out.setdefault(element, []).append(reason)
            elif reason not in said:
                said.add(reason)
                ids = ", ".join(many[:_LISTED]) + (f" and {len(many) - _LISTED} more" if len(many) > _LISTED else "")
                template = (plurals or {}).get(reason)
                out.setdefault(element, []).append(
                    template.format(n=len(many), ids=ids) if template else f"{len(many)} elements ({ids}): {reason}")
    return out
