"""The operations a BPMN service task may call (`spiffworkflow:serviceTaskOperator id="..."`).

Each is a small pure function `(data, params) -> dict`: `data` is the task data overlaid with the
opportunity's fields, `params` the evaluated parameters. It describes the side effect; the engine hands
each completed service task's effect out once (`Engine.take_effects`) and the services perform it when they
project the step (`services/opportunities.py`, `_apply_effects`), so the engine never touches the database.
An operation not registered here is refused at upload. Booking an appointment is not an operation: it needs
a time a person chooses, so it is a user task with `som.action = schedule_appointment`.
"""

from __future__ import annotations

from collections.abc import Callable

NOTIFY_TARGETS = ("rep", "csr", "manager", "scheduler", "admin")


def notify(data: dict, params: dict) -> dict:
    """Ask for an in-app notification to the deal's rep or to everyone with a role (`to`), with `message`."""
    to = str(params.get("to") or "rep")
    if to not in NOTIFY_TARGETS:
        raise ValueError(f"to must be one of {', '.join(NOTIFY_TARGETS)}")
    return {"effect": "notify", "to": to, "message": str(params.get("message") or "")[:1000]}


def set_probability(data: dict, params: dict) -> dict:
    """Ask for the opportunity's probability to become `percent` (0-100)."""
    percent = int(params.get("percent", 0))
    if not 0 <= percent <= 100:
        raise ValueError("percent must be 0-100")
    return {"effect": "set_probability", "percent": percent}


OPERATIONS: dict[str, Callable[[dict, dict], dict | None]] = {
    "notify": notify,
    "set_probability": set_probability,
}
