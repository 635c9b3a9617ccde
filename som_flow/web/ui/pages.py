"""The pages people work in: opportunities, pipeline board, my tasks, schedule, forecast, admin."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from marshmallow import Schema, ValidationError, fields
from werkzeug.datastructures import MultiDict

from som_flow.errors import SomFlowError, ValidationFailed
from som_flow.i18n import gettext, lazy_gettext
from som_flow.models import Appointment, Event, Opportunity
from som_flow.schemas import (
    ID,
    AssignSchema,
    BulkSchema,
    LoseSchema,
    OpportunityCreateSchema,
    OpportunityQuery,
    StageMoveSchema,
    WinSchema,
)
from som_flow.schemas.board import BoardColumnQuery, BoardQuery
from som_flow.schemas.tasks import TaskBulkSchema, TaskCreateSchema
from som_flow.services import (
    appointments,
    board,
    catalogs,
    estimates,
    kinds,
    notify,
    opportunities,
    reports,
    task_bulk,
    tasks,
    users,
)
from som_flow.services import customers as customer_service
from som_flow.services import history as history_service
from som_flow.services.fields import REQUIRABLE_FIELDS, qualification, required_on_create
from som_flow.services.next_activity import next_activities
from som_flow.services.permissions import can_change_opportunity, can_reopen
from som_flow.services.unit_of_work import now
from som_flow.web.formatting import label, number, page_entries, page_entry_names, page_stages, viewer_locale
from som_flow.web.forms import load_args, load_form, local_datetime
from som_flow.web.i18n import current_language, localized
from som_flow.web.redirects import back, return_to
from som_flow.web.ui.activities import timeline_context
from som_flow.web.ui.board_cards import card_writer
from som_flow.web.ui.deal_forms import check_fields, edit_options, plain_errors
from som_flow.web.ui.picker import pick, picker_label

bp = Blueprint("pages", __name__)


@bp.before_request
@login_required
def _require_login():
    return None


SORTS = {"-id": lazy_gettext("Newest"), "anticipated_close_date": lazy_gettext("Close date"),
         "-amount": lazy_gettext("Amount (largest)"), "amount": lazy_gettext("Amount (smallest)"),
         "-probability": lazy_gettext("Probability"), "title": lazy_gettext("Title")}
BULK_ACTIONS = {"stage": lazy_gettext("Move to stage"), "assign": lazy_gettext("Assign to"),
                "lose": lazy_gettext("Mark lost"), "hold": lazy_gettext("Put on hold")}
PER_PAGE = (25, 50, 100, 200)
# "all matching this filter" acts on at most as many deals as the API's bulk takes ids: each deal is its own
# transaction, so a larger run would keep the request open for minutes
BULK_CAP = BulkSchema().fields["ids"].validate.max
LIST_COUNT_CAP = 10_000  # the list counts this many matching deals at most (then "10,000+"): not 100,000 a page


MY_OPEN_DEALS = {"assignee": "me", "status": "open"}


def _list_args() -> dict:
    """The list's query string; a rep (without an office or manager role) opening the bare list gets their own open
    deals, as if they had asked for them, so its links and forms carry that filter on."""
    args = {k: v for k, v in request.args.items() if v.strip()}
    if not request.args and current_user.has_role("rep") and not current_user.has_role("admin", "manager", "csr"):
        return dict(MY_OPEN_DEALS)
    return args


def _list_filters(args: dict) -> dict:
    """The list's filters, sort and page, read by the API's schema (a bad value is a 422 naming it), plus a
    landing's own filter."""
    filters = load_args(OpportunityQuery())
    if not request.args:
        filters.update(args)
    return filters


def _list_url(args: dict):
    def url(**changes) -> str:
        """This list's URL with some parameters changed (None drops one): filters, sort and page stay in it."""
        merged = {**args, **changes}
        return url_for("pages.opportunities", **{k: v for k, v in merged.items() if v is not None})
    return url


def _bulk(filters: dict) -> dict:
    """The bulk form: on the ticked rows, or on every deal the list's filters select (up to BULK_CAP). A result per
    deal, or {"refused": True} when the form itself is refused (the page answers 422)."""
    whole_filter = request.form.get("scope") == "filter"
    try:
        data = load_form(BulkSchema(partial=("ids",) if whole_filter else ()),
                         ["action", "stage", "user_id", "reason", *(() if whole_filter else ("ids",))], multi=("ids",))
    except ValidationFailed as exc:
        flash(gettext("Tick at least one row, or choose all matching this filter.") if "ids" in exc.errors
              else exc.detail, "error")
        return {"refused": True}
    if whole_filter:
        query = {k: v for k, v in filters.items() if k not in ("page", "per_page")}
        data["ids"], matching = opportunities.matching_ids(user=current_user, limit=BULK_CAP, **query)
        if not matching:
            flash(gettext("No deals match this filter."), "error")
            return {"refused": True}
        if matching > BULK_CAP:
            flash(gettext("%(matching)s deals match this filter; a bulk action takes at most %(cap)s. "
                          "Narrow the filter.", matching=matching, cap=BULK_CAP), "error")
            return {"refused": True}
    ids, action = data.pop("ids"), data.pop("action")
    done, failed = opportunities.bulk(current_user, ids, action, data)
    flash(gettext("%(action)s: %(done)s done, %(refused)s refused.", action=BULK_ACTIONS[action], done=len(done),
                  refused=len(failed)), "ok" if not failed else "error")
    refused = {int(k): v["detail"] for k, v in failed.items()}
    return {"done": set(done), "failed": refused, "refused_deals": opportunities.get_many(list(refused))}


def _next_stages(items: list[opportunities.ListRow], stages: dict) -> dict[int, tuple[str, str] | None]:
    """Per open deal, the first stage after its own, in its kind's order, that its process allows now (key, name);
    asked once per (kind version, stage), as a page of deals mostly shares a few."""
    keys = opportunities.next_stages({(opp.kind_version_id, opp.stage) for opp in items})
    named = {pair: (key, stages[key].name if key in stages else key) if key else None for pair, key in keys.items()}
    return {opp.id: named[(opp.kind_version_id, opp.stage)] for opp in items}


@bp.route("/opportunities", methods=["GET", "POST"])
def opportunities_page():
    args = _list_args()
    filters = _list_filters(args)
    results = _bulk(filters) if request.method == "POST" else None
    # counted up to the page's own rows, and at least LIST_COUNT_CAP: beyond that the page says "10,000+"
    cap = max(LIST_COUNT_CAP, filters["page"] * filters["per_page"])
    items, total = opportunities.list_rows(user=current_user, count_up_to=cap, **filters)
    capped = total > cap
    stages = localized(page_stages())
    by_key = {s.key: s for s in stages}
    pages = max(1, -(-min(total, cap) // filters["per_page"]))
    can_change = current_user.has_role("admin", "manager", "csr", "rep")
    refused = bool(results and results.get("refused"))
    viewer = current_user._get_current_object()
    return render_template(
        "opportunities.html", items=items, total=total, stages=stages, args=args, sorts=SORTS,
        # what the rows look up, worked out once for the page: the names of their few stages and statuses, the
        # viewer (current_user is a context local), their timezone and formatting locale
        names={(kind, key): label(kind, key) for o in items
               for kind, key in (("stage", o.stage), ("status", o.status))},
        me=viewer.id, page_locale=viewer_locale(),
        bulk_actions=BULK_ACTIONS, kinds=kinds.list_kinds(), reps=users.list_reps(),
        lost_reasons=localized(page_entries("lost_reasons")), results=None if refused else results,
        can_bulk=can_change,
        upcoming=next_activities([o.id for o in items]), local=_local_time_in(ZoneInfo(viewer.timezone or "UTC")),
        at=now(), page=filters["page"], pages=pages, per_page=filters["per_page"], per_page_choices=PER_PAGE,
        capped=capped,
        shown_total=f"{number(cap)}+" if capped else total, shown_pages=f"{number(pages)}+" if capped else pages,
        list_url=_list_url(args), bulk_cap=BULK_CAP, currency=current_app.config["DEFAULT_CURRENCY"],
        my_deals=all(args.get(k) == v for k, v in MY_OPEN_DEALS.items()),
        # the row menu offers only what the viewer may do to that deal (a rep: their own deals)
        changeable={o.id for o in items if not o.closed and can_change_opportunity(viewer, o)},
        next_stages=_next_stages([o for o in items if not o.closed], by_key) if can_change else {},
        # "assign to me" only for those a deal can be assigned to (reps and managers): a claim when the deal is
        # free, else an assignment by those who may assign
        can_take=current_user.has_role("manager", "rep"),
        can_assign=current_user.has_role("admin", "manager", "csr")), 422 if refused else 200


bp.add_url_rule("/opportunities", endpoint="opportunities", view_func=opportunities_page)


@bp.route("/opportunities/<int:opp_id>")
def opportunity_page(opp_id: int):
    """The seed-000 tabs: Info, Profile, Opportunity, Tasks, Appointments, Estimates, History, User defined.
    `?open=lose` shows the "Mark lost" form open: the list's row menu links here without scripts."""
    return render_deal(opp_id, open_form="lose" if request.args.get("open") == "lose" else None)


def render_deal(opp_id: int, *, open_form: str | None = None, form=None, errors: dict | None = None,
                refusal: str | None = None, edit_form=None, edit_errors=None, editing: str | None = None,
                task_form: MultiDict | None = None, task_errors: dict | None = None, status: int = 200):
    """The deal page; a refused form (`open_form`) is shown open again with what was typed (`form`), each
    message beside its field (`errors`) and the refusal in words. A refused edit form (deal_edit) passes
    `edit_form`, `edit_errors` and the tab it was on (`editing`); the Tasks tab's refused "Add task" form,
    `task_form`/`task_errors`."""
    opp = opportunities.get_opportunity(opp_id)
    here = url_for("pages.opportunity_page", opp_id=opp.id)
    ok, why = qualification(opp)
    history = history_service.history(opp)
    stages = {s.key: s for s in localized(page_stages())}
    questions = catalogs.list_questions(opp.kind.key if opp.kind else None)
    all_tasks = opportunities.tasks_of(opp)
    return render_template(
        "opportunity.html", opp=opp, allowed=opportunities.allowed_stages(opp), tasks=all_tasks,
        stage_history=_stage_history(opp, history, stages),
        qualified=ok, why=why, stages=stages, profile=[q for q in questions if q.section == "profile"],
        qualification=[q for q in questions if q.section == "qualification"],
        appointments=_appointments(opp), estimates=estimates.list_estimates(opp.id),
        custom_fields=catalogs.list_custom_fields(), lost_reasons=localized(page_entries("lost_reasons")),
        names=page_entry_names(), users=users.list_reps(), local=_local_time,
        suggestion=reports.suggested_probability(opp) if not opp.closed else None,
        can_claim=current_user.has_role("admin", "manager", "rep") and opp.sales_rep_id in (None, current_user.id),
        can_assign=current_user.has_role("admin", "manager", "csr"),
        can_reopen=can_reopen(current_user, opp),
        next_activity=next_activities([opp.id]).get(opp.id), at=now(), **_add_task_context(task_form, task_errors),
        # the note greets whoever opens the deal, not every return to it after pressing a button on it
        show_popup=bool(opp.customer.popup_on_open and opp.customer.popup_notes
                        and urlsplit(request.referrer or "").path != here and editing is None and open_form is None),
        **timeline_context(opp), edit_form=edit_form or {}, edit_errors=edit_errors or {}, editing=editing,
        open_form=open_form, form=form or {}, errors=errors or {}, refusal=refusal,
        # where the page's forms come back to: this deal, also when a refused form is shown again
        here=request.full_path if request.method == "GET" else here), status


def _local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """A stored UTC time in the viewer's own timezone."""
    return _local_time_in(ZoneInfo(current_user.timezone or "UTC"))(value, fmt)


def _local_time_in(zone: ZoneInfo):
    """_local_time with the viewer's timezone looked up once, for a page of many times."""
    return lambda value, fmt="%Y-%m-%d %H:%M %Z": value.astimezone(zone).strftime(fmt) if value else ""


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _stage_history(opp: Opportunity, events: list[Event], stages: dict) -> list[dict]:
    """Each visit to a stage (the StageStay rows the reports read), who moved it there and how long it stayed."""
    moves = [e for e in events if e.type == "stage_changed"]
    rows = []
    for stay in history_service.stage_stays(opp):
        # the move that opened the stay is logged in the same transaction, a moment before
        mover = next((e for e in reversed(moves) if e.data.get("to") == stay.stage
                      and e.at <= stay.entered_at + timedelta(seconds=5)), None)
        rows.append({"stage": stages[stay.stage].name if stay.stage in stages else stay.stage,
                     "entered": stay.entered_at, "left": stay.left_at, "how": stay.outcome,
                     "by": (mover.actor.name if mover.actor else "system") if mover else "",
                     "time": _duration((stay.left_at or now()) - stay.entered_at)})
    return rows


def _appointments(opp: Opportunity) -> list[tuple[Appointment, datetime | None]]:
    """The deal's appointments with the next time each one happens (none when it is over)."""
    out = []
    for appt in appointments.appointments_of(opp.id):
        upcoming = appointments.occurrences(appt, now(), now() + timedelta(days=400))[:1]
        out.append((appt, upcoming[0].start if upcoming else None))
    return out


class NewOpportunityQuery(Schema):
    customer_id = fields.Integer(validate=ID)


def _id_or_none(raw: str | None) -> int | None:
    """A refused form's customer, to choose it again; a value that is no id chooses none."""
    try:
        return NewOpportunityQuery().load({"customer_id": raw})["customer_id"]
    except ValidationError:
        return None


def _create_form() -> dict:
    """The new-deal form through the API's create schema, with the office's required fields; the customer is the
    picker's (or a `customer_id`). Raises ValidationFailed naming every refused field at once."""
    text = request.form.get("customer", "").strip()
    names = ["title", "kind", "sales_rep", "amount", *required_on_create()] + ([] if text else ["customer_id"])
    errors, data = {}, {}
    if text:
        try:
            data["customer_id"] = pick(text, "customer").id
        except ValidationFailed as exc:
            errors.update(exc.errors)
    try:
        data = {**load_form(OpportunityCreateSchema(partial=("customer_id",) if text else ()), names), **data}
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise check_fields(errors, _new_opportunity_labels())
    return data


def _new_opportunity_labels() -> dict:
    """The new-deal form's labels by field, as it shows them (the customer is typed into the picker)."""
    return {"title": gettext("Title"), "customer": gettext("Customer"), "customer_id": gettext("Customer"),
            "kind": gettext("Kind"), "sales_rep": gettext("Sales rep"), "amount": gettext("Amount"),
            **{name: gettext(words) for name, words in REQUIRABLE_FIELDS.items()}}


@bp.route("/opportunities/new", methods=["GET", "POST"])
def new_opportunity():
    errors, form = {}, {}
    if request.method == "POST":
        try:
            opp = opportunities.create_opportunity(current_user, _create_form())
        except SomFlowError as exc:
            # shown again as it was typed, each message beside its field in plain words
            flash(exc.detail, "error")
            errors, form = plain_errors(exc.errors), request.form
        else:
            flash(gettext("%(number)s created.", number=opp.number), "ok")
            if opp.customer.credit_hold:
                flash(gettext("%(customer)s is on credit hold.", customer=opp.customer.name), "error")
            return redirect(url_for("pages.opportunity_page", opp_id=opp.id))
    # from a customer's page: that customer (or job) is chosen, and a credit hold is shown before saving
    chosen_id = _id_or_none(form.get("customer_id")) if form else load_args(NewOpportunityQuery()).get("customer_id")
    chosen = customer_service.find_customer(chosen_id) if chosen_id else None
    return render_template("new_opportunity.html", reps=users.list_reps(), chosen=chosen,
                           kinds=[k for k in kinds.list_kinds() if k.allowed], errors=errors, form=form,
                           o=edit_options(), picker_label=picker_label, edit_form=form, edit_errors=errors
                           ), 422 if errors else 200


# each action's form, read by the API's schema for the same action
ACTION_FORMS = {"stage": (StageMoveSchema, ["stage", "version"]), "assign": (AssignSchema, ["user_id"]),
                "win": (WinSchema, ["reason", "explanation", "resolved_date", "create_job", "job_name"]),
                "lose": (LoseSchema, ["reason", "explanation", "resolved_date"])}
KEEPS_VALUES = ("win", "lose")  # forms whose refusal shows the form again as typed, not a flash


@bp.route("/opportunities/<int:opp_id>/<action>", methods=["POST"])
def opportunity_action(opp_id: int, action: str):
    actions = {
        "stage": lambda d: opportunities.move_to_stage(current_user, opp_id, d["stage"],
                                                       expected_version=d["version"]),
        "assign": lambda d: opportunities.assign(current_user, opp_id, d["user_id"]),
        "claim": lambda d: opportunities.claim(current_user, opp_id),
        "unassign": lambda d: opportunities.unassign(current_user, opp_id),
        "hold": lambda d: opportunities.hold(current_user, opp_id),
        "resume": lambda d: opportunities.resume(current_user, opp_id),
        "reopen": lambda d: opportunities.reopen(current_user, opp_id),
        "win": lambda d: opportunities.win(current_user, opp_id, **d),
        "lose": lambda d: opportunities.lose(current_user, opp_id, **d),
    }
    if action not in actions:
        abort(404)
    return_to(url_for("pages.opportunity_page", opp_id=opp_id))  # a refusal is flashed there (web/errors.py)
    schema, names = ACTION_FORMS.get(action, (Schema, []))
    try:
        # the list's row menu moves with one button (the stage its value), the deal's version in its address
        actions[action](load_form(schema(), names, flags=("create_job",),
                                  query=("version",) if action == "stage" else ()))
    except ValidationFailed as exc:  # a Conflict (closed, the process said no) is flashed by web/errors.py
        if action not in KEEPS_VALUES:
            raise
        return render_deal(opp_id, open_form=action, form=request.form, errors=exc.errors, refusal=exc.detail,
                           status=exc.status)
    flash(gettext("Saved."), "ok")
    return redirect(back())  # the deal page, or the list whose row menu was used (its `next`)


# what the board's badges, legend and filters say; the keys are the API's (services/board.py)
BOARD_SIGNALS = {"on_hold": (lazy_gettext("On hold"), lazy_gettext("Paused: nobody works it until it is resumed.")),
                 "overdue": (lazy_gettext("Overdue"), lazy_gettext("Its anticipated close date has passed.")),
                 "stale": (lazy_gettext("Stale"),
                           lazy_gettext("Longer in its stage than the stage's time limit (SLA).")),
                 "no_next_activity": (lazy_gettext("No next step"),
                                      lazy_gettext("No open task and no appointment to come."))}
BOARD_WHO = {"mine": lazy_gettext("Mine"), "team": lazy_gettext("My team"), "all": lazy_gettext("All")}


@bp.route("/pipeline")
def pipeline():
    query = load_args(BoardQuery())
    currency = query.get("currency") or current_app.config["DEFAULT_CURRENCY"]
    choices = board.board_kinds()
    kind = board.board_kind(query.get("kind"), choices)
    shown = board.board(current_user, kind, currency, who=query.get("who"), only=query.get("only"),
                        per_column=opportunities.BOARD_PAGE_CARDS) if kind else None
    cards = [c for col in shown.columns for c in col.cards] if shown else []
    # the one shared "Move to" dialog's stages: the kind's, and any an older version of it still moves to
    stages = [s["key"] for s in kinds.kind_stages(kind)] if kind else []
    stages += sorted({key for c in cards for key in c.move_to} - set(stages))
    card, move_form = _board_cards(cards, request.full_path)
    move_form |= {"csrf_token": generate_csrf(), "next": request.full_path,
                  "stages": {key: label("stage", key) for key in stages}}
    more_url = url_for("pages.pipeline_cards", kind=kind.key, currency=currency, who=shown.who,
                       only=shown.only) if kind else None
    return render_template("pipeline.html", kinds=choices, kind=kind, board=shown, currency=currency,
                           card=card, signals=BOARD_SIGNALS, who_choices=BOARD_WHO, move_form=move_form,
                           more_url=more_url, currencies=[e.key for e in page_entries("currencies")])


@bp.route("/pipeline/cards")
def pipeline_cards():
    """A column's next cards after `after`, as the board writes them: the HTML its "Show more" adds, with where the
    column goes on from and whether more remain (data-after, data-more). The board's filters and rules apply."""
    query = load_args(BoardColumnQuery())
    currency = query.get("currency") or current_app.config["DEFAULT_CURRENCY"]
    kind = board.board_kind(query.get("kind"))
    if kind is None:
        abort(404)
    after = query.get("after", 0)
    # one card past the batch tells whether the column goes on, without counting it
    cards = board.column_cards(current_user, kind, query.get("stage"), who=query.get("who"), only=query.get("only"),
                               after=after, limit=opportunities.BOARD_PAGE_CARDS + 1)
    more, cards = len(cards) > opportunities.BOARD_PAGE_CARDS, cards[:opportunities.BOARD_PAGE_CARDS]
    # the cards' no-script "Move to" links come back to the board, not to this fragment
    back_to = url_for("pages.pipeline", kind=kind.key, currency=currency,
                      who=query.get("who") or board.default_who(current_user), only=query.get("only"))
    card, _ = _board_cards(cards, back_to)
    return render_template("_board_more.html", cards=cards, card=card, more=more,
                           after=cards[-1].opportunity.id if cards else after)


def _board_cards(cards: list[board.Card], back_to: str) -> tuple[Callable, dict]:
    """The writer of the board's cards (web/ui/board_cards.py) and what their "Move to" shares (`movable`: the ids
    the viewer may move; `next_arg`: `back_to`, the board's address, for the deal page's Move to to come back to),
    worked out once for all the cards: a board draws up to 20 cards a stage, "Show more" 20 more."""
    viewer = current_user._get_current_object()
    move_form = {"next_arg": quote(back_to, safe="/"),
                 "movable": {c.opportunity.id for c in cards if can_change_opportunity(viewer, c.opportunity)}}
    # the viewer's timezone and formatting locale, and every card's words, worked out once for the cards
    card = card_writer(deal_path=url_for("pages.opportunity_page", opp_id=0)[:-1], movable=move_form["movable"],
                       move_next_arg=move_form["next_arg"], signal_names=BOARD_SIGNALS,
                       upcoming=next_activities([c.opportunity.id for c in cards]), at=now(),
                       local=_local_time_in(ZoneInfo(viewer.timezone or "UTC")), locale=viewer_locale())
    return card, move_form


# the pools a task can be given to, as people call them
TASK_POOLS = {"rep": lazy_gettext("Sales reps"), "csr": lazy_gettext("Office (CSR)"), "office": lazy_gettext("Office"),
              "manager": lazy_gettext("Managers"), "scheduler": lazy_gettext("Schedulers")}
BULK_TASK_ACTIONS = {"complete": lazy_gettext("Done"), "snooze": lazy_gettext("Snooze until"),
                     "assign": lazy_gettext("Reassign to")}


def _add_task_context(form: MultiDict | None, errors: dict | None) -> dict:
    """What an "Add task" form needs: whom a task can be for (people by name only for who may assign), and a
    refused form's values and messages."""
    may_assign = current_user.has_role("admin", "manager", "csr")
    return {"people": users.list_active_users() if may_assign else [], "task_pools": TASK_POOLS,
            "task_form": form or MultiDict(), "task_errors": errors or {}}


@bp.route("/tasks")
def my_tasks():
    return _tasks_page()


def _tasks_page(*, add_form: MultiDict | None = None, add_errors: dict | None = None,
                bulk_form: MultiDict | None = None, bulk_errors: dict | None = None):
    """The task list to work from; a refused form (add or bulk) is shown again as typed, with a 422."""
    hidden = request.args.get("include_hidden") == "1"
    mine, _ = tasks.search_tasks(current_user, assignee="me", include_hidden=hidden, per_page=200, counted=False)
    pool, _ = tasks.search_tasks(current_user, assignee="none", include_hidden=hidden, per_page=200, counted=False)
    # overdue / today / upcoming, "today" in the user's own timezone
    zone, at = ZoneInfo(current_user.timezone or "UTC"), now()
    today = at.astimezone(zone).date()
    groups: dict[str, list] = {"Overdue": [], "Today": [], "Upcoming": []}
    for task in mine:
        if task.due_at is not None and task.due_at < at:
            groups["Overdue"].append(task)
        elif task.due_at is not None and task.due_at.astimezone(zone).date() == today:
            groups["Today"].append(task)
        else:
            groups["Upcoming"].append(task)
    refused = bool(add_errors or bulk_errors)
    # one completion key per render: a double click submits the same key twice, which is one completion
    return render_template(
        "tasks.html", mine=mine, groups=groups, pool=pool, include_hidden=hidden,
        completion_key=secrets.token_urlsafe(16),
        stages={s.key: s.name_in(current_language()) for s in page_stages()}, local=_local_time, at=at,
        deals=[d for d in opportunities.open_deals(limit=300, newest_first=True)
               if can_change_opportunity(current_user, d)], bulk_actions=BULK_TASK_ACTIONS,
        can_assign=current_user.has_role("admin", "manager", "csr"), bulk_form=bulk_form or MultiDict(),
        bulk_errors=bulk_errors or {}, default_due=_local_time(at + timedelta(days=1), "%Y-%m-%dT09:00"),
        **_add_task_context(add_form, add_errors)), 422 if refused else 200


# the "Add task" form's labels (templates/_add_task_form.html), which name a refused field
ADD_TASK_LABELS = {"title": lazy_gettext("Title"), "opportunity_id": lazy_gettext("Deal"),
                   "due_at": lazy_gettext("Due"), "for": lazy_gettext("For"), "assignee_id": lazy_gettext("For"),
                   "role": lazy_gettext("For"), "instructions": lazy_gettext("Instructions")}
# the task list's bulk bar's (templates/tasks.html)
TASK_BULK_CAP = TaskBulkSchema().fields["ids"].validate.max
BULK_TASK_LABELS = {"ids": lazy_gettext("Ticked tasks"), "action": lazy_gettext("Do"),
                    "follow_up_at": lazy_gettext("Snooze until"), "user_id": lazy_gettext("Reassign to")}


def _new_task_from_form(opp_id: int | None = None) -> dict:
    """The "Add task" form read as the API's POST /tasks body: the due date in the viewer's zone, "for" one of
    "me", "pool:<role>" or a user's id; the deal `opp_id` when the form is the deal page's. Raises
    ValidationFailed naming every refused field at once."""
    errors: dict[str, list[str]] = {}
    data: dict = {}
    picked = ("due_at", "assignee_id", "role") + (("opportunity_id",) if opp_id else ())
    try:
        data = load_form(TaskCreateSchema(exclude=picked), ["title", "opportunity_id", "instructions"])
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if opp_id:
        data["opportunity_id"] = opp_id
    try:
        data["due_at"] = local_datetime("due_at", ZoneInfo(current_user.timezone or "UTC"), "due date")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    whom = request.form.get("for", "").strip()
    if whom.startswith("pool:") and whom[5:] in TASK_POOLS:
        data["role"] = whom[5:]
    elif whom.isdigit() and len(whom) < 10:
        data["assignee_id"] = int(whom)
    elif whom not in ("", "me"):
        errors["for"] = [gettext("Choose a person or a pool.")]
    if errors:
        raise check_fields(errors, ADD_TASK_LABELS)
    return data


@bp.route("/tasks/new", methods=["POST"])
def add_task():
    try:
        task = tasks.create_task(current_user, _new_task_from_form())
    except ValidationFailed as exc:
        flash(exc.detail, "error")
        return _tasks_page(add_form=request.form, add_errors=plain_errors(exc.errors))
    flash(gettext("Task added: %(title)s.", title=task.title), "ok")
    return redirect(url_for("pages.my_tasks"))


@bp.route("/opportunities/<int:opp_id>/tasks", methods=["POST"])
def add_deal_task(opp_id: int):
    """The deal page's "Add task" form: back to the deal, or the deal page again with the form as typed."""
    return_to(url_for("pages.opportunity_page", opp_id=opp_id))
    try:
        task = tasks.create_task(current_user, _new_task_from_form(opp_id))
    except ValidationFailed as exc:
        flash(exc.detail, "error")
        return render_deal(opp_id, task_form=request.form, task_errors=plain_errors(exc.errors), status=422)
    flash(gettext("Task added: %(title)s.", title=task.title), "ok")
    return redirect(url_for("pages.opportunity_page", opp_id=opp_id) + "#tasks")


def _bulk_task_form() -> tuple[dict, datetime | None]:
    """The bulk bar's ticked tasks, action, person and snooze time. Raises ValidationFailed naming each refused
    field by its label (no task ticked: "tick at least one", as the opportunity list says)."""
    errors: dict[str, list[str]] = {}
    data: dict = {}
    try:
        data = load_form(TaskBulkSchema(exclude=("follow_up_at",)), ["ids", "action", "user_id"], multi=("ids",))
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        follow_up_at = local_datetime("follow_up_at", ZoneInfo(current_user.timezone or "UTC"), "snooze date")
    except ValidationFailed as exc:
        follow_up_at = None
        errors.update(exc.errors)
    ticked = [v for v in request.form.getlist("ids") if v.strip()]
    if not ticked:
        tick = gettext("Tick at least one task.")
        raise ValidationFailed(tick, {"ids": [tick]})
    if len(ticked) > TASK_BULK_CAP:  # the task list shows up to 200 of one's own and 200 of the pools'
        errors["ids"] = [gettext("Tick at most %(cap)s tasks.", cap=TASK_BULK_CAP)]
    for name in [n for n in errors if n.startswith("ids.")]:  # a ticked box that names no task (a tampered form)
        errors.setdefault("ids", []).extend(errors.pop(name))
    if errors:
        raise check_fields(errors, BULK_TASK_LABELS)
    return data, follow_up_at


@bp.route("/tasks/bulk", methods=["POST"])
def bulk_tasks():
    """Done / snooze / reassign the ticked tasks, each on its own; the flash says which were refused and why."""
    try:
        data, follow_up_at = _bulk_task_form()
        done, failed = task_bulk.bulk_tasks(current_user, data["ids"], data["action"], follow_up_at=follow_up_at,
                                            user_id=data["user_id"])
    except ValidationFailed as exc:
        flash(exc.detail, "error")
        return _tasks_page(bulk_form=request.form, bulk_errors=plain_errors(exc.errors))
    titles = {t.id: t.title for t in tasks.get_tasks(list(failed))}
    action = BULK_TASK_ACTIONS[data["action"]]
    if failed:
        refusals = "; ".join(f"{titles.get(i, i)} ({p['detail']})" for i, p in failed.items())
        flash(gettext("%(action)s: %(done)s done, refused: %(refusals)s.", action=action, done=len(done),
                      refusals=refusals), "error")
    else:
        flash(gettext("%(action)s: %(done)s done.", action=action, done=len(done)), "ok")
    return redirect(url_for("pages.my_tasks"))


# the booking service names its times start / end (appointment.start / .end when nested); the task list's
# inputs are these
_BOOKING_FIELDS = {"appointment.start": "appointment_start", "appointment.end": "appointment_end",
                   "appointment": "appointment_start", "start": "appointment_start", "end": "appointment_end"}


@bp.route("/tasks/<task_id>/complete", methods=["POST"])
def complete_task(task_id: str):
    booking = ("appointment_start", "appointment_end")
    data = {k: v for k, v in request.form.items()
            if k not in ("csrf_token", "idempotency_key", "next", *booking)}
    key = request.form.get("idempotency_key", "")[:64] or None  # only ever compared, so a cut is harmless
    return_to(url_for("pages.my_tasks"))
    typed = {name: request.form.get(name, "") for name in booking}
    try:
        if any(typed.values()):  # "book an appointment" from the task list
            zone = ZoneInfo(current_user.timezone or "UTC")
            data["appointment"] = {"start": local_datetime("appointment_start", zone, "start"),
                                   "end": local_datetime("appointment_end", zone, "end")}
            missing = {name: [f"Give the {word} date and time."] for name, word, value
                       in zip(booking, ("start", "end"), data["appointment"].values(), strict=True) if not value}
            if missing:
                raise ValidationFailed(gettext("Give the appointment's start and end"), missing)
        opportunities.complete_task(current_user, task_id, data, idempotency_key=key)
    except ValidationFailed as exc:
        # an answer the form does not take: the page the form was on, again, with what was typed (the booking's
        # times too) and the message beside its field (the task_fields macro reads them through refused_task_form)
        errors = {_BOOKING_FIELDS.get(name, name): reasons for name, reasons in exc.errors.items()}
        g.refused_task = {"task_id": task_id, "values": {**data, **typed}, "errors": errors}
        flash(exc.detail, "error")
        deal = re.fullmatch(r"/opportunities/(\d+)", urlsplit(request.form.get("next", "")).path)
        if deal:
            return render_deal(int(deal.group(1)), status=422)
        response = make_response(my_tasks())
        response.status_code = 422
        return response
    flash(gettext("Task done."), "ok")
    return redirect(back())


@bp.app_template_global()
def refused_task_form(task_id: str) -> dict:
    """What was typed into task `task_id`'s refused completion form and why it was refused ({} otherwise)."""
    refused = g.get("refused_task") or {}
    return refused if refused.get("task_id") == task_id else {}


@bp.app_template_global()
def assignable_reps() -> list:
    """The people a deal can be given to, for a task done by an assignment (chosen there, the rep is assigned)."""
    return users.list_reps() if current_user.has_role("admin", "manager", "csr") else []


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
def claim_task(task_id: str):
    return_to(url_for("pages.my_tasks"))
    tasks.claim_task(current_user, task_id)
    return redirect(back())


@bp.route("/notifications")
def notifications():
    rows, _ = notify.list_notifications(current_user, per_page=100)
    return render_template("notifications.html", rows=rows)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
def read_notification(notification_id: int):
    return_to(url_for("pages.notifications"))
    notify.mark_read(current_user, notification_id)
    return redirect(back())


@bp.route("/notifications/read", methods=["POST"])
def read_all_notifications():
    notify.mark_read(current_user)
    flash(gettext("All notifications marked read."), "ok")
    return redirect(back(url_for("pages.notifications")))


