"""User-defined fields, profile/qualification answers (typed, merged as JSON merge patches) and the office's
required fields (an admin preference kept in the database)."""

from __future__ import annotations

import math
from datetime import date

from flask import current_app
from sqlalchemy import bindparam, or_, select

from som_flow.errors import ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import N_, gettext
from som_flow.models import CustomField, Opportunity, Preference, Question
from som_flow.services.catalogs import list_all_questions, list_custom_fields
from som_flow.services.unit_of_work import service

# the value types of questions and custom fields; the deal page shows an input of the same kind
VALUE_TYPES = {"bool": "yes/no", "number": "number", "date": "date", "choice": "choice", "text": "text"}

# the deal's own fields the office may require on every new deal, with the words the pages use
REQUIRABLE_FIELDS = {
    "description": N_("Description"),
    "sales_rep": N_("Sales rep"),
    "employee_lead": N_("Employee lead"),
    "department": N_("Department"),
    "marketing_channel": N_("Marketing channel"),
    "marketing_source": N_("Marketing source"),
    "product": N_("Product"),
    "timeframe": N_("Timeframe"),
    "financing_activity": N_("Financing activity"),
    "follow_up_date": N_("Follow-up date"),
    "anticipated_close_date": N_("Anticipated close date"),
    "amount": N_("Amount"),
    "external_reference": N_("External reference"),
    "terms_of_sale": N_("Terms of sales"),
}
# every editable field of a deal as people name it (the history says "Terms of sales", not terms_of_sale)
FIELD_LABELS = {
    **REQUIRABLE_FIELDS, "title": N_("Title"), "opened_on": N_("Date"), "customer_id": N_("Customer"),
    "job_id": N_("Job"), "address_choice": N_("Address"), "employee_lead_id": N_("Employee lead"),
    "priority": N_("Priority"), "currency": N_("Currency"), "probability": N_("Probability"),
    "probability_level": N_("Probability level"),
}
REQUIRED_ON_CREATE = "required_fields_on_create"


# -- merge patch -----------------------------------------------------------------------------------
def merge_patch(current: dict | None, patch: dict) -> dict:
    """RFC 7396 on a flat map: keys in `patch` replace, a key set to None is removed, others stay."""
    merged = dict(current or {})
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# -- typed values ----------------------------------------------------------------------------------
def _type_error(kind: str, value, choices: list) -> str | None:
    """Why `value` is not a value of `kind`, in plain words; None when it is one."""
    if kind == "text":
        return None if isinstance(value, str) and len(value) <= 2000 else "Enter text of at most 2000 characters."
    if kind == "number":
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float)
                                                                         and math.isfinite(value))
        return None if ok else "Enter a number."
    if kind == "bool":
        return None if isinstance(value, bool) else "Answer yes or no."
    if kind == "choice":
        return None if value in choices else f"Choose one of {', '.join(choices)}."
    if kind == "date":
        return None if _is_iso_date(value) else "Enter a date (YYYY-MM-DD)."
    return None


def _is_iso_date(value) -> bool:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def check_custom_values(values: dict, current: dict | None = None) -> dict:
    """The stored user-defined values with `values` merged in (None or "" removes a value), each checked
    against its field's type, and every required field filled. Raises ValidationFailed naming `custom.<key>`."""
    defs = {f.key: f for f in list_custom_fields()}
    errors: dict[str, list[str]] = {}
    patch: dict = {}
    for key, value in values.items():
        field = defs.get(key)
        if field is None:
            errors[f"custom.{key}"] = ["There is no such field."]
            continue
        if value in (None, ""):
            patch[key] = None
            continue
        problem = _type_error(field.type, value, field.choices)
        if problem:
            errors[f"custom.{key}"] = [problem]
        patch[key] = value
    merged = merge_patch(current, patch)
    for key, field in defs.items():
        if field.required and merged.get(key) in (None, ""):
            errors.setdefault(f"custom.{key}", ["Required."])
    if errors:
        raise ValidationFailed(gettext("Check the user-defined fields"), errors)
    return merged


def check_answers(answers: dict, current: dict | None = None) -> dict:
    """The stored answers with `answers` merged in (None removes an answer), each checked against its
    question's type. Raises ValidationFailed naming `answers.<key>`."""
    questions = {q.key: q for q in list_all_questions()}
    errors: dict[str, list[str]] = {}
    for key, value in answers.items():
        q = questions.get(key)
        if q is None:
            errors[f"answers.{key}"] = ["There is no such question."]
        elif value is not None:
            problem = _type_error(q.answer_type, value, q.choices)
            if problem:
                errors[f"answers.{key}"] = [problem]
    if errors:
        raise ValidationFailed(gettext("Check the answers"), errors)
    return merge_patch(current, answers)


def custom_field(key: str) -> CustomField | None:
    return db.session.scalar(select(CustomField).where(CustomField.key == key))


# the questions a move or a completion reads, built once and read as plain rows: the required qualification
# questions of a kind (and those of every kind), in their order, for the process's `qualified`
_Q = Question.__table__
_REQUIRED_QUALIFICATION = (
    select(_Q.c.key, _Q.c.text)
    .where(_Q.c.section == "qualification", _Q.c.required.is_(True),
           or_(_Q.c.kind_key.is_(None), _Q.c.kind_key == bindparam("kind")))
    .order_by(_Q.c.position, _Q.c.id))
# which of a task's form fields are questions of the deal's kind (a form field named like one answers it)
_QUESTION_KEYS = select(_Q.c.key).where(_Q.c.key.in_(bindparam("names", expanding=True)),
                                        or_(_Q.c.kind_key.is_(None), _Q.c.kind_key == bindparam("kind")))


def answers_from_form(opp: Opportunity, names: list[str], data: dict) -> dict:
    """The answers a task's form gives to the deal's profile and qualification questions (a form field named
    like a question's key answers it). Raises ValidationFailed keyed by the form field when the question does
    not take that answer (e.g. a text field answering a yes/no question with "maybe")."""
    given = [name for name in names if name in data]
    if not given:  # most tasks' forms answer no question: nothing to read
        return {}
    questions = set(db.session.scalars(_QUESTION_KEYS, {"names": given, "kind": opp.kind.key if opp.kind else None}))
    answers = {name: data[name] for name in given if name in questions}
    if not answers:
        return {}
    try:
        return check_answers(answers)
    except ValidationFailed as exc:
        errors = {key.removeprefix("answers."): msgs for key, msgs in exc.errors.items()}
        raise ValidationFailed("The answer does not fit the question: " + "; ".join(
            f"{name}: {' '.join(msgs)}" for name, msgs in errors.items()), errors) from None


def required_qualification(kind_key: str | None) -> list:
    """The required qualification questions of a kind (and of every kind), in order: (key, text) rows."""
    return db.session.execute(_REQUIRED_QUALIFICATION, {"kind": kind_key}).all()


def qualification(opp: Opportunity, required: list | None = None) -> tuple[bool, list[str]]:
    """Qualified when every required qualification question is answered yes; `why` lists each finding. `required`:
    required_qualification of the deal's kind, when the caller has read it for a page of deals."""
    if required is None:
        required = required_qualification(opp.kind.key if opp.kind else None)
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


# -- the office's required fields ------------------------------------------------------------------
def required_on_create() -> list[str]:
    """The fields every new deal must have: the admin's preference, else (never saved yet) SOM_FLOW_REQUIRED_FIELDS."""
    row = db.session.get(Preference, REQUIRED_ON_CREATE)
    if row is not None:
        return list(row.value)
    return [f for f in current_app.config.get("REQUIRED_FIELDS_ON_CREATE") or [] if f in REQUIRABLE_FIELDS]


@service
def set_required_on_create(fields: list[str]) -> list[str]:
    """Save the office's required fields. Raises ValidationFailed naming `fields` for a field that cannot be
    required."""
    unknown = [f for f in fields if f not in REQUIRABLE_FIELDS]
    if unknown:
        raise ValidationFailed(gettext("These fields cannot be required: %(items)s", items=', '.join(unknown)),
                               {"fields": [gettext("Choose from the listed fields.")]})
    chosen = [f for f in REQUIRABLE_FIELDS if f in fields]  # the page's order, no repeats
    row = db.session.get(Preference, REQUIRED_ON_CREATE)
    if row is None:
        db.session.add(Preference(key=REQUIRED_ON_CREATE, value=chosen))
    else:
        row.value = chosen
    return chosen


def _blank(field: str, value) -> bool:
    return value in (None, "") or (field == "amount" and value == 0)


def check_required_on_create(data: dict) -> None:
    """The office's required fields are given. Raises ValidationFailed naming each missing one."""
    missing = [f for f in required_on_create() if _blank(f, data.get(f))]
    if missing:
        raise ValidationFailed(gettext("Fill %(items)s",
                                       items=', '.join(REQUIRABLE_FIELDS[f].lower() for f in missing)),
                               {f: [gettext("Required by the office.")] for f in missing})


def check_required_kept(data: dict) -> None:
    """An edit does not empty a field the office requires. Raises ValidationFailed naming it."""
    emptied = [f for f in required_on_create() if f in data and _blank(f, data[f])]
    if emptied:
        raise ValidationFailed(gettext("The office requires %(items)s",
                                       items=', '.join(REQUIRABLE_FIELDS[f].lower() for f in emptied)),
                               {f: [gettext("Required by the office.")] for f in emptied})
