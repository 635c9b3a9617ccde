"""Schemas of activities (notes, calls, e-mails, meetings, visits) and of a deal's timeline: the API's and the
pages' forms read them alike."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from som_flow.schemas import ID, PageQuery
from som_flow.services.activities import MAX_TEXT, TYPE_NAMES, TYPES, edit_until
from som_flow.services.limits import sane_date
from som_flow.services.timeline import GROUPS
from som_flow.services.users import user_name


class AddendumSchema(Schema):
    at = fields.String()
    author_id = fields.Integer(allow_none=True)
    author = fields.String(allow_none=True)
    text = fields.String()


class ActivitySchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    opportunity_id = fields.Integer(allow_none=True)
    type = fields.String(metadata={"description": "note, call, email, meeting, visit (other: an old contact)"})
    type_name = fields.Function(lambda a: TYPE_NAMES.get(a.type, a.type))
    at = fields.DateTime(metadata={"description": "When it happened"})
    user_id = fields.Integer(allow_none=True, metadata={"description": "Who talked to the customer"})
    user = fields.Function(lambda a: user_name(a.user_id), allow_none=True)
    outcome = fields.String(allow_none=True)
    text = fields.String()
    author_id = fields.Integer(allow_none=True)
    author = fields.Function(lambda a: user_name(a.author_id), allow_none=True)
    created_at = fields.DateTime(allow_none=True, metadata={"description": "When it was written down"})
    editable_until = fields.Method("_until", allow_none=True,
                                   metadata={"description": "Until when the author may edit it; then only append"})
    addenda = fields.Method("_addenda", metadata={"description": "What was added later, oldest first"})
    next_task_id = fields.Function(lambda a: getattr(a, "next_task_id", None), allow_none=True,
                                   metadata={"description": "The task `next_task` made (only in the POST's answer)"})

    def _until(self, a):
        until = edit_until(a)
        return until.isoformat() if until else None

    def _addenda(self, a):
        return [{**x, "author": user_name(x.get("author_id"))} for x in (a.addenda or [])]


class ActivityCreateSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    text = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))
    at = fields.AwareDateTime(load_default=None, allow_none=True, validate=sane_date,
                              metadata={"description": "When it happened (default: now); not in the future"})
    outcome = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    user_id = fields.Integer(load_default=None, allow_none=True, validate=ID,
                             metadata={"description": "Who talked to the customer (default: you)"})


class NextTaskSchema(Schema):
    """The next step a logged activity leads to: a task for whoever logs it."""

    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    due_at = fields.AwareDateTime(load_default=None, allow_none=True, validate=sane_date)


class DealActivityCreateSchema(ActivityCreateSchema):
    next_task = fields.Nested(NextTaskSchema, load_default=None, allow_none=True,
                              metadata={"description": "A task for you that follows from it, made in the same step"})


class ActivityPatchSchema(Schema):
    type = fields.String(validate=validate.OneOf(TYPES))
    text = fields.String(validate=validate.Length(min=1, max=MAX_TEXT))
    at = fields.AwareDateTime(validate=sane_date)
    outcome = fields.String(allow_none=True, validate=validate.Length(max=200))
    user_id = fields.Integer(validate=ID)


class ActivityAppendSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))


class ActivityQuery(PageQuery):
    pass


class TimelineQuery(PageQuery):
    type = fields.String(load_default=None, validate=validate.OneOf(GROUPS),
                         metadata={"description": "Only this group: " + ", ".join(GROUPS)})


class TimelineItemSchema(Schema):
    kind = fields.String(metadata={"description": "event or activity"})
    type = fields.String(metadata={"description": "The group: " + ", ".join((*GROUPS, "other"))})
    event = fields.String(metadata={"description": "The event's type (stage_changed, ...) or the activity's"})
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    text = fields.String(metadata={"description": "What happened, as a sentence"})
    data = fields.Dict()
