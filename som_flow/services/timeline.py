"""One timeline per deal (issue #12, item 3): its events (services.history) and its activities in one list,
newest first, each with a sentence a person can read, filtered by group and paged.

The groups follow the event types' prefixes (the timeline contract): stage, fields, tasks, appointments,
documents, activities; anything else (created, warnings, imports, process notes) shows only unfiltered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from som_flow.extensions import db
from som_flow.i18n import N_, gettext, reader_language
from som_flow.models import Activity, Customer, Event, Opportunity, User
from som_flow.services import catalogs
from som_flow.services.activities import TYPE_NAMES, all_activities_of_opportunity, edit_until
from som_flow.services.history import history
from som_flow.services.opportunities import CATALOG_FIELDS

GROUPS = ("stage", "fields", "tasks", "appointments", "activities", "documents")
GROUP_NAMES = {"stage": N_("Stage"), "fields": N_("Fields"), "tasks": N_("Tasks"), "appointments": N_("Appointments"),
               "activities": N_("Notes and activities"), "documents": N_("Documents"), "other": N_("Other")}
_STAGE_EVENTS = {"stage_changed", "won", "lost", "reopened", "held", "on_hold", "resumed"}
_FIELD_EVENTS = {"field_changed", "assigned", "unassigned"}
_DOCUMENT_PREFIXES = ("estimate_", "party_", "demand_", "job_")
FIELD_LABELS = {
    "title": N_("Title"), "amount": N_("Amount"), "currency": N_("Currency"), "probability": N_("Probability"),
    "sales_rep": N_("Sales rep"), "follow_up_date": N_("Follow-up date"), "anticipated_close_date": N_("Close date"),
    "priority": N_("Priority"), "product": N_("Product"), "description": N_("Description"),
    "marketing_channel": N_("Marketing channel"), "marketing_source": N_("Marketing source"),
    "department": N_("Department"), "timeframe": N_("Timeframe"), "financing_activity": N_("Financing activity"),
    "external_reference": N_("External reference"),
    "explanation": N_("Explanation"), "custom": N_("User-defined fields"), "answers": N_("Profile answers"),
    "customer_id": N_("Customer"), "job_id": N_("Job"),
}
PARTY_ROLES = {"partner": N_("Partner"), "contact": N_("Contact")}
_PEOPLE_FIELDS = {"sales_rep", "sales_rep_id", "employee_lead", "employee_lead_id"}


def group_of(event_type: str) -> str:
    if event_type in _STAGE_EVENTS:
        return "stage"
    if event_type in _FIELD_EVENTS:
        return "fields"
    if event_type.startswith("task_"):
        return "tasks"
    if event_type.startswith("appointment_"):
        return "appointments"
    if event_type.startswith(_DOCUMENT_PREFIXES):
        return "documents"
    if event_type == "created_from_interaction":
        return "activities"
    return "other"


@dataclass
class Item:
    """One line of the timeline: an event (`kind` "event") or an activity (`kind` "activity")."""

    kind: str
    type: str  # the group: stage, fields, tasks, appointments, activities, documents, other
    event: str  # the event's type, or the activity's (note, call, ...)
    id: int
    at: datetime
    actor: str | None
    actor_id: int | None
    text: str
    data: dict = field(default_factory=dict)
    activity: Activity | None = None  # for pages: the row itself (edit and append)


def _utc(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _value(value) -> str:
    if value in (None, "", [], {}):
        return "empty"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class _Words:
    """Labels for keys: stage and catalog names, user names, times in the reader's zone."""

    def __init__(self, local: Callable[[datetime], str]):
        language = reader_language()
        self.stages = {s.key: s.name_in(language) for s in catalogs.stage_rows()}
        self.entries = catalogs.entry_names(language)
        self.local = local
        self._labels: dict[str, dict[str, str]] | None = None
        self._users: dict[int, str] = {}

    def stage(self, key: str | None) -> str:
        return self.stages.get(key, key) if key else gettext("no stage")

    def entry(self, catalog: str, key: str | None) -> str:
        return self.entries.get((catalog, key), key) if key else ""

    def user(self, user_id: int | None) -> str | None:
        if not user_id:
            return None
        if user_id not in self._users:
            user = db.session.get(User, user_id)
            self._users[user_id] = user.name if user else f"user {user_id}"
        return self._users[user_id]

    def field_value(self, field_name: str, value) -> str:
        """A deal field's value as people read it: a catalog entry's name, a person's name, a customer's."""
        if value in (None, ""):
            return _value(value)
        if field_name in CATALOG_FIELDS:
            return self.entries.get((CATALOG_FIELDS[field_name], value), str(value))
        if field_name in _PEOPLE_FIELDS and isinstance(value, int):
            return self.user(value) or str(value)
        if field_name == "customer_id" and isinstance(value, int):
            customer = db.session.get(Customer, value)
            return customer.full_name if customer else f"customer {value}"
        if field_name == "priority":
            return str(value).capitalize()
        return _value(value)

    def sub_label(self, field_name: str, key: str) -> str:
        """A custom field's label or a profile question's text, for the keys inside `custom` and `answers`."""
        if self._labels is None:
            self._labels = {"custom": {f.key: f.label for f in catalogs.list_custom_fields()},
                            "answers": {q.key: q.text for q in catalogs.list_all_questions()}}
        return self._labels.get(field_name, {}).get(key, key.replace("_", " ").capitalize())

    def when(self, iso: str | None) -> str:
        try:
            return self.local(datetime.fromisoformat(iso)) if iso else ""
        except ValueError:
            return iso or ""


# the task and appointment events, each as a sentence (the event's type names which)
_TASK_EVENTS = {
    "task_completed": N_("Task completed: %(task)s"), "task_cancelled": N_("Task cancelled: %(task)s"),
    "task_created": N_("Task created: %(task)s"), "task_claimed": N_("Task claimed: %(task)s"),
    "task_assigned": N_("Task assigned: %(task)s"), "task_unassigned": N_("Task unassigned: %(task)s"),
    "task_follow_up": N_("Task follow up: %(task)s"), "task_due": N_("Task due: %(task)s"),
}
_APPOINTMENT_EVENTS = {
    "appointment_booked": N_("Appointment booked"), "appointment_cancelled": N_("Appointment cancelled"),
    "appointment_moved": N_("Appointment moved"), "appointment_edited": N_("Appointment edited"),
    "appointment_deleted": N_("Appointment deleted"),
}


def describe(e: Event, words: _Words) -> str:
    """The event as a sentence with labels, not keys, in the reader's language."""
    d, t = e.data or {}, e.type
    if t == "stage_changed":
        return (gettext("Moved from %(old)s to %(new)s", old=words.stage(d.get("from")), new=words.stage(d.get("to")))
                if d.get("from") else gettext("Started in %(stage)s", stage=words.stage(d.get("to"))))
    if t in ("won", "lost"):
        reason = words.entry(f"{t}_reasons", d.get("reason"))
        why = "; ".join(x for x in (reason, d.get("explanation")) if x)
        stage = words.stage(d.get("stage"))
        sentence = gettext("Won in %(stage)s", stage=stage) if t == "won" else gettext("Lost in %(stage)s", stage=stage)
        return sentence + (f": {why}" if why else "")
    if t == "reopened":
        return gettext("Reopened (was %(status)s)", status=gettext((d.get("old_status") or "").replace("_", " ")))
    if t in ("held", "on_hold"):
        return gettext("Put on hold")
    if t == "resumed":
        return gettext("Resumed")
    if t == "field_changed":
        name = d.get("field") or ""
        old, new = d.get("old"), d.get("new")
        if isinstance(old or {}, dict) and isinstance(new or {}, dict) and (old or new):
            # user-defined fields and profile answers: each value that changed, by its label
            old, new = old or {}, new or {}
            changed = [k for k in {**old, **new} if old.get(k) != new.get(k)]
            return "; ".join(f"{words.sub_label(name, k)}: {_value(old.get(k))} → {_value(new.get(k))}"
                             for k in changed) or gettext("%(field)s saved unchanged", field=_field_label(name))
        group, _, key = name.partition(".")
        if key and group in ("custom", "answers"):  # one answer or user-defined value (a merge patch's key)
            label = words.sub_label(group, key)
        else:
            label = gettext(d["label"]) if d.get("label") else _field_label(name)
        return f"{label}: {words.field_value(name, d.get('old'))} → {words.field_value(name, d.get('new'))}"
    if t == "assigned":
        return gettext("Assigned to %(name)s", name=d.get("name") or words.user(d.get("new")) or gettext("someone"))
    if t == "unassigned":
        return (gettext("Unassigned (was %(name)s)", name=words.user(d.get("old"))) if d.get("old")
                else gettext("Unassigned"))
    if t.startswith("task_"):
        if t in _TASK_EVENTS:
            return gettext(_TASK_EVENTS[t], task=d.get("task") or "").rstrip(": ")
        what = t.removeprefix("task_").replace("_", " ")
        return f"Task {what}: {d.get('task') or ''}".rstrip(": ")
    if t.startswith("appointment_"):
        what = t.removeprefix("appointment_").replace("_", " ")
        text = gettext(_APPOINTMENT_EVENTS[t]) if t in _APPOINTMENT_EVENTS else f"Appointment {what}"
        text += f": {d['title']}" if d.get("title") else ""
        return text + (f", {words.when(d['start'])}" if d.get("start") else "")
    if t == "estimate_created":
        return gettext("Estimate %(estimate)s created, total %(total)s", estimate=d.get("estimate"),
                       total=d.get("total"))
    if t == "estimate_selected":
        return gettext("Estimate %(estimate)s chosen", estimate=d.get("estimate"))
    if t == "demand_added":
        return gettext("Demand added: %(line)s (%(amount)s)", line=d.get("description"), amount=d.get("amount"))
    if t in ("party_added", "party_removed"):
        role = gettext(PARTY_ROLES.get(d.get("role"), N_("Party")))
        return (gettext("%(role)s added: %(name)s", role=role, name=d.get("name")) if t == "party_added"
                else gettext("%(role)s removed: %(name)s", role=role, name=d.get("name")))
    if t == "job_created":
        return gettext("Job created: %(name)s", name=d.get("name"))
    if t == "created":
        return gettext("Created: %(title)s", title=d.get("title")) if d.get("title") else gettext("Created")
    if t == "created_from_interaction":
        channel = gettext(TYPE_NAMES.get(d.get("channel"), N_("Contact"))).lower()
        return gettext("Created from a %(channel)s on %(when)s", channel=channel, when=words.when(d.get("at")))
    if t == "warning":
        return gettext("Warning: %(message)s", message=d.get("message"))
    if t == "imported":
        return gettext("Imported (line %(line)s)", line=d.get("line")) if d.get("line") else gettext("Imported")
    if t == "process_notified":
        return gettext("The process notified %(to)s: %(message)s", to=d.get("to"), message=d.get("message"))
    detail = ", ".join(f"{k.replace('_', ' ')} {_value(v)}" for k, v in d.items() if not k.endswith("_id"))
    return t.replace("_", " ").capitalize() + (f": {detail}" if detail else "")


def _field_label(name: str) -> str:
    return gettext(FIELD_LABELS[name]) if name in FIELD_LABELS else name.replace("_", " ").capitalize()


def activity_sentence(a: Activity, words: _Words) -> str:
    talked = words.user(a.user_id)
    by = " " + gettext("by %(name)s", name=talked) if talked and a.user_id != a.author_id else ""
    outcome = f" ({a.outcome})" if a.outcome else ""
    return f"{gettext(TYPE_NAMES.get(a.type, a.type))}{by}{outcome}: {a.text}"


def activity_data(a: Activity, words: _Words) -> dict:
    return {"id": a.id, "type": a.type, "type_name": TYPE_NAMES.get(a.type, a.type), "at": a.at.isoformat(),
            "user_id": a.user_id, "user": words.user(a.user_id), "outcome": a.outcome, "text": a.text,
            "author_id": a.author_id, "author": words.user(a.author_id),
            "editable_until": edit_until(a).isoformat() if edit_until(a) else None,
            "addenda": [{**x, "author": words.user(x.get("author_id"))} for x in (a.addenda or [])]}


def timeline(opp: Opportunity, *, group: str | None = None, page: int = 1, per_page: int = 50,
             local: Callable[[datetime], str] = _utc) -> tuple[list[Item], int]:
    """The deal's events and activities, newest first; `group` one of GROUPS (None: all). One page and the total.

    A deal's history is hundreds of rows, not millions: both are read whole and merged here, which keeps the
    sentences and groups in one place (events group by their type's prefix, which SQL would repeat)."""
    words = _Words(local)
    items: list[Item] = []
    if group in (None, "activities"):
        items += [Item("activity", "activities", a.type, a.id, a.at, words.user(a.author_id), a.author_id,
                       activity_sentence(a, words), activity_data(a, words), a)
                  for a in all_activities_of_opportunity(opp)]
    for e in history(opp):
        kind = group_of(e.type)
        if group is None or kind == group:
            items.append(Item("event", kind, e.type, e.id, e.at, e.actor.name if e.actor else None, e.actor_id,
                              describe(e, words), dict(e.data or {})))
    if group is not None:
        items = [i for i in items if i.type == group]
    # newest first; at the same instant an activity after the events it follows, later rows first
    items.sort(key=lambda i: (i.at, i.kind == "activity", i.id), reverse=True)
    start = (page - 1) * per_page
    return items[start:start + per_page], len(items)
