"""The kinds that ship with som_flow, as builder input (the BPMN in `bpmn/` is generated from these)."""

from __future__ import annotations

from typing import Any

from som_flow.processes.builder import build_kind_bpmn
from som_flow.processes.job_builder import build_follow_on_bpmn

FOUR_STAGES: list[dict[str, Any]] = [
    {"key": "lead", "name": "Lead", "probability": 10},
    {"key": "qualification", "name": "Qualification", "probability": 20},
    {"key": "proposal", "name": "Proposal", "probability": 50},
    {"key": "negotiation", "name": "Negotiation", "probability": 80},
]

# The field-service flow of seed 001: the office assigns (done by the assignment itself), the rep contacts,
# books, qualifies on site (a yes/no answer), estimates, and agrees terms.
STANDARD_SALE: dict[str, Any] = {
    "key": "standard-sale",
    "name": "Standard sale",
    "type": "standard",
    "stages": FOUR_STAGES,
    "stage_tasks": {
        "lead": [
            {
                "title": "Assign a sales rep",
                "role": "csr",
                "instructions": "Enter the bare minimum and assign the opportunity to a salesperson.",
                # done the moment the deal gets a rep (created with one, assigned, claimed, bulk-assigned)
                "done_by": "assignment",
            },
            {
                "title": "Contact the prospect",
                "role": "rep",
                "due": "P1D",
                "instructions": "Make the initial introduction.",
            },
            {
                "title": "Book an appointment",
                "role": "rep",
                "required": False,
                "action": "schedule_appointment",
                "instructions": "Schedule the visit at the prospect's location.",
            },
        ],
        "qualification": [
            {
                "title": "Answer qualification and profile questions on site",
                "role": "rep",
                # a field named like a qualification question's key also answers it on the deal
                "form": [{"name": "qualified", "type": "yesno", "label": "Is the prospect qualified?"}],
            },
        ],
        "proposal": [{"title": "Prepare estimates", "role": "rep"}],
        "negotiation": [{"title": "Agree terms", "role": "rep"}],
    },
    "stage_sla": {"proposal": "P14D"},
}

SERVICE_CONTRACT: dict[str, Any] = {
    "key": "service-contract",
    "name": "Service contract",
    "type": "custom",
    "stages": FOUR_STAGES,
    "allow_skip": True,
    "allow_back": True,
}

STAGELESS: dict[str, Any] = {
    "key": "stageless",
    "name": "Other (no stages)",
    "type": "stageless",
    "stages": [],
    "stage_tasks": {"": [{"title": "Follow up with the customer", "role": "rep"}]},
}

SHIPPED: dict[str, dict[str, Any]] = {
    "standard-sale": STANDARD_SALE,
    "service-contract": SERVICE_CONTRACT,
    "stageless": STAGELESS,
}


def shipped_bpmn(key: str) -> str:
    """The builder output for one shipped kind."""
    return build_kind_bpmn(**SHIPPED[key])


# The job's own work after a sale is won with a job (seed 001, step 6: "the process of ordering and scheduling for
# this job now begins, usually by the office"): a kind's follow-on process, built by processes/job_builder.py.
JOB_ORDER: dict[str, Any] = {
    "key": "job-order",
    "name": "Order and schedule the job",
    "tasks": [
        {"title": "Order the materials", "role": "office", "due": "P2D",
         "instructions": "Order what the selected estimate needs for this job."},
        {"title": "Schedule the work", "role": "office", "due": "P5D", "action": "schedule_appointment",
         "instructions": "Book the crew's visit at the job's work address."},
        {"title": "Confirm with the customer", "role": "office", "due": "P7D",
         "instructions": "Call the customer to confirm the date and what will be done."},
    ],
}
SHIPPED_FOLLOW_ONS: dict[str, dict[str, Any]] = {"job-order": JOB_ORDER}
# which shipped kind starts which shipped follow-on when won with a job
FOLLOW_ON_OF: dict[str, str] = {"standard-sale": "job-order"}


def shipped_follow_on_bpmn(key: str) -> str:
    """The builder output for one shipped follow-on process."""
    return build_follow_on_bpmn(**SHIPPED_FOLLOW_ONS[key])
