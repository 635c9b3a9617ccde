"""Activities: notes and logged calls, e-mails, meetings and visits on a deal or a customer (issue #12, item 1).

One list per customer: an activity logged on a deal is also on the deal's customer (its `customer_id`), and the
customer contact log (services.contact_log) is the same rows. The author may edit an activity for
EDIT_WINDOW after writing it; after that it can only be added to (`append`), the original kept.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from som_flow.errors import Conflict, Forbidden, NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import N_, gettext
from som_flow.models import Activity, Event, Opportunity, User
from som_flow.services.customers import get_customer
from som_flow.services.guards import get_opportunity
from som_flow.services.permissions import require_change, require_role
from som_flow.services.tasks import create_task
from som_flow.services.unit_of_work import now, service

TYPES = ("note", "call", "email", "meeting", "visit")
# "other" is the contact log's "Contact" (seed 003); it stays readable, and loggable through the contact log
TYPE_NAMES = {"note": N_("Note"), "call": N_("Call"), "email": N_("E-mail"), "meeting": N_("Meeting"),
              "visit": N_("Visit"), "other": N_("Contact")}
CUSTOMER_WRITERS = ("manager", "csr", "rep")  # and admin: who logs on a customer (as the contact log had it)
EDIT_WINDOW = timedelta(minutes=15)
# a logged activity has happened; a little slack for clocks and for typing "now" by hand
FUTURE_SLACK = timedelta(minutes=5)
MAX_TEXT = 10_000


def get_activity(activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        raise NotFound(gettext("No activity %(activity_id)s", activity_id=activity_id))
    return activity


def _page(query, page: int, per_page: int) -> tuple[list[Activity], int]:
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(query.order_by(Activity.at.desc(), Activity.id.desc())
                               .offset((page - 1) * per_page).limit(per_page))
    return list(items), total


def activities_of_opportunity(opp_id: int, page: int = 1, per_page: int = 50) -> tuple[list[Activity], int]:
    """The deal's activities, newest first, one page and the total. Raises NotFound."""
    get_opportunity(opp_id)
    return _page(select(Activity).where(Activity.opportunity_id == opp_id), page, per_page)


def activities_of_customer(customer_id: int, page: int = 1, per_page: int = 50,
                           types: tuple[str, ...] | None = None) -> tuple[list[Activity], int]:
    """The customer's activities (its deals' included), newest first; `types` narrows them. Raises NotFound."""
    get_customer(customer_id)
    query = select(Activity).where(Activity.customer_id == customer_id)
    if types is not None:
        query = query.where(Activity.type.in_(types))
    return _page(query, page, per_page)


def all_activities_of_opportunity(opp: Opportunity) -> list[Activity]:
    """Every activity of the deal (the timeline merges them with its events)."""
    return list(db.session.scalars(select(Activity).where(Activity.opportunity_id == opp.id)))


def deals_started_by(items: list[Activity]) -> set[int]:
    """Which of `items` a deal was created from (the contact log's "Create opportunity"), not logged on it."""
    deal_ids = {a.opportunity_id for a in items if a.opportunity_id}
    if not deal_ids:
        return set()
    events = db.session.scalars(select(Event).where(Event.type == "created_from_interaction",
                                                    Event.opportunity_id.in_(deal_ids)))
    return {e.data.get("entry_id") for e in events}


def require_log(actor: User, activity_or_none: Activity | None = None, *, opp: Opportunity | None = None) -> None:
    """Who may log on (or append to) a deal: whoever may change it; on a customer: admin, manager, csr, rep."""
    if activity_or_none is not None and activity_or_none.opportunity_id is not None:
        opp = get_opportunity(activity_or_none.opportunity_id)
    if opp is not None:
        require_change(actor, opp)
    else:
        require_role(actor, *CUSTOMER_WRITERS)


def can_log(actor: User, opp: Opportunity | None = None) -> bool:
    try:
        require_log(actor, opp=opp)
    except Forbidden:
        return False
    return True


def _check(data: dict, *, types: tuple[str, ...], past_only: bool) -> dict[str, list[str]]:
    """The fields' problems in plain words, by field ({} when all is well)."""
    errors: dict[str, list[str]] = {}
    if "type" in data and data["type"] not in types:
        choices = ", ".join(gettext(TYPE_NAMES[t]) for t in types)
        errors["type"] = [gettext("Choose one of: %(choices)s.", choices=choices)]
    if "text" in data and not (data["text"] or "").strip():
        errors["text"] = [gettext("Say what was talked about.")]
    elif len(data.get("text") or "") > MAX_TEXT:
        errors["text"] = [gettext("At most %(1)s characters.") % {"1": MAX_TEXT}]
    if len((data.get("outcome") or "").strip()) > 200:
        errors["outcome"] = [gettext("At most %(1)s characters.") % {"1": 200}]
    at = data.get("at")
    if at is not None:
        if at.tzinfo is None:
            errors["at"] = [gettext("Give the time with its UTC offset.")]
        elif past_only and at > now() + FUTURE_SLACK:
            errors["at"] = [gettext("That is in the future; log what has happened (book an appointment for what "
                                    "will).")]
    if data.get("user_id") is not None:
        who = db.session.get(User, data["user_id"])
        if who is None or not who.active:
            errors["user_id"] = [gettext("No such active user.")]
    return errors


def new_activity(actor: User, customer_id: int, opp: Opportunity | None, data: dict, *,
                 types: tuple[str, ...] = TYPES, past_only: bool = True) -> Activity:
    """Check and add one activity in the caller's transaction (the contact log's path too)."""
    data = {"type": data.get("type"), "text": data.get("text") or "", **{k: v for k, v in data.items()
                                                                         if k not in ("type", "text")}}
    errors = _check(data, types=types, past_only=past_only)
    if errors:
        raise ValidationFailed(gettext("The activity is incomplete: %(what)s",
                                       what=" ".join(m for ms in errors.values() for m in ms)), errors)
    written = now()
    activity = Activity(customer_id=customer_id, opportunity_id=opp.id if opp else None,
                        user_id=data.get("user_id") or actor.id, at=data.get("at") or written, type=data["type"],
                        text=data["text"].strip(), outcome=(data.get("outcome") or "").strip() or None,
                        author_id=actor.id, created_at=written, addenda=[])
    db.session.add(activity)
    db.session.flush()
    return activity


@service
def log_on_opportunity(actor: User, opp_id: int, data: dict) -> Activity:
    """Log a note, call, e-mail, meeting or visit on a deal (it shows on the deal's customer too), and with
    `next_task` ({title, due_at?}) the rep's next step as a task for themselves, in the same transaction: the
    call and what it led to are one action, so neither is kept without the other.

    `data`: type, text, at? (default now), outcome?, user_id? (who talked; default the actor), next_task?.
    Raises NotFound, Forbidden, ValidationFailed naming the fields (`next_task.title`, `next_task.due_at`),
    Conflict (a next task on a closed deal)."""
    data = dict(data)
    next_task = data.pop("next_task", None)
    opp = get_opportunity(opp_id)
    require_log(actor, opp=opp)
    activity = new_activity(actor, opp.customer_id, opp, data)
    if next_task:
        try:
            task = create_task(actor, {"title": next_task["title"], "due_at": next_task.get("due_at"),
                                       "opportunity_id": opp.id})
        except ValidationFailed as exc:
            raise ValidationFailed(exc.detail, {f"next_task.{k}": v for k, v in exc.errors.items()}) from None
        activity.next_task_id = task.id  # not stored: the answer names the task it made
    return activity


@service
def log_on_customer(actor: User, customer_id: int, data: dict) -> Activity:
    """Log an activity on a customer, on none of its deals. Raises NotFound, Forbidden, ValidationFailed."""
    customer = get_customer(customer_id)
    require_log(actor)
    return new_activity(actor, customer.id, None, data)


def edit_until(activity: Activity) -> datetime | None:
    """Until when the author may still edit the activity (None: never, e.g. entries from before activities)."""
    return activity.created_at + EDIT_WINDOW if activity.created_at else None


def can_edit(actor: User, activity: Activity) -> bool:
    until = edit_until(activity)
    return activity.author_id == actor.id and until is not None and now() <= until


@service
def edit_activity(actor: User, activity_id: int, data: dict) -> Activity:
    """The author corrects an activity while the edit window is open.

    Raises NotFound, Forbidden (not the author), Conflict (the window has closed: append instead),
    ValidationFailed naming the fields."""
    activity = get_activity(activity_id)
    if activity.author_id != actor.id:
        raise Forbidden(gettext("Only the author may edit an activity; add to it instead."))
    if not can_edit(actor, activity):
        raise Conflict(gettext("Activities can be edited for %(minutes)s minutes after they are written; add to it "
                               "instead.", minutes=int(EDIT_WINDOW.total_seconds() // 60)))
    types = TYPES if activity.type in TYPES else (*TYPES, activity.type)
    errors = _check(data, types=types, past_only=activity.opportunity_id is not None or activity.type in TYPES)
    if errors:
        raise ValidationFailed(gettext("The activity is incomplete: %(what)s",
                                       what=" ".join(m for ms in errors.values() for m in ms)), errors)
    for field in ("type", "at", "user_id"):
        if data.get(field) is not None:
            setattr(activity, field, data[field])
    if "text" in data:
        activity.text = data["text"].strip()
    if "outcome" in data:
        activity.outcome = (data["outcome"] or "").strip() or None
    return activity


@service
def append_to_activity(actor: User, activity_id: int, text: str) -> Activity:
    """Add a dated line to an activity, the original kept (anyone who may log where it is).

    Raises NotFound, Forbidden, ValidationFailed (text)."""
    activity = get_activity(activity_id)
    require_log(actor, activity)
    errors = _check({"text": text}, types=TYPES, past_only=False)
    if errors:
        raise ValidationFailed(gettext("Say what to add."), errors)
    activity.addenda = [*(activity.addenda or []),
                        {"at": now().isoformat(), "author_id": actor.id, "text": text.strip()}]
    return activity
