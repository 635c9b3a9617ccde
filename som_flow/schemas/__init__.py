"""marshmallow schemas: <Noun>Schema dumps, <Noun>CreateSchema / <Noun>PatchSchema load (unknown fields refused)."""

from __future__ import annotations

import re
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate

from som_flow.engine import FormSpecError
from som_flow.i18n import LANGUAGES, N_, gettext
from som_flow.models import CATALOGS, ROLES
from som_flow.models.opportunities import OPPORTUNITY_STATUSES, PRIORITIES
from som_flow.processes import KIND_TYPES, form_fields
from som_flow.services.fields import REQUIRABLE_FIELDS
from som_flow.services.limits import MAX_AMOUNT, MAX_ID, sane_date

# text that is written into a BPMN file (XML 1.0 holds no control characters but tab and line breaks, and no lone
# surrogate halves): refused naming the field, where lxml would otherwise fail while the process is built. A function,
# not validate.Regexp, so the OpenAPI document carries no pattern other regex dialects cannot read.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def XML_TEXT(value: str) -> None:  # noqa: N802 - named like the validators it sits beside (KEY)
    if isinstance(value, str) and _NOT_IN_XML.search(value):
        raise ValidationError(N_("Remove the control characters: a process cannot hold them."))


# English here; the pages and problems show them in the reader's language (web/errors.py translated_errors)
KEY = validate.Regexp(r"^[a-z][a-z0-9_\-]{0,63}$", error=N_("Use lower-case letters, digits, '_' or '-'."))
CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error=N_("Use an ISO 4217 code such as USD."))
MONEY = dict(as_string=True, places=2, validate=validate.Range(min=Decimal(0), max=MAX_AMOUNT),
             allow_nan=False)


ID = validate.Range(min=1, max=MAX_ID)


class PageQuery(Schema):
    # bounded so (page - 1) * per_page stays a valid OFFSET for SQLite and PostgreSQL
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item)),
        "total": fields.Integer(),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
    }, name=name)


# users -------------------------------------------------------------------------------------------
class UserSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    roles = fields.List(fields.String())
    timezone = fields.String()
    active = fields.Boolean()
    manager_id = fields.Integer(allow_none=True, metadata={"description": "whom the user reports to (their team)"})
    # the person's language ("en", "nb"); null: as their browser asks (Accept-Language), else the site's
    locale = fields.String(allow_none=True)


class UserPreferencesSchema(Schema):
    """PATCH /users/me: the caller's own preferences."""

    locale = fields.String(required=True, allow_none=True, validate=validate.OneOf(LANGUAGES),
                           metadata={"description": "en (English) or nb (Norsk bokmål); null: as the browser asks"})


class UserCreateSchema(Schema):
    email = fields.Email(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True,
                        validate=validate.Length(min=1, error=N_("Choose at least one role.")))
    timezone = fields.String(load_default="UTC", validate=validate.Length(max=64))
    manager_id = fields.Integer(load_default=None, allow_none=True, validate=ID)
    # the policy (length, not blank, not the e-mail) is services.users.check_password's, on every path
    password = fields.String(load_default=None, load_only=True)


# catalogs ----------------------------------------------------------------------------------------
class StageSchema(Schema):
    key = fields.String()
    name = fields.String()
    # the Norwegian bokmål name (pages in nb show it); null: the English `name` in every language
    name_nb = fields.String(allow_none=True)
    details = fields.String()
    default_probability = fields.Integer()
    sla_days = fields.Integer(allow_none=True)


class StageCreateSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    # a stage's name is written into the processes built with it
    name = fields.String(required=True, validate=[validate.Length(min=1, max=120), XML_TEXT])
    name_nb = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=120), XML_TEXT])
    details = fields.String(load_default="", validate=validate.Length(max=2000))
    default_probability = fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    sla_days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=3650))


class CatalogEntrySchema(Schema):
    key = fields.String()
    name = fields.String()
    # the Norwegian bokmål name (pages in nb show it); null: the English `name` in every language
    name_nb = fields.String(allow_none=True)
    active = fields.Boolean()
    percent = fields.Integer(allow_none=True)
    price = fields.Decimal(as_string=True, places=2, allow_none=True)
    extra = fields.Dict()


class CatalogEntryCreateSchema(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name_nb = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    percent = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100))
    price = fields.Decimal(load_default=None, allow_none=True, **MONEY)
    extra = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


class RequiredFieldsSchema(Schema):
    """The office's required fields on every new deal (an admin preference)."""

    fields = fields.List(fields.String(validate=validate.OneOf(REQUIRABLE_FIELDS)), required=True)


class CatalogPath(Schema):
    name = fields.String(validate=validate.OneOf(CATALOGS))


class CustomFieldSchema(Schema):
    key = fields.String()
    label = fields.String()
    type = fields.String()
    choices = fields.List(fields.String())
    required = fields.Boolean()


class CustomFieldCreateSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.OneOf(["text", "number", "date", "choice", "bool"]))
    choices = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)
    required = fields.Boolean(load_default=False)


# kinds -------------------------------------------------------------------------------------------
class FormItem(fields.Field):
    """One field of a task's form: `som.form` text ("qualified:yesno", "budget:number", "step:choice(a|b)", or a
    plain name for text) or an object {name, type?, choices?, label?}; checked as the builder reads it."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str | dict) or (isinstance(value, str) and len(value) > 2000):
            raise ValidationError(gettext("Give a field as text such as qualified:yesno or as an object with a name."))
        XML_TEXT(str(value))
        try:
            form_fields([value])
        except FormSpecError as exc:
            raise ValidationError(str(exc).capitalize() + ".") from None
        return value


class StageTaskSchema(Schema):
    title = fields.String(required=True, validate=[validate.Length(min=1, max=200), XML_TEXT])
    role = fields.String(load_default="rep", validate=validate.OneOf(["rep", "csr", "office", "manager", "scheduler"]))
    due = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=40), XML_TEXT])
    required = fields.Boolean(load_default=True)
    action = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["schedule_appointment"]))
    instructions = fields.String(load_default="", validate=[validate.Length(max=2000), XML_TEXT])
    form = fields.List(FormItem(metadata={
        "description": "som.form text such as qualified:yesno, budget:number, step:choice(call|visit) or a plain "
                       "name (text); or an object {name, type: text|yesno|number|date|choice, choices?, label?}"}),
        load_default=list, validate=validate.Length(max=30))
    # "assignment": the task is done when the deal gets a sales rep, by any path
    done_by = fields.String(allow_none=True, validate=validate.OneOf(["assignment"]))  # absent: done by hand


class KindCreateSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    name = fields.String(required=True, validate=[validate.Length(min=1, max=120), XML_TEXT])
    type = fields.String(required=True, validate=validate.OneOf(KIND_TYPES))
    stages = fields.List(fields.String(validate=KEY), load_default=list)
    allowed = fields.Boolean(load_default=True)
    allow_skip = fields.Boolean(load_default=False)
    allow_back = fields.Boolean(load_default=False)
    allow_early_win = fields.Boolean(load_default=True)
    record_initial_request = fields.Boolean(load_default=False)
    stage_tasks = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(StageTaskSchema)),
                              load_default=dict)
    stage_sla = fields.Dict(keys=fields.String(), values=fields.String(validate=[validate.Length(max=40), XML_TEXT]),
                            load_default=dict)
    required_fields = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), load_default=dict)
    # the kind's own win probability per stage; a stage left out takes the stage catalog's default
    stage_probability = fields.Dict(keys=fields.String(), values=fields.Integer(validate=validate.Range(0, 100)),
                                    load_default=dict)


class KindPatchSchema(Schema):
    name = fields.String(validate=[validate.Length(min=1, max=120), XML_TEXT])
    allowed = fields.Boolean()
    record_initial_request = fields.Boolean()


class KindStageSchema(Schema):
    key = fields.String()
    name = fields.String()
    probability = fields.Integer(allow_none=True)


class KindVersionSchema(Schema):
    number = fields.Integer()
    created_at = fields.DateTime()
    # what was read or added on import (modeler properties, forms, bare timers, the pipeline's plumbing)
    import_notes = fields.List(fields.String(), allow_none=True, metadata={
        "description": "Sentences saying what was read or added when the BPMN came from a modeler (camunda:/zeebe:"
                       " properties, forms, bare timers, the pipeline and its lose/win boundaries); null if none"})


class FollowOnVersionSchema(Schema):
    """A version of a kind's follow-on process: the job's own work started by a win with a job."""

    number = fields.Integer()
    name = fields.String()
    created_at = fields.DateTime()


class KindSchema(Schema):
    key = fields.String()
    name = fields.String()
    type = fields.String()
    allowed = fields.Boolean()
    record_initial_request = fields.Boolean()
    stages = fields.List(fields.Nested(KindStageSchema))
    current_version = fields.Integer(allow_none=True)
    versions = fields.List(fields.Nested(KindVersionSchema))
    follow_on = fields.Nested(FollowOnVersionSchema, allow_none=True)  # the current one, or null


class BpmnQuery(Schema):
    version = fields.Integer(load_default=None, validate=ID)


class DraftCheckQuery(Schema):
    """POST /kinds/validate's query: the kind type the draft is meant for (checked against it when given)."""

    type = fields.String(load_default=None, validate=validate.OneOf(KIND_TYPES))
    process = fields.String(load_default="kind", validate=validate.OneOf(("kind", "follow_on")), metadata={
        "description": "`kind` (default): a kind's sales process; `follow_on`: a kind's follow-on process (the job's "
                       "own work after a win), checked as PUT /kinds/{key}/follow-on would"})


class DraftCheckSchema(Schema):
    """What a BPMN draft would give if uploaded; nothing is stored."""

    valid = fields.Boolean(metadata={"description": "True when an upload of this draft would be accepted"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), metadata={
        "description": "Reasons by element id (or by field, e.g. `type`, `document`), in the admin's words"})
    stages = fields.List(fields.Dict(), metadata={"description": "The draft's stages in order: key, name, "
                                                                 "probability, required_fields, sla"})
    added = fields.List(fields.String(), metadata={"description": "Sentences saying what an upload would add"})


# opportunities -----------------------------------------------------------------------------------
MERGED = "A JSON merge patch (RFC 7396) of the stored map: the keys given change, a key set to null is removed."
_EDITABLE = dict(
    title=fields.String(validate=validate.Length(min=1, max=200)),
    description=fields.String(validate=validate.Length(max=10000)),
    amount=fields.Decimal(**MONEY),
    currency=fields.String(validate=CURRENCY),
    probability=fields.Integer(validate=validate.Range(min=0, max=100)),
    sales_rep=fields.Integer(allow_none=True, validate=ID),
    follow_up_date=fields.Date(allow_none=True, validate=sane_date),
    anticipated_close_date=fields.Date(allow_none=True, validate=sane_date),
    priority=fields.String(validate=validate.OneOf(PRIORITIES)),
    product=fields.String(allow_none=True, validate=validate.Length(max=64)),
    marketing_channel=fields.String(allow_none=True, validate=validate.Length(max=64)),
    marketing_source=fields.String(allow_none=True, validate=validate.Length(max=64)),
    department=fields.String(allow_none=True, validate=validate.Length(max=64)),
    timeframe=fields.String(allow_none=True, validate=validate.Length(max=64)),
    financing_activity=fields.String(allow_none=True, validate=validate.Length(max=64)),
    external_reference=fields.String(allow_none=True, validate=validate.Length(max=100)),
    address_choice=fields.String(validate=validate.OneOf(["bill_to", "work"])),
    # JSON merge patches (RFC 7396): named keys change, a key set to null is removed, the others stay
    custom=fields.Dict(keys=fields.String(), metadata={"description": MERGED}),
    answers=fields.Dict(keys=fields.String(), metadata={"description": MERGED}),
    date=fields.Date(attribute="opened_on", validate=sane_date),
    employee_lead=fields.Integer(allow_none=True, validate=ID),
    job_id=fields.Integer(allow_none=True, validate=ID),
    terms_of_sale=fields.String(allow_none=True, validate=validate.Length(max=200)),
    probability_level=fields.String(allow_none=True, validate=validate.Length(max=64)),
    # only "stage_default": the probability follows the stage again (a number given sets it by hand)
    probability_source=fields.String(validate=validate.OneOf(["stage_default"])),
)

OpportunityPatchSchema = Schema.from_dict({
    **_EDITABLE, "customer_id": fields.Integer(validate=ID),
}, name="OpportunityPatchSchema")
OpportunityCreateSchema = Schema.from_dict({
    **_EDITABLE,
    "title": fields.String(required=True, validate=validate.Length(min=1, max=200)),
    "customer_id": fields.Integer(required=True, validate=ID),
    "kind": fields.String(required=True, validate=validate.Length(min=1, max=64)),
}, name="OpportunityCreateSchema")


class OpportunityQuery(PageQuery):
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    stage = fields.String(load_default=None)
    # "open": every deal not won or lost (in progress or on hold)
    status = fields.String(load_default=None, validate=validate.OneOf((*OPPORTUNITY_STATUSES, "open")))
    kind = fields.String(load_default=None)
    assignee = fields.String(load_default=None, validate=validate.Regexp(r"^(me|none|\d+)$"))
    close_from = fields.Date(load_default=None, validate=sane_date)
    close_to = fields.Date(load_default=None, validate=sane_date)
    # "none": deals with no open task and no appointment to come (services.next_activity)
    next_activity = fields.String(load_default=None, validate=validate.OneOf(["none"]))
    sort = fields.String(load_default="-id", validate=validate.OneOf(
        ["id", "-id", "amount", "-amount", "anticipated_close_date", "-anticipated_close_date", "title",
         "-title", "probability", "-probability", "updated_at", "-updated_at"]))
    archived = fields.Boolean(load_default=False)  # true: only the archived deals (hidden otherwise)


class OpenTaskSchema(Schema):
    id = fields.String()
    title = fields.String()
    role = fields.String()
    assignee = fields.Integer(allow_none=True, attribute="assignee_id")
    due_at = fields.DateTime(allow_none=True)


class DemandLineSchema(Schema):
    """A primary demand line (seed 002): what the customer asked for."""

    id = fields.Integer(dump_only=True)
    product = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    description = fields.String(required=True, validate=validate.Length(min=1, max=300))
    quantity = fields.Decimal(required=True, as_string=True, places=3, allow_nan=False,
                              validate=validate.Range(min=0, min_inclusive=False, max=10**9))
    amount = fields.Decimal(required=True, **MONEY)
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class DemandLinePatchSchema(Schema):
    """The fields of a demand line a PATCH changes; those left out stay as they are."""

    product = fields.String(allow_none=True, validate=validate.Length(max=64))
    description = fields.String(validate=validate.Length(min=1, max=300))
    quantity = fields.Decimal(as_string=True, places=3, allow_nan=False,
                              validate=validate.Range(min=0, min_inclusive=False, max=10**9))
    amount = fields.Decimal(**MONEY)
    comment = fields.String(validate=validate.Length(max=2000))
class NextActivitySchema(Schema):
    type = fields.String(metadata={"enum": ["task", "appointment"]})
    title = fields.String()
    at = fields.DateTime(allow_none=True)  # null: an open task without a due date


class OpportunitySchema(Schema):
    id = fields.Integer()
    number = fields.String()
    date = fields.Date(attribute="opened_on")
    title = fields.String()
    description = fields.String()
    customer_id = fields.Integer()
    customer = fields.Function(lambda o: o.customer.full_name if o.customer else None)
    job_id = fields.Integer(allow_none=True)
    kind = fields.Function(lambda o: o.kind.key)
    kind_version = fields.Function(lambda o: o.kind_version.number)
    sales_rep = fields.Integer(attribute="sales_rep_id", allow_none=True)
    sales_rep_name = fields.Function(lambda o: o.sales_rep.name if o.sales_rep else None)
    amount = fields.Decimal(as_string=True, places=2)
    currency = fields.String()
    probability = fields.Integer()
    probability_source = fields.String()
    probability_set_by_hand = fields.Function(lambda o: o.probability_source == "manual")
    weighted_amount = fields.Decimal(as_string=True, places=2)
    stage = fields.String(allow_none=True)
    status = fields.String()
    closed = fields.Boolean()
    resolved_date = fields.Date(allow_none=True)
    reason = fields.String(allow_none=True)
    explanation = fields.String()
    follow_up_date = fields.Date(allow_none=True)
    anticipated_close_date = fields.Date(allow_none=True)
    priority = fields.String()
    product = fields.String(allow_none=True)
    marketing_channel = fields.String(allow_none=True)
    marketing_source = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    timeframe = fields.String(allow_none=True)
    financing_activity = fields.String(allow_none=True)
    external_reference = fields.String(allow_none=True)
    terms_of_sale = fields.String(allow_none=True)
    probability_level = fields.String(allow_none=True)
    employee_lead = fields.Integer(attribute="employee_lead_id", allow_none=True)
    address_choice = fields.String()
    custom = fields.Dict()
    answers = fields.Dict()
    allowed_stages = fields.List(fields.String())
    qualified = fields.Boolean()
    qualified_why = fields.List(fields.String())
    selected_estimate_id = fields.Integer(allow_none=True)
    demand_lines = fields.List(fields.Nested(DemandLineSchema))
    archived_at = fields.DateTime(allow_none=True)
    version = fields.Integer()
    open_tasks = fields.List(fields.Nested(OpenTaskSchema))
    next_activity = fields.Nested(NextActivitySchema, allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class StageMoveSchema(Schema):
    stage = fields.String(required=True, validate=validate.Length(min=1, max=64))
    version = fields.Integer(load_default=None, validate=ID)


class WinSchema(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    explanation = fields.String(load_default="", validate=validate.Length(max=10000))
    resolved_date = fields.Date(load_default=None, allow_none=True, validate=sane_date)
    create_job = fields.Boolean(load_default=False)
    job_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))


class LoseSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=64),
                           error_messages={"required": "Choose a reason."})
    explanation = fields.String(load_default="", validate=validate.Length(max=10000))
    resolved_date = fields.Date(load_default=None, allow_none=True, validate=sane_date)


class AssignSchema(Schema):
    user_id = fields.Integer(required=True, validate=ID)


class EventSchema(Schema):
    type = fields.String()
    at = fields.DateTime()
    actor = fields.Function(lambda e: e.actor.name if e.actor else None)
    actor_id = fields.Integer(allow_none=True)
    data = fields.Dict()


class BulkSchema(Schema):
    ids = fields.List(fields.Integer(validate=ID), required=True,
                      validate=validate.Length(min=1, max=500))
    action = fields.String(required=True, validate=validate.OneOf(["stage", "assign", "lose", "hold"]))
    stage = fields.String(load_default=None)
    user_id = fields.Integer(load_default=None, validate=ID)
    reason = fields.String(load_default=None)
    explanation = fields.String(load_default="")


class BulkResultSchema(Schema):
    done = fields.List(fields.Integer())
    failed = fields.Dict(keys=fields.String(), values=fields.Dict())


# tasks, reminders, notifications -----------------------------------------------------------------
class TaskOpportunitySchema(Schema):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    stage = fields.String(allow_none=True)
    kind = fields.Function(lambda o: o.kind.key)


class TaskSchema(Schema):
    id = fields.String()
    title = fields.String()
    instructions = fields.String()
    opportunity_id = fields.Integer()
    opportunity_title = fields.Function(lambda t: t.opportunity.title)
    opportunity = fields.Nested(TaskOpportunitySchema)
    customer = fields.Function(lambda t: t.opportunity.customer.full_name if t.opportunity.customer else None)
    source = fields.String(metadata={"enum": ["process", "person"]})  # person: added by someone, not the process
    created_by = fields.Integer(attribute="created_by_id", allow_none=True)
    stage = fields.String(allow_none=True)
    role = fields.String()
    assignee = fields.Integer(attribute="assignee_id", allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    follow_up_at = fields.DateTime(allow_none=True)
    status = fields.String()
    form = fields.List(fields.String())  # the field names; form_fields says more about each
    form_fields = fields.List(fields.Dict(), metadata={
        "description": "The completion form: {name, type: text|yesno|number|date|choice, label, choices?} per field"})
    action = fields.String(allow_none=True)
    done_by = fields.String(allow_none=True, metadata={
        "description": "assignment: done when the deal gets a sales rep; completing it with data.sales_rep "
                       "assigns that rep"})
    gate = fields.Boolean()
    required = fields.Boolean()
    completed_at = fields.DateTime(allow_none=True)
    job_work_id = fields.Integer(allow_none=True)  # set on a task of the job's own work (GET .../job-work)


def _assignee(value: str) -> None:
    if value in ("me", "none") or (value.isdigit() and 1 <= int(value) <= 2**31 - 1):
        return
    raise ValidationError(gettext("Use me, none or a user id."))


class TaskQuery(PageQuery):
    # me, none or a user id that fits the 32-bit id columns (refused here, not by the database)
    assignee = fields.String(load_default=None, validate=_assignee)
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "done", "cancelled"]))
    opportunity = fields.Integer(load_default=None, validate=ID)
    # with its offset: a naive time compared with the UTC column was a 500 (a 422 naming the field now)
    due_before = fields.AwareDateTime(load_default=None, validate=sane_date)
    include_hidden = fields.Boolean(load_default=False)  # tasks whose follow-up date is still ahead


class TaskPatchSchema(Schema):
    follow_up_at = fields.AwareDateTime(required=True, allow_none=True, validate=sane_date)


class TaskCompleteSchema(Schema):
    data = fields.Dict(keys=fields.String(), load_default=dict)


class IdempotencyKeyHeader(Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key", validate=validate.Length(min=1, max=64),
        metadata={"description": "Any string of up to 64 characters the client picks per completion. A retry with "
                                 "the same key by the same user, after the completion went through, answers 200 "
                                 "with the task and changes nothing; anyone else gets 409."})


class ReminderSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    opportunity_id = fields.Integer(allow_none=True)
    user_id = fields.Integer(allow_none=True)
    due_at = fields.DateTime()
    state = fields.String()
    title = fields.String()


class ReminderQuery(PageQuery):
    user = fields.String(load_default=None, validate=validate.Regexp(r"^(me|\d+)$"))
    state = fields.String(load_default=None, validate=validate.OneOf(
        ["pending", "claimed", "delivered", "cancelled", "dead"]))
    kind = fields.String(load_default=None)


class FireSchema(Schema):
    opportunity_ids = fields.List(fields.Integer(validate=ID), load_default=None)


class FiredSchema(Schema):
    fired = fields.Integer()


class NotificationSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    body = fields.String()
    opportunity_id = fields.Integer(allow_none=True)
    reminder_id = fields.Integer(allow_none=True)
    reminder_kind = fields.Function(lambda n: n.reminder.kind if n.reminder else None)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationQuery(PageQuery):
    unread = fields.Boolean(load_default=False)
