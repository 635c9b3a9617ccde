"""The job's own work: a kind's follow-on process (`/kinds/{key}/follow-on`) and its runs on a deal's jobs
(`/opportunities/{id}/job-work`). Completing the tasks is the same `POST /tasks/{id}/complete` as any task."""

from __future__ import annotations

from flask import request

from som_flow.schemas import BpmnQuery, FollowOnVersionSchema
from som_flow.schemas.job_work import JobWorkSchema
from som_flow.services import job_work
from som_flow.services import kinds as kind_service
from som_flow.services.guards import get_opportunity
from som_flow.web.api.common import Blueprint, require_media_type
from som_flow.web.api.kinds import BPMN_MEDIA_TYPES
from som_flow.web.api.openapi import text_schema
from som_flow.web.auth import ANY_ROLE, api_user, roles_required
from som_flow.web.downloads import bpmn_file

blp = Blueprint("job_work", __name__, description="The job's own work: a kind's follow-on process, started by a "
                "win with a job, and its runs")


@blp.route("/kinds/<string:key>/follow-on")
@roles_required(*ANY_ROLE)
@blp.arguments(BpmnQuery, location="query")
@blp.response(200, text_schema("BPMN 2.0 XML"), content_type="application/xml", description="The BPMN document")
def get_follow_on(query, key):
    """Download the BPMN of a kind's follow-on process (the current one unless `version` is given).

    404 when the kind has no follow-on process."""
    kind = kind_service.get_kind(key)
    return bpmn_file(f"{kind.key}-follow-on", kind_service.follow_on_version(kind, query["version"]))


@blp.route("/kinds/<string:key>/follow-on", methods=["PUT"])
@roles_required()
@blp.response(201, FollowOnVersionSchema)
@blp.doc(requestBody={"required": True, "content": {
    media_type: {"schema": text_schema("BPMN 2.0 XML, UTF-8")} for media_type in BPMN_MEDIA_TYPES}})
def put_follow_on(key):
    """Attach or replace the kind's follow-on process, the job's work after a win with a job.

    It starts when a deal of this kind is won with a job. Checked like a kind's BPMN (safe XML, no scripts) but with
    no stages, timers or service tasks; 422 names the elements that make it unusable, and stores nothing. Jobs
    already running keep their version."""
    require_media_type(*BPMN_MEDIA_TYPES)
    return kind_service.attach_follow_on(key, request.get_data(cache=False), actor=api_user())


@blp.route("/opportunities/<int:opp_id>/job-work")
@roles_required(*ANY_ROLE)
@blp.response(200, JobWorkSchema(many=True))
def list_job_work(opp_id):
    """List the job's work the deal started (one run per win with a job, newest first), with its tasks."""
    works = job_work.work_of_deal(get_opportunity(opp_id))
    for work in works:
        work.tasks = job_work.tasks_of(work)  # a plain attribute for the schema, as opportunities' view() does
    return works
