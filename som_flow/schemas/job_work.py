"""The job's own work (a kind's follow-on process run on the job a win made), as the API shows it."""

from __future__ import annotations

from marshmallow import Schema, fields


class JobTaskSchema(Schema):
    id = fields.String()
    title = fields.String()
    role = fields.String()
    assignee = fields.Integer(attribute="assignee_id", allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    status = fields.String()
    action = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.Integer(attribute="completed_by_id", allow_none=True)


class JobWorkSchema(Schema):
    id = fields.Integer()
    opportunity_id = fields.Integer()
    job_id = fields.Integer()
    job = fields.Function(lambda w: w.job.name)
    process = fields.Function(lambda w: w.follow_on_version.name)
    version = fields.Function(lambda w: w.follow_on_version.number)
    status = fields.String(metadata={"description": "running, done (every task completed) or cancelled (reopened)"})
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    tasks = fields.List(fields.Nested(JobTaskSchema))
