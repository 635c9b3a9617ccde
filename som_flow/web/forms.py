"""Page forms and page query strings read through marshmallow schemas, as the API reads its input.

A refused value raises ValidationFailed whose detail names each field in plain words (pages flash it) and
whose `errors` are keyed by field (forms that are shown again put each message beside its field).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from babel.numbers import NumberFormatError, parse_decimal
from flask import request
from flask_babel import get_locale
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from som_flow.errors import ValidationFailed
from som_flow.i18n import N_, gettext
from som_flow.schemas import sane_date
from som_flow.web.errors import flatten_messages

# marshmallow's fixed messages, for the catalog: a page or problem shows them in the reader's language
# (web.errors.translated_errors looks each message up; one with a value in it stays as marshmallow wrote it)
MARSHMALLOW_MESSAGES = (
    N_("Field may not be null."), N_("Invalid type."), N_("Invalid value."), N_("Invalid input type."),
    N_("Missing data for required field."), N_("Not a valid boolean."), N_("Not a valid date."),
    N_("Not a valid datetime."), N_("Not a valid email address."), N_("Not a valid integer."),
    N_("Not a valid list."), N_("Not a valid mapping type."), N_("Not a valid number."), N_("Not a valid string."),
    N_("Not a valid URL."), N_("Not a valid UUID."), N_("Number too large."), N_("Unknown field."),
    N_("Special numeric values (nan or infinity) are not permitted."), N_("Not a valid period of time."),
)


def refused(messages) -> ValidationFailed:
    """marshmallow's messages as one ValidationFailed: "Check customer id: Not a valid integer.", in the
    reader's language (a field's name too, where the catalog has it)."""
    errors = flatten_messages(messages)
    words = "; ".join(f"{gettext(name.replace('_', ' '))}: {' '.join(gettext(m) for m in msgs)}"
                      for name, msgs in sorted(errors.items()))
    return ValidationFailed(gettext("Check %(fields)s", fields=words), errors)


_SPACES = dict.fromkeys(map(ord, " \u00a0\u202f"), None)  # what people and locales put between thousands


def typed_number(raw: str) -> str:
    """A number as a person types it in the page's language ("1 000,50" on a Norwegian page, as the page shows
    amounts; "1,000.50" on an English one), as the schemas read numbers ("1000.50"). Text that is no number in
    that language is left as it came, for the schema to refuse naming the field."""
    text = raw.translate(_SPACES)
    try:
        Decimal(text)
        return text  # already plain, as the page's own edit fields fill themselves
    except InvalidOperation:
        pass
    try:
        return str(parse_decimal(text, locale=get_locale() or "en", strict=True))
    except NumberFormatError:
        return raw


def typed_numbers(schema: Schema, raw: dict) -> dict:
    """`raw` with each of the schema's decimal fields read by typed_number."""
    return {name: typed_number(value) if isinstance(value, str) and isinstance(
        schema.fields.get(name), fields.Decimal | fields.Float) else value for name, value in raw.items()}


def _load(schema: Schema, raw: dict) -> dict:
    try:
        return schema.load(typed_numbers(schema, raw), unknown=EXCLUDE)
    except ValidationError as exc:
        raise refused(exc.messages) from None


def load_form(schema: Schema, names: list[str], *, lists: tuple[str, ...] = (), flags: tuple[str, ...] = (),
              multi: tuple[str, ...] = (), query: tuple[str, ...] = ()) -> dict:
    """The posted form's `names` through `schema`: blanks left out so defaults apply, `lists` split at commas,
    `multi` read as repeated fields (checkbox groups, multi-selects), `flags` as checkboxes (present = true),
    `query` also from the form's address when the form has none (a button's `formaction` can carry a value).
    Raises ValidationFailed naming the fields."""
    form, raw = request.form, {}
    for name in names:
        if name in multi:
            raw[name] = [v for v in form.getlist(name) if v.strip()]
            continue
        value = form.get(name, "").strip()
        if not value and name in query:
            value = request.args.get(name, "").strip()
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
    the sane range, or for a wall-clock time the zone skips (the clocks move forward)."""
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        field = gettext(label or name.replace("_", " "))
        raise ValidationFailed(gettext("Give the %(field)s as date and time", field=field),
                               {name: [gettext("Use YYYY-MM-DD HH:MM.")]}) from None
    typed_in_zone = value.tzinfo is None
    value = value.replace(tzinfo=zone) if typed_in_zone else value  # a time passed twice: its first occurrence
    try:
        sane_date(value)
    except ValidationError as exc:
        raise refused({name: exc.messages}) from None
    if typed_in_zone:
        _require_existing(value, name, label)
    return value


def _require_existing(value: datetime, name: str, label: str | None) -> None:
    """Refuse a local time that does not exist in its zone (in the gap when the clocks move forward): read as
    it is, it would be stored an hour off, and an end in the gap could fall before its start. Such a time does
    not come back the same from UTC."""
    wall = value.replace(tzinfo=None)
    if value.astimezone(UTC).astimezone(value.tzinfo).replace(tzinfo=None) == wall:
        return
    gap = value.replace(fold=1).utcoffset() - value.replace(fold=0).utcoffset()
    when, zone = wall.strftime("%Y-%m-%d %H:%M"), str(value.tzinfo)
    if gap == timedelta(hours=1):
        message = gettext("%(time)s does not exist in %(zone)s (the clocks move forward an hour); choose another "
                          "time.", time=when, zone=zone)
    else:
        message = gettext("%(time)s does not exist in %(zone)s (the clocks move forward %(minutes)s minutes); "
                          "choose another time.", time=when, zone=zone, minutes=abs(int(gap.total_seconds() // 60)))
    field = gettext(label or name.replace("_", " "))
    raise ValidationFailed(gettext("Check %(fields)s", fields=f"{field}: {message}"), {name: [message]})
