"""Schemas of the tasks people add and of bulk task actions."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from som_flow.schemas import ID, sane_date
from som_flow.services.task_bulk import BULK_TASK_ACTIONS
from som_flow.services.tasks import TASK_ROLES


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
