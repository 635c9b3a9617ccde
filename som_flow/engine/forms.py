"""Typed task forms: the `som.form` property of a user task, parsed, and a completion's answers checked against it.

`som.form` is a comma-separated list of fields; each is a name, optionally with a type and a label in quotes::

    qualified:yesno "Is the prospect qualified?", budget:number, decided_on:date, next_step:choice(call|visit|quote)

A plain name is a text field, so the lists written before types existed mean what they meant. Types:
`text`, `yesno`, `number`, `date`, `choice(a|b|...)`. Answers are coerced before they enter the workflow data
(yes/no → bool, number → int or float, date → `datetime.date`), so gateway conditions compare real values.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

FIELD_TYPES = ("text", "yesno", "number", "date", "choice")
MAX_FIELDS = 30
MAX_CHOICES = 50
MAX_TEXT = 2000
MAX_LABEL = 200
MAX_CHOICE = 100
# numbers a person types on a form: big enough for any amount, small enough for every column and JSON reader
MAX_NUMBER = Decimal("1e15")
YES = ("yes", "y", "true", "1")
NO = ("no", "n", "false", "0")

_NAME = r"[A-Za-z][A-Za-z0-9_]{0,63}"
_ITEM = re.compile(
    rf'\s*(?P<name>{_NAME})\s*'
    r'(?::\s*(?P<type>[A-Za-z]+)\s*(?:\((?P<choices>[^()"]*)\)\s*)?)?'
    r'(?:"(?P<label>[^"]*)"\s*)?'
    r'(?P<end>,|$)'
)


class FormSpecError(ValueError):
    """A `som.form` (or a builder form item) that cannot be read; the message says why, in plain words."""


@dataclass(frozen=True)
class FormField:
    name: str
    type: str = "text"
    choices: tuple[str, ...] = ()
    label: str | None = None

    @property
    def title(self) -> str:
        """What a person reads beside the input: the label, else the name made readable."""
        return self.label or self.name.replace("_", " ").capitalize()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "label": self.title}
        if self.type == "choice":
            out["choices"] = list(self.choices)
        return out

    def spec(self) -> str:
        """This field written back as `som.form` text (what the builder puts in the BPMN)."""
        text = self.name if self.type == "text" else f"{self.name}:{self.type}"
        if self.type == "choice":
            text += f"({'|'.join(self.choices)})"
        if self.label:
            text += f' "{self.label}"'
        return text


def make_field(name: str, type: str = "text", choices: Any = (), label: str | None = None) -> FormField:
    """One checked field. Raises FormSpecError."""
    if not isinstance(name, str) or not re.fullmatch(_NAME, name):
        raise FormSpecError(f"bad field name {name!r}")
    if not isinstance(type, str):
        raise FormSpecError(f"field {name}: the type is a word such as yesno")
    type = (type or "text").strip().lower()
    if type not in FIELD_TYPES:
        raise FormSpecError(f"field {name}: unknown type {type!r} (use {', '.join(FIELD_TYPES)})")
    if isinstance(choices, str) or not isinstance(choices, list | tuple):
        raise FormSpecError(f"field {name}: choices must be a list")
    cleaned = tuple(str(c).strip() for c in choices)
    if type == "choice":
        if not cleaned or any(not c for c in cleaned):
            raise FormSpecError(f"field {name}: a choice needs its options, e.g. {name}:choice(call|visit)")
        if len(cleaned) > MAX_CHOICES or any(len(c) > MAX_CHOICE or set(c) & set('|(),"') for c in cleaned):
            raise FormSpecError(f"field {name}: at most {MAX_CHOICES} options of up to {MAX_CHOICE} characters, "
                                "without | ( ) , or quotes")
        if len(set(cleaned)) != len(cleaned):
            raise FormSpecError(f"field {name}: an option is listed twice")
    elif cleaned:
        raise FormSpecError(f"field {name}: only a choice field has options")
    if label is not None:
        label = str(label).strip()
        if len(label) > MAX_LABEL or '"' in label:
            raise FormSpecError(f"field {name}: a label has at most {MAX_LABEL} characters and no quotes")
    return FormField(name, type, cleaned if type == "choice" else (), label or None)


def parse_form(text: str | None) -> tuple[FormField, ...]:
    """The fields of a `som.form` value (empty for none). Raises FormSpecError naming the part it cannot read."""
    text = (text or "").strip()
    fields: list[FormField] = []
    pos = 0
    while pos < len(text):
        match = _ITEM.match(text, pos)
        if match is None or match.end() == pos:
            rest = text[pos:].split(",")[0].strip()
            raise FormSpecError(f"cannot read {rest!r}: write name, name:type or name:choice(a|b)")
        choices = match["choices"]
        fields.append(make_field(
            match["name"], match["type"] or "text",
            [c for c in choices.split("|")] if choices is not None else (), match["label"]))
        pos = match.end()
        if match["end"] == "," and not text[pos:].strip():
            raise FormSpecError("a comma with no field after it")
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise FormSpecError(f"field {next(n for n in names if names.count(n) > 1)} is listed twice")
    if len(fields) > MAX_FIELDS:
        raise FormSpecError(f"at most {MAX_FIELDS} fields")
    return tuple(fields)


def check_answers(fields: tuple[FormField, ...], data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The form's answers coerced to their types, and the errors by field name (empty when all are fine).

    Every field must be answered. Keys that are not form fields pass through untouched (a booking's
    `appointment_id`, for instance)."""
    clean = dict(data)
    errors: dict[str, list[str]] = {}
    for field in fields:
        raw = data.get(field.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            errors[field.name] = [_missing(field)]
            continue
        try:
            clean[field.name] = _coerce(field, raw)
        except ValueError as exc:
            errors[field.name] = [str(exc)]
    return clean, errors


def _missing(field: FormField) -> str:
    return {"yesno": "Answer yes or no.", "choice": f"Choose one of {', '.join(field.choices)}.",
            "date": "Give a date.", "number": "Give a number."}.get(field.type, "Required to complete this task.")


def _coerce(field: FormField, raw: Any) -> Any:
    """One answer as its type. Raises ValueError with the sentence a person reads beside the field."""
    if field.type == "yesno":
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower() if isinstance(raw, str) else None
        if word in YES:
            return True
        if word in NO:
            return False
        raise ValueError("Answer yes or no.")
    if field.type == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
            raise ValueError("Give a number, such as 1200 or 12.5.")
        try:
            number = Decimal(str(raw).strip().replace(" ", ""))
        except InvalidOperation:
            raise ValueError("Give a number, such as 1200 or 12.5.") from None
        if not number.is_finite() or abs(number) >= MAX_NUMBER:
            raise ValueError("Give a number, such as 1200 or 12.5.")
        if number == number.to_integral_value():
            return int(number)
        value = float(number)
        if not math.isfinite(value):
            raise ValueError("Give a number, such as 1200 or 12.5.")
        return value
    if field.type == "date":
        if isinstance(raw, date):
            return raw
        try:
            value = date.fromisoformat(str(raw).strip()) if isinstance(raw, str) else None
        except ValueError:
            value = None
        if value is None:
            raise ValueError("Give a date as YYYY-MM-DD.")
        if not 1900 <= value.year <= 2200:
            raise ValueError("Give a date between 1900 and 2200.")
        return value
    if field.type == "choice":
        if not isinstance(raw, str) or raw.strip() not in field.choices:
            raise ValueError(f"Choose one of {', '.join(field.choices)}.")
        return raw.strip()
    if not isinstance(raw, str):
        if isinstance(raw, bool | int | float):
            return raw  # a plain value from an API client of the untyped forms: kept as it was given
        raise ValueError("Give the answer as text.")
    text = raw.strip()
    if len(text) > MAX_TEXT:
        raise ValueError(f"At most {MAX_TEXT} characters.")
    return text


def jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Answers as JSON values (dates as YYYY-MM-DD), for rows that store what was answered."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}
