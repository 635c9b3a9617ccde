"""Page forms and page query strings read through marshmallow schemas, as the API reads its input.

A refused value raises ValidationFailed whose detail names each field in plain words (pages flash it) and
whose `errors` are keyed by field (forms that are shown again put each message beside its field).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import request
from marshmallow import EXCLUDE, Schema, ValidationError

from som_flow.errors import ValidationFailed
from som_flow.schemas import sane_date
from som_flow.web.errors import flatten_messages


def refused(messages) -> ValidationFailed:
    """marshmallow's messages as one ValidationFailed: "Check customer id: Not a valid integer."."""
    errors = flatten_messages(messages)
    words = "; ".join(f"{name.replace('_', ' ')}: {' '.join(msgs)}" for name, msgs in sorted(errors.items()))
    return ValidationFailed(f"Check {words}", errors)


def _load(schema: Schema, raw: dict) -> dict:
    try:
        return schema.load(raw, unknown=EXCLUDE)
    except ValidationError as exc:
        raise refused(exc.messages) from None


def load_form(schema: Schema, names: list[str], *, lists: tuple[str, ...] = (), flags: tuple[str, ...] = (),
              multi: tuple[str, ...] = ()) -> dict:
    """The posted form's `names` through `schema`: blanks left out so defaults apply, `lists` split at commas,
    `multi` read as repeated fields (checkbox groups, multi-selects), `flags` as checkboxes (present = true).
    Raises ValidationFailed naming the fields."""
    form, raw = request.form, {}
    for name in names:
        if name in multi:
            raw[name] = [v for v in form.getlist(name) if v.strip()]
            continue
        value = form.get(name, "").strip()
        if name in lists:
            raw[name] = [part.strip() for part in value.split(",") if part.strip()]
        elif name in flags:
            raw[name] = name in form
        elif value:
            raw[name] = value
    return _load(schema, raw)


def load_args(schema: Schema) -> dict:
    """The query string through `schema` (blank parameters are absent, unknown ones ignored).
    Raises ValidationFailed naming the parameters."""
    return _load(schema, {k: v for k, v in request.args.items() if v.strip()})


def local_datetime(name: str, zone: ZoneInfo, label: str | None = None) -> datetime | None:
    """The posted datetime-local field `name` (called `label` in messages) read in `zone` (the viewer's), None
    when blank. Raises ValidationFailed naming the field for text that is no date and time or a date outside
    the sane range."""
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"Give the {label or name.replace('_', ' ')} as date and time",
                               {name: ["Use YYYY-MM-DD HH:MM."]}) from None
    value = value.replace(tzinfo=zone) if value.tzinfo is None else value
    try:
        sane_date(value)
    except ValidationError as exc:
        raise refused({name: exc.messages}) from None
    return value
