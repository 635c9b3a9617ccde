"""User-defined fields, profile/qualification answers and the office's required fields."""

from __future__ import annotations

from datetime import date

from flask import current_app

from som_flow.errors import ValidationFailed
from som_flow.models import Opportunity
from som_flow.services.catalogs import list_custom_fields, list_questions


def check_custom_values(values: dict) -> dict:
    """Validate user-defined values against their definitions; returns JSON-ready values."""
    defs = {f.key: f for f in list_custom_fields()}
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    for key, value in values.items():
        field = defs.get(key)
        if field is None:
            errors[f"custom.{key}"] = ["Unknown field."]
            continue
        if value in (None, ""):
            clean[key] = None
            continue
        ok = {
            "text": lambda v: isinstance(v, str) and len(v) <= 2000,
            "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "bool": lambda v: isinstance(v, bool),
            "choice": lambda v, f=field: v in f.choices,
            "date": _is_iso_date,
        }[field.type](value)
        if not ok:
            errors[f"custom.{key}"] = [f"Not a valid {field.type}."]
        clean[key] = value
    for key, field in defs.items():
        if field.required and clean.get(key, values.get(key)) in (None, ""):
            errors.setdefault(f"custom.{key}", ["Required."])
    if errors:
        raise ValidationFailed("Invalid user-defined fields", errors)
    return clean


def _is_iso_date(value) -> bool:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def check_answers(answers: dict) -> dict:
    questions = {q.key: q for q in list_questions()}
    errors = {f"answers.{k}": ["Unknown question."] for k in answers if k not in questions}
    for key, value in answers.items():
        q = questions.get(key)
        if q and q.answer_type == "bool" and value is not None and not isinstance(value, bool):
            errors[f"answers.{key}"] = ["Answer yes (true) or no (false)."]
        if q and q.answer_type == "choice" and value is not None and value not in q.choices:
            errors[f"answers.{key}"] = [f"Choose from {', '.join(q.choices)}."]
    if errors:
        raise ValidationFailed("Invalid answers", errors)
    return answers


def answers_from_form(opp: Opportunity, names: list[str], data: dict) -> dict:
    """The answers a task's form gives to the deal's profile and qualification questions (a form field named
    like a question's key answers it). Raises ValidationFailed keyed by the form field when the question does
    not take that answer (e.g. a text field answering a yes/no question with "maybe")."""
    questions = {q.key for q in list_questions(opp.kind.key if opp.kind else None)}
    answers = {name: data[name] for name in names if name in questions and name in data}
    if not answers:
        return {}
    try:
        return check_answers(answers)
    except ValidationFailed as exc:
        errors = {key.removeprefix("answers."): msgs for key, msgs in exc.errors.items()}
        raise ValidationFailed("The answer does not fit the question: " + "; ".join(
            f"{name}: {' '.join(msgs)}" for name, msgs in errors.items()), errors) from None


def qualification(opp: Opportunity) -> tuple[bool, list[str]]:
    """Qualified when every required qualification question is answered yes; `why` lists each finding."""
    questions = [q for q in list_questions(opp.kind.key if opp.kind else None) if q.section == "qualification"]
    required = [q for q in questions if q.required]
    if not required:
        return False, ["No qualification questions are defined."]
    why, ok = [], True
    for q in required:
        answer = (opp.answers or {}).get(q.key)
        if answer is True:
            why.append(f"yes: {q.text}")
        else:
            ok = False
            why.append(f"{'no' if answer is False else 'unanswered'}: {q.text}")
    return ok, why


def check_required_on_create(data: dict) -> None:
    """The office's required fields (preferences: SOM_FLOW_REQUIRED_FIELDS)."""
    required = current_app.config.get("REQUIRED_FIELDS_ON_CREATE") or []
    missing = [f for f in required if data.get(f) in (None, "")]
    if missing:
        raise ValidationFailed(f"Fill {', '.join(missing)}", {f: ["Required by the office's preferences."]
                                                              for f in missing})
