"""What the deal forms (the deal page's edit tabs and the new-deal form) offer and how they word a refusal:
choices, required marks, and marshmallow's messages in plain words."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask_login import current_user

from som_flow.errors import ValidationFailed
from som_flow.i18n import N_, gettext
from som_flow.services import catalogs, users
from som_flow.services.fields import REQUIRABLE_FIELDS, required_on_create
from som_flow.services.permissions import can_change_opportunity
from som_flow.web.i18n import current_language
from som_flow.web.ui.picker import picker_label

CATALOG_SELECTS = {
    "department": "departments", "marketing_channel": "marketing_channels", "marketing_source": "marketing_sources",
    "financing_activity": "financing_activities", "timeframe": "timeframes", "product": "products",
    "priority": "priorities", "currency": "currencies", "probability_level": "probability_levels",
}


# marshmallow's words → what a person reads beside the field (in the reader's language: %(1)s is the pattern's group)
_PLAIN = [
    (re.compile(r"^(Missing data for required field|Field may not be null|Shorter than minimum length 1)\.$"),
     N_("Required.")),
    (re.compile(r"^Not a valid integer\.$"), N_("Enter a whole number.")),
    (re.compile(r"^Not a valid (number|decimal)\.$"), N_("Enter a number.")),
    (re.compile(r"^Not a valid date\.$"), N_("Enter a date (YYYY-MM-DD).")),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), N_("At most %(1)s characters.")),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), N_("Enter %(1)s to %(2)s characters.")),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
     N_("Enter a value from %(1)s to %(2)s.")),
    (re.compile(r"^Must be one of: .*$"), N_("Choose one of the listed values.")),
    (re.compile(r"^Unknown value; choose from .*$"), N_("Choose one of the listed values.")),
    (re.compile(r"^Use a date between (\S+) and (\S+)\.$"), N_("Use a date between %(1)s and %(2)s.")),
]


def plain(message: str) -> str:
    """A schema's message as a person reads it beside the field ("Not a valid integer." → "Enter a whole number.")."""
    for pattern, words in _PLAIN:
        found = pattern.match(message)
        if found:
            return gettext(words) % {str(i): group for i, group in enumerate(found.groups(), 1)}
    return gettext(message)


def plain_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    # the patch schema's names → the form's ("customer_id" is typed into "customer")
    rename = {"customer_id": "customer", "job_id": "job", "opened_on": "date"}
    return {rename.get(name, name): [plain(m) for m in msgs] for name, msgs in errors.items()}


def check_fields(errors: dict[str, list[str]], labels: Mapping[str, str]) -> ValidationFailed:
    """A refused form as one ValidationFailed whose detail names each field by the form's own label, in the
    reader's language: "Check Deal: Required.; Title: Required." — the fields in the form's order (`labels`:
    field → label as the form shows it, lazy_gettext or translated), each message in plain words (marshmallow's
    and the services' looked up in the catalog, see plain()). A field the form has no label for is named by its
    words; a message for the whole form (`_form`, `_schema`) by none. `errors` stay as they came, keyed by field
    (plain_errors() words them for beside the fields)."""
    order = [name for name in labels if name in errors] + sorted(name for name in errors if name not in labels)
    parts = []
    for name in order:
        said = " ".join(plain(str(m)) for m in errors[name])
        if name in ("_form", "_schema"):
            parts.append(said)
        else:
            parts.append(f"{labels[name] if name in labels else gettext(name.replace('_', ' '))}: {said}")
    return ValidationFailed(gettext("Check %(fields)s", fields="; ".join(parts)), errors)


# -- what the forms offer --------------------------------------------------------------------------
def edit_options(opp=None) -> dict:
    """The choices and required marks of the deal forms (the deal page's tabs; the new-deal form: no `opp`)."""
    version = opp.kind_version if opp else None
    language = current_language()
    stage = next((s for s in version.stages if s["key"] == opp.stage), None) if version else None
    return {
        "catalog": {field: [(e.key, e.name_in(language)) for e in catalogs.list_entries(name)
                            if e.active or (opp is not None and e.key == getattr(opp, field, None))]
                    for field, name in CATALOG_SELECTS.items()},
        "reps": [(u.id, u.name) for u in users.list_reps()],
        "people": [(u.id, u.name) for u in users.list_active_users()],
        "office_required": set(required_on_create()),
        "stage_required": set(stage.get("required_fields") or []) if stage else set(),
        "stage_name": stage["name"] if stage else "",
        "can_assign": current_user.has_role("admin", "manager", "csr"),
        "can_edit": opp is not None and can_change_opportunity(current_user, opp) and not opp.closed,
        "labels": {key: gettext(words) for key, words in REQUIRABLE_FIELDS.items()},
        "picker_label": picker_label,
    }


