"""/admin: stage catalog, the kinds designer with its BPMN diagram, BPMN upload, catalogs, custom fields,
questions, users and exchange rates.

Admins only: `_admin_only` runs before every route of the blueprint. Each POST is one service call (one
transaction); a refused form is shown again, status 422, with each error beside the field it names.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate

from som_flow.errors import Forbidden, InvalidProcess, NotFound, ValidationFailed
from som_flow.i18n import gettext
from som_flow.models import CATALOGS, ROLES, KindVersion, OpportunityKind
from som_flow.processes import (
    KIND_TYPES,
    build_kind_bpmn,
    kind_identity_errors,
    shipped_follow_on_bpmn,
    without_lanes,
)
from som_flow.schemas import (
    CURRENCY,
    KEY,
    BpmnQuery,
    CatalogEntryCreateSchema,
    CustomFieldCreateSchema,
    KindCreateSchema,
    RequiredFieldsSchema,
    StageCreateSchema,
    StageTaskSchema,
    UserCreateSchema,
    sane_date,
)
from som_flow.schemas.board import ReportsToSchema
from som_flow.services import catalogs, kind_designs, kinds, reminders, users
from som_flow.services.fields import REQUIRABLE_FIELDS, VALUE_TYPES, required_on_create, set_required_on_create
from som_flow.services.unit_of_work import now
from som_flow.web.downloads import bpmn_file
from som_flow.web.errors import flatten_messages
from som_flow.web.forms import load_args, load_form
from som_flow.web.redirects import return_to

bp = Blueprint("admin", __name__, url_prefix="/admin")

TASK_ROLES = StageTaskSchema().fields["role"].validate.choices
EXTRA_TASK_ROWS = 2


@bp.before_request
def _admin_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.has_role("admin"):
        raise Forbidden(gettext("The admin pages are for admins."))
    return None


# forms ---------------------------------------------------------------------------------------------
class StageEditSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    name_nb = fields.String(load_default=None, validate=validate.Length(max=120))  # blank: none
    details = fields.String(load_default="", validate=validate.Length(max=2000))
    default_probability = fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    sla_days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=3650))


class QuestionCreateSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    section = fields.String(required=True, validate=validate.OneOf(["profile", "qualification"]))
    text = fields.String(required=True, validate=validate.Length(min=1, max=300))
    answer_type = fields.String(load_default="bool", validate=validate.OneOf(list(VALUE_TYPES)))
    required = fields.Boolean(load_default=False)
    kind_key = fields.String(load_default=None, allow_none=True)
    choices = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)


class ExchangeRateSchema(Schema):
    currency = fields.String(required=True, validate=CURRENCY)
    base = fields.String(required=True, validate=CURRENCY)
    rate = fields.Decimal(required=True, places=8, allow_nan=False, validate=validate.Range(min=0, min_inclusive=False))
    valid_from = fields.Date(required=True, validate=sane_date)


def _load(schema: Schema, names: list[str], lists: tuple[str, ...] = (), flags: tuple[str, ...] = ()) -> dict:
    """The form's fields through an API schema (see web/forms.py). Raises ValidationFailed naming the fields."""
    return load_form(schema, names, lists=lists, flags=flags)


def _submit(action: Callable[[], object], done: str, then: str, again: Callable[..., str]):
    """Run one service action; on refusal show the form again with its errors beside the fields."""
    try:
        action()
    except ValidationFailed as exc:
        flash(exc.detail, "error")
        return again(errors=exc.errors, form=request.form), 422
    flash(done, "ok")
    return redirect(then)


@bp.route("/")
def index():
    return redirect(url_for("admin.kinds_page"))


# stages --------------------------------------------------------------------------------------------
def _stages_page(errors=None, form=None) -> str:
    return render_template("admin/stages.html", stages=catalogs.list_stages(), errors=errors or {}, form=form or {})


@bp.route("/stages")
def stages_page():
    return _stages_page()


@bp.route("/stages", methods=["POST"])
def create_stage():
    names = ["key", "name", "name_nb", "details", "default_probability", "sla_days"]
    return _submit(lambda: catalogs.create_stage(**_load(StageCreateSchema(), names)),
                   gettext("Stage %(name)s added.", name=request.form.get("name", "").strip()),
                   url_for("admin.stages_page"), _stages_page)


@bp.route("/stages/<key>", methods=["GET", "POST"])
def edit_stage(key: str):
    stage = catalogs.stage_by_key(key)
    if stage is None:
        raise NotFound(gettext("No stage %(key)s", key=repr(key)))

    def page(errors=None, form=None) -> str:
        return render_template("admin/stage_edit.html", stage=stage, errors=errors or {}, form=form or {})

    if request.method == "GET":
        return page()
    names = ["name", "name_nb", "details", "default_probability", "sla_days"]
    return _submit(lambda: catalogs.update_stage(key, _load(StageEditSchema(), names)),
                   gettext("Stage %(key)s saved.", key=key),
                   url_for("admin.stages_page"), page)


# kinds ---------------------------------------------------------------------------------------------
def _kinds_page(errors=None, form=None) -> str:
    return render_template("admin/kinds.html", kinds=kinds.list_kinds(), types=KIND_TYPES, errors=errors or {},
                           form=form or {})


@bp.route("/kinds")
def kinds_page():
    return _kinds_page()


def _kind_page(kind: OpportunityKind, version: KindVersion | None, errors=None, form=None, *,
               follow_on_errors=None, follow_on_findings=None) -> str:
    authors = {u.id: u.name for u in users.list_users()}
    return render_template("admin/kind.html", kind=kind, version=version, authors=authors, errors=errors or {},
                           designer_read_only=bool(kind_designs.designer_refusal(kind)),
                           form=form or {}, follow_on=kinds.current_follow_on(kind),
                           follow_on_errors=follow_on_errors or {}, follow_on_findings=follow_on_findings or {})


@bp.route("/kinds/<key>")
def kind_page(key: str):
    kind = kinds.get_kind(key)
    number = load_args(BpmnQuery())["version"]
    version = kinds.version_of(kind, number) if (number or kind.current_version) else None
    return _kind_page(kind, version)


@bp.route("/kinds/<key>/bpmn")
def kind_bpmn(key: str):
    """The BPMN of a version (default: current), always as a download (see bpmn_file)."""
    kind = kinds.get_kind(key)
    return bpmn_file(kind.key, kinds.version_of(kind, load_args(BpmnQuery())["version"]))


@bp.route("/kinds/<key>/allowed", methods=["POST"])
def kind_allowed(key: str):
    allowed = request.form.get("allowed") == "1"
    kinds.update_kind(key, allowed=allowed)
    flash(gettext("%(key)s may be chosen for new opportunities.", key=key) if allowed else
          gettext("%(key)s may no longer be chosen for new opportunities.", key=key), "ok")
    return redirect(url_for("admin.kind_page", key=key))


@bp.route("/kinds/upload", methods=["POST"])
def upload_bpmn():
    """A BPMN file as a new version of a kind (new or existing). Refused files store nothing and show the
    validator's findings against the element ids they name."""
    key = request.form.get("key", "").strip()
    existing = kinds.find_kind(key) if key else None
    new = request.form.get("intent") == "new"  # the kinds list's "as a new kind": never a version of another

    def again(errors=None, form=None) -> str:
        if existing and not new:
            return _kind_page(existing, existing.current_version, errors, form)
        return _kinds_page(errors, form)

    upload = request.files.get("file")
    kind_type = request.form.get("type") or (existing.type if existing else "custom")
    errors = kind_identity_errors(key, existing.type if existing else kind_type)  # the service's own check
    if new and existing:
        errors["key"] = [gettext("Already taken.")]
    if upload is None or not upload.filename:
        errors["file"] = ["Choose a .bpmn file."]
    if errors:
        flash(gettext("Check the fields marked below."), "error")
        return again(errors=errors, form=request.form), 422
    try:
        xml = upload.read().decode("utf-8")
    except UnicodeDecodeError:
        flash(gettext("The BPMN was refused; nothing was stored."), "error")
        return again(errors={"file": [gettext("The file is not UTF-8 text.")]}, form=request.form), 422
    try:
        version = kinds.import_kind_bpmn(key, xml, name=request.form.get("name", "").strip() or None,
                                         kind_type=kind_type, actor=current_user._get_current_object())
    except InvalidProcess as exc:
        flash(gettext("The BPMN was refused; nothing was stored. %(why)s", why=exc.detail), "error")
        return render_template("admin/bpmn_refused.html", key=key, kind=existing, detail=exc.detail,
                               findings=exc.errors), 422
    except ValidationFailed as exc:
        flash(gettext("The BPMN was refused; nothing was stored. %(why)s", why=exc.detail), "error")
        return again(errors=exc.errors, form=request.form), 422
    flash(gettext("Version %(number)s of %(kind)s stored.", number=version.number, kind=key)
          + (" " + gettext("What was added on import is listed under the diagram.") if version.import_notes else ""),
          "ok")
    return redirect(url_for("admin.kind_page", key=key))


@bp.route("/kinds/<key>/follow-on.bpmn")
def follow_on_bpmn(key: str):
    """The kind's current follow-on BPMN, as a download."""
    kind = kinds.get_kind(key)
    return bpmn_file(f"{kind.key}-follow-on", kinds.follow_on_version(kind, None))


@bp.route("/kinds/<key>/follow-on", methods=["POST"])
def upload_follow_on(key: str):
    """A BPMN file as the kind's follow-on process (the job's work after a win with a job). A refused file stores
    nothing; the kind page comes back with the findings by element."""
    kind = kinds.get_kind(key)
    version = kind.current_version
    upload = request.files.get("follow_on_file")
    if upload is None or not upload.filename:
        flash(gettext("Check the fields marked below."), "error")
        return _kind_page(kind, version, follow_on_errors={"follow_on_file": [gettext("Choose a .bpmn file.")]}), 422
    try:
        stored = kinds.attach_follow_on(key, upload.read(), actor=current_user._get_current_object())
    except InvalidProcess as exc:
        flash(gettext("The job's process was refused; nothing was stored. %(why)s", why=exc.detail), "error")
        refusal = gettext("This file was refused (see below).")
        return _kind_page(kind, version, follow_on_errors={"follow_on_file": [refusal]},
                          follow_on_findings=exc.errors), 422
    except ValidationFailed as exc:
        flash(gettext("The job's process was refused; nothing was stored."), "error")
        return _kind_page(kind, version, follow_on_errors={"follow_on_file": [
            message for messages in exc.errors.values() for message in messages]}), 422
    flash(gettext("Version %(number)s of the job's process of %(kind)s stored.", number=stored.number, kind=kind.name),
          "ok")
    return redirect(url_for("admin.kind_page", key=key))


# the designer --------------------------------------------------------------------------------------
def _design_of(kind: OpportunityKind | None) -> dict:
    """The designer's starting point: the builder input of the current version (a kind without one, e.g.
    uploaded, never reaches the form: see kind_designs.designer_refusal)."""
    if kind is None or kind.current_version is None or not kind.current_version.definition:
        return {"type": kind.type if kind else "custom", "stages": [], "allowed": True, "allow_early_win": True,
                **({"key": kind.key, "name": kind.name} if kind else {})}
    # name and offering may have been changed since (PATCH /kinds); the kind holds the current ones
    return {**kind.current_version.definition, "name": kind.name, "allowed": kind.allowed,
            "record_initial_request": kind.record_initial_request}


def _sla_days(sla: str | None) -> str:
    match = re.fullmatch(r"P(\d+)D", sla or "")
    return match.group(1) if match else (sla or "")


def _designer_rows(design: dict) -> list[dict]:
    """One row per catalog stage: chosen ones first in the kind's order, then the rest."""
    chosen = list(design.get("stages") or [])
    catalog = catalogs.list_stages()
    by_key = {s.key: s for s in catalog}
    ordered = [by_key[k] for k in chosen if k in by_key] + [s for s in catalog if s.key not in chosen]
    rows = []
    for position, stage in enumerate(ordered, start=1):
        tasks = list((design.get("stage_tasks") or {}).get(stage.key) or [])
        rows.append({
            "stage": stage, "used": stage.key in chosen, "order": position,
            "sla": _sla_days((design.get("stage_sla") or {}).get(stage.key)) or (
                str(stage.sla_days) if stage.sla_days and stage.key not in chosen else ""),
            "required": ", ".join((design.get("required_fields") or {}).get(stage.key) or []),
            "probability": (design.get("stage_probability") or {}).get(stage.key, stage.default_probability),
            "tasks": tasks + [{"required": True}] * EXTRA_TASK_ROWS,
        })
    return rows


def _tasks_from_form(prefix: str) -> list[dict]:
    form, tasks = request.form, []
    for index in range(100):
        name = f"task.{prefix}.{index}"
        if f"{name}.title" not in form:
            break
        title = form[f"{name}.title"].strip()
        if not title:
            continue  # a blank row is an unused row
        task = {"title": title, "role": form.get(f"{name}.role", "rep"), "required": f"{name}.required" in form}
        if form.get(f"{name}.due", "").strip():
            task["due"] = form[f"{name}.due"].strip()
        tasks.append(task)
    return tasks


def _design_from_form(key: str) -> dict:
    """The designer form as the POST /api/v1/kinds payload, validated by the same schema."""
    form = request.form
    kind_type = form.get("type", "")
    errors: dict[str, list[str]] = {}
    chosen: list[tuple[int, int, str]] = []
    stage_tasks: dict[str, list[dict]] = {}
    stage_sla: dict[str, str] = {}
    required_fields: dict[str, list[str]] = {}
    stage_probability: dict[str, str] = {}
    for position, stage in enumerate(catalogs.list_stages()):
        if f"use.{stage.key}" not in form or kind_type == "stageless":
            continue
        try:
            order = int(form.get(f"order.{stage.key}") or position + 1)
        except ValueError:
            errors[f"order.{stage.key}"] = ["A whole number."]
            order = position + 1
        chosen.append((order, position, stage.key))
        probability = form.get(f"probability.{stage.key}", "").strip()
        if probability and probability != str(stage.default_probability):
            stage_probability[stage.key] = probability  # the schema checks 0..100 and names the field
        sla = form.get(f"sla.{stage.key}", "").strip()
        if sla:
            stage_sla[stage.key] = f"P{sla}D" if sla.isdigit() else sla.upper()
        wanted = [f.strip() for f in form.get(f"required.{stage.key}", "").split(",") if f.strip()]
        if wanted:
            required_fields[stage.key] = wanted
        if tasks := _tasks_from_form(stage.key):
            stage_tasks[stage.key] = tasks
    payload = {
        "key": key, "name": form.get("name", "").strip(), "type": kind_type,
        "stages": [k for _, _, k in sorted(chosen)], "stage_tasks": stage_tasks, "stage_sla": stage_sla,
        "required_fields": required_fields, "stage_probability": stage_probability,
        **{flag: flag in form for flag in ("allowed", "allow_skip", "allow_back", "allow_early_win",
                                           "record_initial_request")},
    }
    try:
        data = KindCreateSchema().load(payload)
    except ValidationError as exc:
        errors.update(flatten_messages(exc.messages))
    if errors:
        raise ValidationFailed(gettext("Check the fields marked below."), errors)
    return data


@bp.route("/kinds/new", methods=["GET", "POST"], endpoint="new_kind")
@bp.route("/kinds/<key>/design", methods=["GET", "POST"])
def design_kind(key: str | None = None):
    """Create or redesign a kind; saving stores a new BPMN version when the process changed. A kind the designer
    cannot hold completely (uploaded, or with task details it has no field for) is shown read-only, and a save
    of it is refused: the form would silently drop what it cannot show."""
    kind = kinds.get_kind(key) if key else None
    read_only = kind_designs.designer_refusal(kind)

    def page(errors=None, form=None, design=None) -> str:
        if read_only:
            return render_template("admin/designer.html", kind=kind, read_only=read_only, design={},
                                   outline=kind_designs.version_outline(kind.current_version))
        design = design if design is not None else _design_of(kind)
        general, by_stage = _split_stage_errors(errors or {})
        return render_template("admin/designer.html", kind=kind, design=design, rows=_designer_rows(design),
                               roles=TASK_ROLES, errors=general, stage_errors=by_stage,
                               form=form or {})

    if request.method == "GET":
        return page()
    if read_only:
        flash(gettext("Nothing was saved. %(why)s", why=read_only), "error")
        return page(), 409
    new_key = key or request.form.get("key", "").strip()
    before = kind.current_version.number if kind and kind.current_version else None
    try:
        if kind is None and kinds.find_kind(new_key):  # "new" never redesigns (or overwrites an uploaded) kind
            raise ValidationFailed(gettext("Check the fields marked below."), {"key": [
                gettext("A kind with the key %(new_key)s already exists; open it from the kinds list to change it.",
                        new_key=new_key)]})
        design = _design_from_form(new_key)
        saved = kinds.save_designed_kind(design, current_user._get_current_object())
    except ValidationFailed as exc:
        flash(exc.detail, "error")
        return page(errors=exc.errors, form=request.form, design=_design_echo(new_key)), 422
    number = saved.current_version.number if saved.current_version else None
    flash(gettext("%(kind)s: version %(number)s saved.", kind=saved.name, number=number) if number != before
          else gettext("%(kind)s saved; the process is unchanged, so it keeps version %(number)s.", kind=saved.name,
                       number=number), "ok")
    return redirect(url_for("admin.kind_page", key=saved.key))


_STAGE_PARTS = ("stages", "stage_tasks", "stage_sla", "required_fields", "stage_probability", "order", "sla")


def _split_stage_errors(errors: dict[str, list[str]]) -> tuple[dict, dict[str, list[str]]]:
    """Designer errors about stages, keyed by the stage they name ("" for the stage list as a whole), so each
    shows in that stage's box; the rest stay beside their fields."""
    general: dict[str, list[str]] = {}
    by_stage: dict[str, list[str]] = {}
    for name, messages in errors.items():
        part, _, rest = name.partition(".")
        if part not in _STAGE_PARTS:
            general[name] = messages
            continue
        stage, _, detail = rest.partition(".")
        task = re.match(r"value\.(\d+)\.(\w+)$", detail)
        what = f"task {int(task.group(1)) + 1} {task.group(2)}" if task else part.replace("_", " ")
        by_stage.setdefault(stage, []).extend(f"{what}: {m}" for m in messages)
    return general, by_stage


def _design_echo(key: str) -> dict:
    """What the admin typed, shaped like a design, so a refused form comes back as it was sent."""
    form = request.form
    stage_keys = [s.key for s in catalogs.list_stages() if f"use.{s.key}" in form]
    order = {}
    for k in stage_keys:
        try:
            order[k] = int(form.get(f"order.{k}") or 0)
        except ValueError:
            order[k] = 0
    return {
        "key": key, "name": form.get("name", ""), "type": form.get("type", ""),
        "stages": sorted(stage_keys, key=lambda k: order[k]),
        "stage_tasks": {k: _tasks_from_form(k) for k in stage_keys},
        "stage_sla": {k: form.get(f"sla.{k}", "") for k in stage_keys},
        "required_fields": {k: [f.strip() for f in form.get(f"required.{k}", "").split(",") if f.strip()]
                            for k in stage_keys},
        "stage_probability": {k: form.get(f"probability.{k}", "") for k in stage_keys},
        **{flag: flag in form for flag in ("allowed", "allow_skip", "allow_back", "allow_early_win",
                                           "record_initial_request")},
    }


# catalogs ------------------------------------------------------------------------------------------
@bp.route("/catalogs")
def catalogs_page():
    return redirect(url_for("admin.catalog_page", name=CATALOGS[0]))


@bp.route("/catalogs/<name>", methods=["GET", "POST"])
def catalog_page(name: str):
    catalogs.check_catalog(name)

    def page(errors=None, form=None) -> str:
        return render_template("admin/catalogs.html", name=name, names=CATALOGS, entries=catalogs.list_entries(name),
                               errors=errors or {}, form=form or {})

    if request.method == "GET":
        return page()
    return _submit(lambda: catalogs.create_entry(name, **_load(CatalogEntryCreateSchema(),
                                                               ["key", "name", "name_nb", "percent", "price"])),
                   gettext("%(entry)s added to %(catalog)s.", entry=request.form.get("name", "").strip(), catalog=name),
                   url_for("admin.catalog_page", name=name), page)


@bp.route("/catalogs/<name>/<key>/active", methods=["POST"])
def catalog_entry_active(name: str, key: str):
    active = request.form.get("active") == "1"
    row = catalogs.set_entry_active(name, key, active)
    flash(gettext("%(name)s reactivated.", name=row.name) if active
          else gettext("%(name)s deactivated.", name=row.name), "ok")
    return redirect(url_for("admin.catalog_page", name=name))


# custom fields and questions -----------------------------------------------------------------------
@bp.route("/fields", methods=["GET", "POST"])
def fields_page():
    def page(errors=None, form=None) -> str:
        return render_template("admin/fields.html", rows=catalogs.list_custom_fields(), errors=errors or {},
                               form=form or {})

    if request.method == "GET":
        return page()
    return _submit(lambda: catalogs.create_custom_field(**_load(
        CustomFieldCreateSchema(), ["key", "label", "type", "choices", "required"], lists=("choices",),
        flags=("required",))), gettext("Field %(label)s added.", label=request.form.get("label", "").strip()),
        url_for("admin.fields_page"), page)


@bp.route("/questions", methods=["GET", "POST"])
def questions_page():
    def page(errors=None, form=None) -> str:
        return render_template("admin/questions.html", rows=catalogs.list_all_questions(), kinds=kinds.list_kinds(),
                               errors=errors or {}, form=form or {})

    if request.method == "GET":
        return page()
    return _submit(lambda: catalogs.create_question(**_load(
        QuestionCreateSchema(), ["key", "section", "text", "answer_type", "required", "kind_key", "choices"],
        lists=("choices",), flags=("required",))), gettext("Question added."), url_for("admin.questions_page"), page)


# the office's required fields (seed 001: "You establish Required Fields in Preferences") -------------
@bp.route("/required-fields", methods=["GET", "POST"])
def required_fields_page():
    def page(errors=None, form=None) -> str:
        chosen = set(form.getlist("fields")) if form else set(required_on_create())
        labels = {key: gettext(words) for key, words in REQUIRABLE_FIELDS.items()}
        return render_template("admin/required_fields.html", labels=labels, chosen=chosen, errors=errors or {})

    if request.method == "GET":
        return page()
    return _submit(lambda: set_required_on_create(**load_form(RequiredFieldsSchema(), ["fields"], multi=("fields",))),
                   gettext("Required fields saved."), url_for("admin.required_fields_page"), page)


# users ---------------------------------------------------------------------------------------------
def _create_user() -> None:
    form = request.form
    raw = {"email": form.get("email", "").strip(), "name": form.get("name", "").strip(),
           "roles": form.getlist("roles"), "timezone": form.get("timezone", "").strip() or "UTC",
           "password": form.get("password", ""), "manager_id": form.get("manager_id", "").strip() or None}
    errors: dict[str, list[str]] = {}
    try:
        data = UserCreateSchema().load(raw)
    except ValidationError as exc:
        errors = flatten_messages(exc.messages)
    if not raw["password"]:
        errors["password"] = ["Give the user a password."]
    else:  # the policy's own words beside the field, with the form's other errors
        try:
            users.check_password(raw["password"], raw["email"])
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(gettext("Check the fields marked below."), errors)
    users.create_user(data["email"], data["name"], data["roles"], password=data["password"],
                      timezone=data["timezone"], manager_id=data["manager_id"])


def _users_page(errors=None, form=None, *, row: int | None = None) -> str:
    """The users, each with whom they report to (a row's own form, `row`, shows its refusal), and the create form."""
    rows = users.list_users()
    return render_template("admin/users.html", rows=rows, people=[(str(u.id), u.name) for u in rows], roles=ROLES,
                           errors=errors or {}, form=form or {}, row=row)


@bp.route("/users", methods=["GET", "POST"])
def users_page():
    if request.method == "GET":
        return _users_page()
    return _submit(_create_user, gettext("User %(email)s created.", email=request.form.get("email", "").strip()),
                   url_for("admin.users_page"), _users_page)


@bp.route("/users/<int:user_id>/manager", methods=["POST"])
def user_manager(user_id: int):
    """Whom a user reports to (their team on the board); the same rule as PUT /api/v1/users/{id}/manager."""
    def save() -> None:
        data = _load(ReportsToSchema(partial=("manager_id",)), ["manager_id"])
        users.update_user(user_id, manager_id=data.get("manager_id"))

    user = users.get_user(user_id)
    return _submit(save, gettext("%(name)s's manager saved.", name=user.name), url_for("admin.users_page"),
                   lambda errors=None, form=None: _users_page(errors, form, row=user_id))


# exchange rates ------------------------------------------------------------------------------------
@bp.route("/rates", methods=["GET", "POST"])
def rates_page():
    def page(errors=None, form=None) -> str:
        return render_template("admin/rates.html", rows=catalogs.list_exchange_rates(), today=now().date().isoformat(),
                               currencies=catalogs.list_entries("currencies", active_only=True),
                               errors=errors or {}, form=form or {})

    if request.method == "GET":
        return page()
    return _submit(lambda: catalogs.set_exchange_rate(**_load(ExchangeRateSchema(),
                                                              ["currency", "base", "rate", "valid_from"])),
                   gettext("Exchange rate saved."), url_for("admin.rates_page"), page)



# reminders that could not be delivered -----------------------------------------------------------
@bp.route("/reminders")
def dead_reminders_page():
    return render_template("admin/reminders.html", rows=reminders.dead_reminders())


@bp.route("/reminders/<int:reminder_id>/retry", methods=["POST"])
def retry_reminder(reminder_id: int):
    return_to(url_for("admin.dead_reminders_page"))
    row = reminders.retry_reminder(reminder_id)
    flash(gettext("Reminder %(id)s will be tried again on the next scheduler tick.", id=row.id), "ok")
    return redirect(url_for("admin.dead_reminders_page"))


# the modeler: BPMN drawn in the browser (bpmn-js with a som_flow properties panel; static/modeler.js) --------
def _starter_bpmn() -> str:
    """A new kind's first drawing: one stage of the catalog, small and valid, built as the designer builds."""
    first = next(iter(catalogs.list_stages()), None)
    stage = ({"key": first.key, "name": first.name, "probability": first.default_probability} if first
             else {"key": "lead", "name": "Lead", "probability": 10})
    return without_lanes(build_kind_bpmn(key="new_kind", name="New kind", type="standard", stages=[stage]))


def _modeler_page(kind: OpportunityKind | None, xml: str, *, errors=None, findings=None, form=None,
                  follow_on: bool = False) -> str:
    stages = [{"key": s.key, "name": s.name} for s in catalogs.list_stages()]  # the panel's stage choice
    return render_template("admin/modeler.html", kind=kind, xml=xml, types=KIND_TYPES, stages=stages,
                           errors=errors or {}, findings=findings or {}, form=form or {}, follow_on=follow_on,
                           follow_on_version=kinds.current_follow_on(kind) if follow_on else None)


@bp.route("/kinds/new-model", methods=["GET", "POST"], endpoint="new_model")
@bp.route("/kinds/<key>/model", methods=["GET", "POST"])
def model_kind(key: str | None = None):
    """Draw a kind (new, or a new version of `key`) in the browser modeler. Saving uploads the drawing through the
    same service as a file upload; a refusal stores nothing and shows the reasons beside the drawing, kept."""
    kind = kinds.get_kind(key) if key else None
    if request.method == "GET":
        return _modeler_page(kind, kind.current_version.bpmn_xml if kind and kind.current_version else _starter_bpmn())
    xml = request.form.get("bpmn", "")
    new_key = kind.key if kind else request.form.get("key", "").strip()
    kind_type = kind.type if kind else request.form.get("type", "")
    errors = {} if kind else kind_identity_errors(new_key, kind_type)  # the upload's own check, beside the fields
    if kind is None and "key" not in errors and kinds.find_kind(new_key):
        errors["key"] = ["A kind with this key exists: open it and draw a new version there."]
    if kind is None and len(request.form.get("name", "").strip()) > 120:
        errors["name"] = ["At most 120 characters."]
    if errors:
        flash(gettext("Check the fields marked below; nothing was stored."), "error")
        return _modeler_page(kind, xml, errors=errors, form=request.form), 422
    try:
        version = kinds.import_kind_bpmn(new_key, xml, name=request.form.get("name", "").strip() or None,
                                         kind_type=kind_type, actor=current_user._get_current_object())
    except InvalidProcess as exc:
        flash(f"The drawing was refused; nothing was stored. {exc.detail}", "error")
        return _modeler_page(kind, xml, findings=exc.errors, form=request.form), 422
    except ValidationFailed as exc:
        flash(f"The drawing was refused; nothing was stored. {exc.detail}", "error")
        return _modeler_page(kind, xml, errors=exc.errors, form=request.form), 422
    flash(gettext("Version %(number)s of %(kind)s stored.", number=version.number, kind=new_key), "ok")
    return redirect(url_for("admin.kind_page", key=new_key))


@bp.route("/kinds/<key>/follow-on/model", methods=["GET", "POST"])
def model_follow_on(key: str):
    """Draw the kind's follow-on process (the job's own work after a win with a job) in the same modeler, checked
    as its upload is; saving stores a new follow-on version, a refusal stores nothing and keeps the drawing."""
    kind = kinds.get_kind(key)
    if request.method == "GET":
        current = kinds.current_follow_on(kind)
        # with none yet, the drawing starts from the shipped job order, a small valid example to change
        return _modeler_page(kind, current.bpmn_xml if current else shipped_follow_on_bpmn("job-order"),
                             follow_on=True)
    xml = request.form.get("bpmn", "")
    try:
        stored = kinds.attach_follow_on(key, xml, actor=current_user._get_current_object())
    except InvalidProcess as exc:
        flash(f"The drawing was refused; nothing was stored. {exc.detail}", "error")
        return _modeler_page(kind, xml, findings=exc.errors, form=request.form, follow_on=True), 422
    except ValidationFailed as exc:
        flash(f"The drawing was refused; nothing was stored. {exc.detail}", "error")
        return _modeler_page(kind, xml, errors=exc.errors, form=request.form, follow_on=True), 422
    flash(gettext("Version %(number)s of the job's process of %(kind)s stored.", number=stored.number, kind=kind.name),
          "ok")
    return redirect(url_for("admin.kind_page", key=key) + "#follow-on")
