"""Schemas of the tasks people add and of bulk task actions."""

from __future__ import annotations

import json

from marshmallow import Schema, fields, validate

from som_flow.models.work import form_fields
from som_flow.schemas import ID, sane_date
from som_flow.services.task_bulk import BULK_TASK_ACTIONS
from som_flow.services.tasks import TASK_ROLES, customer_path


class TaskCreateSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    opportunity_id = fields.Integer(required=True, validate=ID)
    due_at = fields.AwareDateTime(load_default=None, allow_none=True, validate=sane_date)
    # for a person, or for a pool; neither: for whoever adds it
    assignee_id = fields.Integer(load_default=None, allow_none=True, validate=ID)
    role = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(TASK_ROLES))
    instructions = fields.String(load_default="", validate=validate.Length(max=2000))


class TaskBulkSchema(Schema):
    ids = fields.List(fields.String(validate=validate.Length(min=1, max=36)), required=True,
                      validate=validate.Length(min=1, max=200))
    action = fields.String(required=True, validate=validate.OneOf(BULK_TASK_ACTIONS))
    follow_up_at = fields.AwareDateTime(load_default=None, allow_none=True, validate=sane_date)  # snooze until
    user_id = fields.Integer(load_default=None, allow_none=True, validate=ID)  # reassign to


class TaskBulkResultSchema(Schema):
    done = fields.List(fields.String())
    failed = fields.Dict(keys=fields.String(), values=fields.Dict())


def _iso(value):
    return value.isoformat() if value is not None else None


def _forms(rows) -> dict:
    """Each distinct (form, form types) JSON text of the rows, read once, as TaskSchema dumps them: most tasks of a
    page share a few forms (their process step's)."""
    forms = {}
    for r in rows:
        key = (r["form"], r["form_types"])
        if key not in forms:
            form = json.loads(key[0]) if key[0] is not None else None
            types = json.loads(key[1]) if key[1] is not None else None
            forms[key] = ([str(name) for name in form] if form is not None else None,
                          [dict(f) for f in form_fields(types, form)])
    return forms


def task_items(rows) -> list[dict]:
    """TaskSchema's dump of services.tasks.task_rows' rows, written out field by field: marshmallow's per-field calls
    were a third of the task list's time (issue #17 item 3). TaskSchema stays the contract (the OpenAPI document
    shows it); tests/test_task_list_rows.py checks that both give the same JSON for every kind of task. Tasks of
    the same form share its (read-only) lists: the items are only written out as JSON."""
    forms = _forms(rows)
    items = []
    for r in rows:
        form, fields_ = forms[r["form"], r["form_types"]]
        items.append({
            "id": r["id"], "title": r["title"], "instructions": r["instructions"],
            "opportunity_id": r["opportunity_id"], "opportunity_title": r["opportunity_title"],
            "opportunity": {"id": r["opportunity_id"], "number": r["opportunity_number"],
                            "title": r["opportunity_title"], "stage": r["opportunity_stage"], "kind": r["kind"]},
            "customer": customer_path(r), "source": r["source"], "created_by": r["created_by_id"],
            "stage": r["stage"], "role": r["role"], "assignee": r["assignee_id"], "due_at": _iso(r["due_at"]),
            "follow_up_at": _iso(r["follow_up_at"]), "status": r["status"], "form": form, "form_fields": fields_,
            "action": r["action"], "done_by": r["done_by"], "gate": r["gate"], "required": r["required"],
            "completed_at": _iso(r["completed_at"]), "job_work_id": r["job_work_id"],
        })
    return items
