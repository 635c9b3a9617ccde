"""The operations a BPMN service task may call (`spiffworkflow:serviceTaskOperator id="..."`).

Each is a small pure function `(data, params) -> dict | None`: `data` is the task data overlaid with
the opportunity's fields, `params` the evaluated parameters. They describe the side effect; the
services layer performs it from the returned dict when it projects the step (the engine never
touches the database).
"""

from __future__ import annotations

from collections.abc import Callable


def create_appointment(data: dict, params: dict) -> dict:
    """Ask for an appointment: title and optional duration (ISO, default PT1H)."""
    return {
        "effect": "create_appointment",
        "title": str(params.get("title") or data.get("title") or "Appointment"),
        "duration": str(params.get("duration") or "PT1H"),
    }


def notify(data: dict, params: dict) -> dict:
    """Ask for a notification to a role or the rep."""
    return {
        "effect": "notify",
        "to": str(params.get("to") or "rep"),
        "message": str(params.get("message") or ""),
    }


def set_probability(data: dict, params: dict) -> dict:
    """Ask for the opportunity's probability to become `percent` (0-100)."""
    percent = int(params.get("percent", 0))
    if not 0 <= percent <= 100:
        raise ValueError("percent must be 0-100")
    return {"effect": "set_probability", "percent": percent}


OPERATIONS: dict[str, Callable[[dict, dict], dict | None]] = {
    "create_appointment": create_appointment,
    "notify": notify,
    "set_probability": set_probability,
}
