"""Opportunities: search, create, edit, move through stages, win, lose, hold, assign, complete their tasks — each
use case one transaction.

The services decide what the data allows (fields, catalogs, required fields, who may); the process run
(`process_run`) lets the engine decide what the process allows and projects the result onto rows.
"""

from __future__ import annotations

import functools
import logging
import uuid
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Numeric, case, func, literal, null, or_, select
from sqlalchemy.orm import aliased, selectinload

from som_flow.engine import jsonable
from som_flow.errors import Conflict, NotFound, SomFlowError, ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import Customer, KindVersion, Opportunity, OpportunityKind, Task, User
from som_flow.services import catalogs
from som_flow.services.appointments import book_from_task
from som_flow.services.customers import create_job_for
from som_flow.services.fields import (
    FIELD_LABELS,
    answers_from_form,
    check_answers,
    check_custom_values,
    check_required_kept,
    check_required_on_create,
    custom_field,
)
from som_flow.services.forecast import Rates
from som_flow.services.guards import bump_version, get_opportunity, guard_version, lock_opportunity, require_open
from som_flow.services.history import batched_events, record_event
from som_flow.services.job_work import cancel_job_work, complete_job_task, start_job_work
from som_flow.services.limits import MAX_AMOUNT, MAX_ID
from som_flow.services.next_activity import without_next_activity
from som_flow.services.permissions import require_assign, require_change, require_reopen, require_role, require_task
from som_flow.services.process_run import (
    definition_for,
    engine,
    finish_assignment_tasks,
    load_for_process,
    load_run,
    process_data,
    project,
    restart_process,
    stage_probability,
)
from som_flow.services.reference import kept
from som_flow.services.reminder_schedule import sync_reminders
from som_flow.services.tasks import finish_person_task, lock_task, require_task_open
from som_flow.services.unit_of_work import now, service

log = logging.getLogger(__name__)

# fields a PATCH may change, with the catalog that checks them
CATALOG_FIELDS = {
    "product": "products",
    "marketing_channel": "marketing_channels",
    "marketing_source": "marketing_sources",
    "department": "departments",
    "timeframe": "timeframes",
    "financing_activity": "financing_activities",
    "probability_level": "probability_levels",
}
EDITABLE = (
    "title", "opened_on", "description", "amount", "currency", "probability", "probability_source",
    "follow_up_date", "anticipated_close_date", "priority", "external_reference", "terms_of_sale",
    "address_choice", "custom", "answers", "sales_rep", "employee_lead", "customer_id", "job_id",
    *CATALOG_FIELDS,
)


# -- reading ---------------------------------------------------------------------------------------
def open_tasks(opp: Opportunity) -> list[Task]:
    return open_tasks_of([opp.id])[opp.id]


def open_tasks_of(opp_ids: list[int]) -> dict[int, list[Task]]:
    """open_tasks of each of a page of deals, in one statement (the API's list: not one statement a deal)."""
    by_deal: dict[int, list[Task]] = {opp_id: [] for opp_id in opp_ids}
    if opp_ids:
        for task in db.session.scalars(select(Task).where(Task.opportunity_id.in_(opp_ids), Task.status == "open")
                                       .order_by(Task.created_at)):
            by_deal[task.opportunity_id].append(task)
    return by_deal


def tasks_of(opp: Opportunity) -> list[Task]:
    """Every task of the deal, open ones first, then by creation."""
    return list(db.session.scalars(select(Task).where(Task.opportunity_id == opp.id)
                                   .order_by(Task.status.desc(), Task.created_at)))


def get_many(ids: list[int]) -> list[Opportunity]:
    """The deals with these ids, in the order given (unknown ids left out)."""
    if not ids:
        return []
    rows = {o.id: o for o in db.session.scalars(select(Opportunity).where(Opportunity.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]


# what a row of the list or a card of the board shows beside the deal (its customer, as Customer:Job, and its rep):
# loaded for the whole page in a few queries, not one per deal (measured by bench/reads.py: 396 customer queries
# for one board of 700 deals)
CARD_LOADS = (selectinload(Opportunity.customer).selectinload(Customer.parent), selectinload(Opportunity.sales_rep))


class ListRow(NamedTuple):
    """What a row of the list page shows of a deal, read as plain columns (no ORM object, no loads of its customer
    and rep): the page's ORM rows and their three selectin loads were ~a third of its Python (bench/reads.py)."""
    id: int
    number: str
    title: str
    customer_name: str  # Customer:Job, as Customer.full_name
    stage: str | None
    status: str
    amount: Decimal
    currency: str
    probability: int
    sales_rep_id: int | None
    rep_name: str | None
    anticipated_close_date: date | None
    closed: bool
    version: int
    kind_version_id: int


@functools.cache
def _row_columns():
    """The columns of a ListRow and the outer joins of the customer (up to three levels of jobs) and the rep; made
    once a process (building the aliases' columns and conditions was ~a third of the list's statement's Python)."""
    customer, parent, grand = aliased(Customer), aliased(Customer), aliased(Customer)
    rep = aliased(User)
    columns = (Opportunity.id, Opportunity.number, Opportunity.title, Opportunity.stage, Opportunity.status,
               Opportunity.amount, Opportunity.currency, Opportunity.probability, Opportunity.sales_rep_id, rep.name,
               Opportunity.anticipated_close_date, Opportunity.closed, Opportunity.version,
               Opportunity.kind_version_id, Opportunity.customer_id, customer.name, parent.name, grand.name,
               grand.parent_id)
    joins = ((customer, customer.id == Opportunity.customer_id), (parent, parent.id == customer.parent_id),
             (grand, grand.id == parent.parent_id), (rep, rep.id == Opportunity.sales_rep_id))
    return columns, joins


def _list_row(row) -> ListRow:
    (opp_id, number, title, stage, status, amount, currency, probability, rep_id, rep_name, close, closed, version,
     kind_version_id, customer_id, name, parent, grand, deeper) = row
    if deeper is not None:  # a job four levels down: its whole path, as the customer model writes it
        full_name = db.session.get(Customer, customer_id).full_name
    else:
        full_name = ":".join(n for n in (grand, parent, name) if n is not None)
    return ListRow(opp_id, number, title, full_name, stage, status, amount, currency, probability, rep_id, rep_name,
                   close, closed, version, kind_version_id)


def open_deals(*, limit: int | None = None, newest_first: bool = False,
               including: int | None = None) -> list[Opportunity]:
    """Open deals (for a form's choice of deal), oldest or newest first, at most `limit`; `including` an open deal
    is always in. The board reads its own (services/board.py)."""
    query = select(Opportunity).where(Opportunity.closed.is_(False), Opportunity.archived_at.is_(None))
    query = query.order_by(Opportunity.id.desc() if newest_first else Opportunity.id).options(*CARD_LOADS)
    rows = list(db.session.scalars(query.limit(limit) if limit else query))
    if including and including not in {o.id for o in rows}:
        rows += list(db.session.scalars(select(Opportunity).where(Opportunity.id == including,
                                                                  Opportunity.closed.is_(False))))
    return rows


BOARD_CARDS = 50  # cards a board column shows; the rest are a link to the list (services/board.py)
# cards a column of the board page draws at first and each "Show more" adds: 200 cards made the page miss its
# 50 ms at 100,000 deals (issue #17); the API keeps BOARD_CARDS
BOARD_PAGE_CARDS = 20


def allowed_stages(opp: Opportunity) -> list[str]:
    """Stages the process lets this opportunity move to now (computed by the engine, never hard-coded)."""
    if opp.closed or opp.stage is None:
        return []
    return stages_allowed_from(opp.kind_version, opp.stage)


def next_stages(pairs: set[tuple[int, str | None]]) -> dict[tuple[int, str | None], str | None]:
    """For each (kind version id, stage) of open deals, the first stage after it, in the version's order, that the
    process lets such a deal move to now (None when none): the list's row menus offer it. Kept between requests
    (services/reference.py): a kind version's process never changes."""
    return {pair: kept(("next stage", *pair), lambda pair=pair: _next_stage(*pair)) for pair in pairs}


def _next_stage(version_id: int, stage: str | None) -> str | None:
    version = db.session.get(KindVersion, version_id)
    if version is None or stage is None:
        return None
    allowed = moves_from(version_id, stage)
    order = [s["key"] for s in (version.stages or [])]
    later = order[order.index(stage) + 1:] if stage in order else []
    return next((key for key in later if key in allowed), None)


def stages_allowed_from(kind_version, stage: str) -> list[str]:
    """Stages an open deal of `kind_version` in `stage` may move to."""
    # the same walk of the parsed spec the engine's snapshot uses; no state restore on a read path
    return list(engine().allowed_stages(definition_for(kind_version), stage))


def moves_from(version_id: int, stage: str) -> tuple[str, ...]:
    """stages_allowed_from by the kind version's id, kept between requests (the board asks once per version and
    stage; a version's process never changes)."""
    return kept(("moves", version_id, stage),
                lambda: tuple(stages_allowed_from(db.session.get(KindVersion, version_id), stage)))


def _filtered(*, user: User, q=None, stage=None, status=None, kind=None, assignee=None, close_from=None,
              close_to=None, archived=False, next_activity=None):
    """The deals a list's filters select; status "open" is every deal not won or lost (on hold included)."""
    query = select(Opportunity)
    # archived deals (made by mistake) only when asked for, and then only they
    query = query.where(Opportunity.archived_at.is_not(None) if archived else Opportunity.archived_at.is_(None))
    if q:
        like = f"%{q.lower()}%"
        # joined only to be searched (every deal has a customer): otherwise the list's count of 100,000 deals
        # read every customer too — its slowest statement in bench/reads.py
        query = query.join(Customer, Opportunity.customer_id == Customer.id).where(or_(
            func.lower(Opportunity.title).like(like), func.lower(Customer.name).like(like),
            func.lower(Opportunity.description).like(like), func.lower(Opportunity.number).like(like)))
    if stage:
        query = query.where(Opportunity.stage == stage)
    if status == "open":
        query = query.where(Opportunity.closed.is_(False))
    elif status:
        query = query.where(Opportunity.status == status)
    if kind:
        query = query.join(OpportunityKind, Opportunity.kind_id == OpportunityKind.id).where(
            OpportunityKind.key == kind)
    if assignee == "me":
        query = query.where(Opportunity.sales_rep_id == user.id)
    elif assignee == "none":
        query = query.where(Opportunity.sales_rep_id.is_(None))
    elif assignee:
        query = query.where(Opportunity.sales_rep_id == int(assignee))
    if close_from:
        query = query.where(Opportunity.anticipated_close_date >= close_from)
    if close_to:
        query = query.where(Opportunity.anticipated_close_date <= close_to)
    if next_activity == "none":
        query = query.where(without_next_activity(now()))
    return query


def amount_in_default_currency():
    """The deal's amount in the default currency with the forecast's rates of today, as an SQL CASE over the
    currencies in use; NULL for a currency without a rate (such deals cannot be placed among the others)."""
    rates, target = Rates(now().date()), current_app.config["DEFAULT_CURRENCY"]
    whens = []
    for currency in db.session.scalars(select(Opportunity.currency).distinct()):
        try:
            rate = rates.rate(currency, target)
        except ValidationFailed:
            continue
        whens.append((Opportunity.currency == currency, Opportunity.amount * literal(rate, Numeric(24, 12))))
    return case(*whens, else_=null()) if whens else null()


def _ordered(query, sort: str):
    descending, key = sort.startswith("-"), sort.lstrip("-")
    if key == "amount":
        # converted, so 89,528 NOK sorts below 10,000 EUR; unconvertible amounts last in either direction
        converted = amount_in_default_currency()
        return query.order_by(converted.is_(None), converted.desc() if descending else converted.asc(),
                              Opportunity.id.desc())
    column = getattr(Opportunity, key)
    return query.order_by(column.desc() if descending else column.asc(), Opportunity.id.desc())


def search_opportunities(*, user: User, sort="-id", page=1, per_page=50, count_up_to=None, **filters):
    """One page of the deals the filters select, in `sort` order, and how many there are in all. `count_up_to`:
    count at most that many and one more (more than `count_up_to` comes back as count_up_to + 1): the list page says
    "10,000+" rather than counting 100,000 deals on every page; the API's total is exact (API.md)."""
    query = _ordered(_filtered(user=user, **filters), sort)
    total = _count(query, count_up_to)
    items = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page).options(*CARD_LOADS)))
    return items, total


def list_rows(*, user: User, sort="-id", page=1, per_page=50, count_up_to=None,
              **filters) -> tuple[list[ListRow], int]:
    """search_opportunities for the list page: its rows as ListRows (two statements: the count and the page)."""
    query = _ordered(_filtered(user=user, **filters), sort)
    total = _count(query, count_up_to)
    columns, joins = _row_columns()
    query = query.with_only_columns(*columns, maintain_column_froms=True)
    for target, on in joins:
        query = query.outerjoin(target, on)
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page))
    return [_list_row(row) for row in rows], total


def _count(query, count_up_to: int | None) -> int:
    counted = query.order_by(None)
    if count_up_to is not None:
        counted = counted.with_only_columns(Opportunity.id, maintain_column_froms=True).limit(count_up_to + 1)
    return db.session.scalar(select(func.count()).select_from(counted.subquery()))


def matching_ids(*, user: User, limit: int, sort="-id", **filters) -> tuple[list[int], int]:
    """The ids of the deals the filters select (at most `limit`, in list order) and how many match in all."""
    query = _ordered(_filtered(user=user, **filters), sort)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    ids = list(db.session.scalars(query.with_only_columns(Opportunity.id).limit(limit)))
    return ids, total


# -- validation of fields --------------------------------------------------------------------------
def _check_fields(data: dict, opp: Opportunity | None = None) -> None:
    """Catalog keys, money, typed answers and user-defined values; answers and custom are merged into `opp`'s
    (RFC 7396: a key set to null is removed, keys not named stay)."""
    for field, catalog in CATALOG_FIELDS.items():
        if data.get(field) is not None:
            catalogs.require_entry(catalog, data[field], field)
    if data.get("currency") is not None:
        catalogs.require_entry("currencies", data["currency"], "currency")
    if data.get("amount") is not None:
        data["amount"] = _money(data["amount"])
    if "custom" in data and data["custom"] is not None:
        data["custom"] = check_custom_values(data["custom"], opp.custom if opp else None)
    if "answers" in data and data["answers"] is not None:
        data["answers"] = check_answers(data["answers"], opp.answers if opp else None)


def _money(value) -> Decimal:
    """An amount given as Decimal, int or text ("1200.50") → Decimal to the cent; ValidationFailed names `amount`."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (ArithmeticError, ValueError, TypeError):
        raise ValidationFailed(gettext("Amount %(value)s is not a number", value=repr(value)),
                               {"amount": [gettext("Not a number.")]})
    if isinstance(value, bool) or not amount.is_finite():
        raise ValidationFailed(gettext("Amount %(value)s is not a number", value=repr(value)),
                               {"amount": [gettext("Not a number.")]})
    if amount < 0:
        raise ValidationFailed(gettext("Amount must not be negative"), {"amount": [gettext("Must be 0 or more.")]})
    if amount > MAX_AMOUNT:
        raise ValidationFailed(gettext("Amount is too large"), {"amount": [gettext("Must be at most %(max_amount)s.",
                                                                                   max_amount=MAX_AMOUNT)]})
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _employee(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        raise ValidationFailed(gettext("No active user %(user_id)s", user_id=user_id),
                               {"employee_lead": [gettext("No such person.")]})
    return user


def _customer_and_job(data: dict, customer_id: int | None, job_id: int | None) -> None:
    """Check the customer and the job named in `data` (a job is a sub-customer of the deal's customer);
    a new customer whose job is not named drops the old customer's job. Raises ValidationFailed."""
    if "customer_id" in data:
        customer = db.session.get(Customer, data["customer_id"])
        if customer is None:
            raise ValidationFailed(gettext("Unknown customer"), {"customer_id": [gettext("No such customer.")]})
        if customer.id != customer_id and "job_id" not in data and job_id is not None:
            data["job_id"] = None
        customer_id = customer.id
    if data.get("job_id") is not None:
        job = db.session.get(Customer, data["job_id"])
        if job is None or job.parent_id != customer_id:
            raise ValidationFailed(gettext("That job is not one of the customer's"),
                                   {"job_id": [gettext("Choose a job of the deal's customer.")]})


def _rep(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        raise ValidationFailed(gettext("No active user %(user_id)s", user_id=user_id),
                               {"sales_rep": [gettext("Unknown user.")]})
    if not user.has_role("rep", "manager"):
        raise ValidationFailed(gettext("%(name)s is not a sales rep", name=user.name),
                               {"sales_rep": [gettext("Not a sales rep.")]})
    return user


# -- use cases -------------------------------------------------------------------------------------
@service
def create_opportunity(actor: User, data: dict, *, start_stage: str | None = None) -> Opportunity:
    """Create an opportunity and start its kind's process (at `start_stage` for imports of running deals).

    Raises NotFound (customer), ValidationFailed (fields, kind not allowed, unknown start stage), Forbidden.
    """
    require_role(actor, "manager", "csr", "rep")
    data = dict(data)
    customer = db.session.get(Customer, data.pop("customer_id"))
    if customer is None:
        raise ValidationFailed(gettext("Unknown customer"), {"customer_id": [gettext("No such customer.")]})
    kind = db.session.scalar(select(OpportunityKind).where(OpportunityKind.key == data.pop("kind")))
    if kind is None or kind.current_version is None:
        raise ValidationFailed(gettext("Unknown kind"), {"kind": [gettext("No such opportunity kind.")]})
    if not kind.allowed:
        raise ValidationFailed(gettext("The kind %(name)s is not allowed for new opportunities", name=kind.name),
                               {"kind": [gettext("This kind is not allowed for new opportunities.")]})
    only_rep = actor.has_role("rep") and not actor.has_role("admin", "manager", "csr")
    # a rep's own lead is theirs (below), so the office's "sales rep required" is met by them
    check_required_on_create({**data, "sales_rep": data.get("sales_rep") or (actor.id if only_rep else None)})
    _check_fields(data)
    _customer_and_job(data, customer.id, None)
    data.pop("probability_source", None)  # a new deal starts at its stage's default unless given a number
    if "employee_lead" in data:
        lead = _employee(data.pop("employee_lead"))
        data["employee_lead_id"] = lead.id if lead else None
    if data.get("probability_level") and data.get("probability") is None:
        data["probability"] = _level_percent(data["probability_level"])
    rep = _rep(data.pop("sales_rep", None))
    if rep is None and only_rep:
        rep = actor  # a rep entering a lead works it
    probability = data.pop("probability", None)
    version = kind.current_version
    at = now()
    opp = Opportunity(
        number=uuid.uuid4().hex[:20], opened_on=at.date(), customer_id=customer.id, kind_id=kind.id,
        kind_version_id=version.id, sales_rep_id=rep.id if rep else None, status="in_progress",
        currency=data.pop("currency", None) or _default_currency(), amount=data.pop("amount", None) or Decimal("0"),
        custom=data.pop("custom", None) or {}, answers=data.pop("answers", None) or {},
        probability=0, probability_source="stage_default",
    )
    for field, value in data.items():
        setattr(opp, field, value)
    db.session.add(opp)
    db.session.flush()
    opp.number = f"OPP-{opp.id:05d}"
    record_event(opp, actor, "created", title=opp.title, kind=kind.key, version=version.number)
    if rep:
        record_event(opp, actor, "assigned", old=None, new=rep.id, name=rep.name)
    if probability is not None:
        opp.probability = probability
        opp.probability_source = "manual"
    if start_stage is not None and not any(s["key"] == start_stage for s in version.stages):
        raise ValidationFailed(gettext("%(name)s has no stage %(start_stage)s", name=kind.name,
                                       start_stage=repr(start_stage)),
                               {"stage": [gettext("Choose one of %(items)s.",
                                                  items=', '.join(s['key'] for s in version.stages))]})
    defn = definition_for(version)
    run = engine().start(defn, process_data(opp), start_stage=start_stage)
    project(opp, run, version, actor)
    if customer.credit_hold:
        record_event(opp, actor, "warning", message=f"{customer.name} is on credit hold")
    return opp


def _default_currency() -> str:
    return current_app.config["DEFAULT_CURRENCY"]


@service
def update_opportunity(actor: User, opp_id: int, data: dict, expected_version: int | None = None) -> Opportunity:
    """Change editable fields; each change is an Event. `answers` and `custom` are merged (RFC 7396);
    `probability_source: stage_default` puts the probability back to the stage's default.
    Raises StaleVersion, Conflict, ValidationFailed."""
    opp = get_opportunity(opp_id)
    guard_version(opp, expected_version)
    require_change(actor, opp)
    if opp.closed and set(data) - {"explanation", "external_reference"}:
        require_open(opp)
    data = dict(data)
    check_required_kept(data)
    _check_fields(data, opp)
    _customer_and_job(data, opp.customer_id, opp.job_id)
    if "sales_rep" in data:
        if not (actor.has_role("rep") and data["sales_rep"] == actor.id):  # a rep may take a deal himself
            require_assign(actor)
        _assign(opp, _rep(data.pop("sales_rep")), actor)
    if "employee_lead" in data:
        lead = _employee(data.pop("employee_lead"))
        data["employee_lead_id"] = lead.id if lead else None
    to_stage_default = data.pop("probability_source", None) == "stage_default"
    if (data.get("probability_level") and data["probability_level"] != opp.probability_level
            and "probability" not in data and not to_stage_default):
        data["probability"] = _level_percent(data["probability_level"])
    for field, value in data.items():
        old = getattr(opp, field)
        if old == value:
            continue
        setattr(opp, field, value)
        if field in ("answers", "custom"):
            _record_keys(opp, actor, field, old or {}, value)
            continue
        record_event(opp, actor, "field_changed", field=field, label=FIELD_LABELS.get(field, field), old=_jsonable(old),
                     new=_jsonable(value))
        if field == "probability":
            opp.probability_source = "manual"
    if to_stage_default:
        _back_to_stage_default(opp, actor)
    run = load_run(opp)
    engine().set_data(run, process_data(opp, run.definition))
    project(opp, run, opp.kind_version, actor)
    return opp


def _level_percent(level: str) -> int | None:
    row = catalogs.entry("probability_levels", level)
    return row.percent if row else None


def _back_to_stage_default(opp: Opportunity, actor: User) -> None:
    """The probability follows the stage again (set by hand no more); logged when the number changes."""
    default = stage_probability(opp.kind_version, opp.stage)
    if default is None:
        raise ValidationFailed(gettext("%(number)s has no stage with a default probability", number=opp.number),
                               {"probability_source": [gettext("This deal has no stage default to go back to.")]})
    if default != opp.probability:
        record_event(opp, actor, "field_changed", field="probability", label="Probability", old=opp.probability,
                     new=default)
    opp.probability, opp.probability_source = default, "stage_default"


def _record_keys(opp: Opportunity, actor: User, field: str, old: dict, new: dict) -> None:
    """One field_changed per answer or user-defined value that changed, named as people read it."""
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        if field == "custom":
            definition = custom_field(key)
            label = definition.label if definition else key
        else:
            label = next((q.text for q in catalogs.list_all_questions() if q.key == key), key)
        record_event(opp, actor, "field_changed", field=f"{field}.{key}", label=label,
                     old=_jsonable(old.get(key)), new=_jsonable(new.get(key)))


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _check_required_fields(opp: Opportunity) -> None:
    for stage in opp.kind_version.stages:
        if stage["key"] != opp.stage:
            continue
        missing = [f for f in stage.get("required_fields") or [] if _is_empty(opp, f)]
        if missing:
            raise ValidationFailed(
                gettext("Fill %(items)s before leaving %(name)s", items=', '.join(missing), name=stage['name']),
                {f: [gettext("Required before leaving %(name)s.", name=stage['name'])] for f in missing})


def _is_empty(opp: Opportunity, field: str) -> bool:
    value = getattr(opp, field, None) if hasattr(opp, field) else (opp.custom or {}).get(field)
    return value in (None, "", Decimal("0"), 0) if field == "amount" else value in (None, "", [])


@service
def move_to_stage(actor: User, opp_id: int, target: str, expected_version: int | None = None) -> Opportunity:
    """Move to `target` if the process allows it.

    Raises IllegalMove/Conflict (409, naming the allowed stages), ValidationFailed (422: required fields
    or tasks), StaleVersion (409) when someone else changed the opportunity first.
    """
    opp = load_for_process(opp_id)
    guard_version(opp, expected_version)
    require_change(actor, opp)
    require_open(opp, "move")
    if opp.status == "on_hold":
        raise Conflict(gettext("%(number)s is on hold; resume it first.", number=opp.number))
    if target != opp.stage:
        _check_required_fields(opp)
    run = load_run(opp)
    # a refused move raises and this transaction rolls back, so the run may be moved in place
    new_run = engine().move_to_stage(run, target, process_data(opp, run.definition), keep_original=False)
    project(opp, new_run, opp.kind_version, actor)
    bump_version(opp)
    return opp


def _resolved_on(actor: User, opp: Opportunity, resolved_date: date | None) -> date:
    """The outcome's date (today if not given); one before the deal's own date would make a negative sales
    cycle in the reports, and one after today would count the deal as won or lost in a period still to come, so
    both are refused (ValidationFailed naming `resolved_date`). Today is the actor's, in their own timezone;
    the day in UTC is allowed too (it is the default, and the deal's own date is one)."""
    at = now()
    latest = max(at.astimezone(ZoneInfo(actor.timezone or "UTC")).date(), at.date())
    if resolved_date is not None and resolved_date > latest:
        raise ValidationFailed(
            gettext("The resolved date %(resolved)s is in the future (today is %(today)s)",
                    resolved=resolved_date.isoformat(), today=latest.isoformat()),
            {"resolved_date": [gettext("Must be today, %(today)s, or earlier.", today=latest.isoformat())]})
    resolved_date = resolved_date or at.date()
    if resolved_date < opp.opened_on:
        raise ValidationFailed(
            gettext("The resolved date %(resolved)s is before the deal's date %(opened)s",
                    resolved=resolved_date.isoformat(), opened=opp.opened_on.isoformat()),
            {"resolved_date": [gettext("Must be on or after the deal's date, %(opened)s.",
                                       opened=opp.opened_on.isoformat())]})
    return resolved_date


@service
def win(actor: User, opp_id: int, *, reason: str | None = None, explanation: str = "",
        resolved_date: date | None = None, create_job: bool = False, job_name: str | None = None,
        expected_version: int | None = None) -> Opportunity:
    """Mark won (probability 100, closed). Raises Conflict if closed or the kind forbids an early win."""
    opp = get_opportunity(opp_id)
    guard_version(opp, expected_version)
    require_change(actor, opp)
    require_open(opp, "win")
    catalogs.require_entry("won_reasons", reason, "reason")
    resolved_date = _resolved_on(actor, opp, resolved_date)
    run = load_run(opp)
    engine().win(run, {"reason": reason, "explanation": explanation})
    opp.reason, opp.explanation = reason, explanation
    opp.resolved_date = resolved_date
    from_stage = opp.stage
    project(opp, run, opp.kind_version, actor)
    if opp.status != "won":
        raise Conflict(gettext("The process of %(number)s did not end as won.", number=opp.number))
    record_event(opp, actor, "won", stage=from_stage, reason=reason, explanation=explanation,
           amount=str(opp.amount), currency=opp.currency)
    if create_job:
        job = create_job_for(opp, actor, job_name)
        start_job_work(opp, job, actor)  # the kind's follow-on: the office's ordering and scheduling (seed 001, 6)
    return opp


@service
def lose(actor: User, opp_id: int, *, reason: str, explanation: str = "", resolved_date: date | None = None,
         expected_version: int | None = None) -> Opportunity:
    """Mark lost with a catalog reason (probability 0, closed). Raises ValidationFailed, Conflict."""
    opp = get_opportunity(opp_id)
    guard_version(opp, expected_version)
    require_change(actor, opp)
    require_open(opp, "lose")
    catalogs.require_entry("lost_reasons", reason, "reason")
    if reason is None:
        raise ValidationFailed(gettext("A reason is required"), {"reason": [gettext("Missing.")]})
    resolved_date = _resolved_on(actor, opp, resolved_date)
    run = load_run(opp)
    engine().lose(run, {"reason": reason, "explanation": explanation})
    opp.reason, opp.explanation = reason, explanation
    opp.resolved_date = resolved_date
    from_stage = opp.stage
    project(opp, run, opp.kind_version, actor)
    if opp.status != "lost":
        raise Conflict(gettext("The process of %(number)s did not end as lost.", number=opp.number))
    record_event(opp, actor, "lost", stage=from_stage, reason=reason, explanation=explanation)
    return opp


@service
def hold(actor: User, opp_id: int) -> Opportunity:
    opp = get_opportunity(opp_id)
    require_change(actor, opp)
    require_open(opp, "hold")
    if opp.status != "on_hold":
        opp.status = "on_hold"
        record_event(opp, actor, "held")
        sync_reminders(opp)
    return opp


@service
def resume(actor: User, opp_id: int) -> Opportunity:
    opp = get_opportunity(opp_id)
    require_change(actor, opp)
    if opp.status == "on_hold":
        opp.status = "in_progress"
        record_event(opp, actor, "resumed")
        sync_reminders(opp)
    return opp


@service
def reopen(actor: User, opp_id: int) -> Opportunity:
    """Reopen a closed deal at the stage it closed in (an explicit, logged action). Raises Forbidden, Conflict."""
    opp = get_opportunity(opp_id)
    require_reopen(actor, opp)
    if not opp.closed:
        raise Conflict(gettext("%(number)s is not closed.", number=opp.number))
    old_status = opp.status
    opp.status, opp.closed, opp.resolved_date, opp.reason, opp.explanation = "in_progress", False, None, None, ""
    opp.probability_source = "stage_default"
    record_event(opp, actor, "reopened", old_status=old_status, stage=opp.stage)
    cancel_job_work(opp, actor)  # the sale is undecided again: the job's open work stops
    stage = opp.stage if any(s["key"] == opp.stage for s in opp.kind_version.stages) else None
    opp.stage = None  # the restart re-enters the stage: logged, probability back to its default
    restart_process(opp, opp.kind_version, start_stage=stage, actor=actor, reason="reopened")
    return opp


def _assign(opp: Opportunity, rep: User | None, actor: User) -> None:
    old = opp.sales_rep_id
    if old == (rep.id if rep else None):
        return
    opp.sales_rep_id = rep.id if rep else None
    record_event(opp, actor, "assigned" if rep else "unassigned", old=old, new=rep.id if rep else None,
           name=rep.name if rep else None)
    # rep-lane tasks of the process follow the deal's rep (a person's task keeps whom it was given to)
    for task in db.session.scalars(select(Task).where(
            Task.opportunity_id == opp.id, Task.status == "open", Task.role == "rep", Task.source == "process")):
        task.assignee_id = opp.sales_rep_id
    # every path that gives a rep passes here: the tasks done by an assignment complete, the rep's next ones appear
    finish_assignment_tasks(opp, actor)
    sync_reminders(opp)


@service
def assign(actor: User, opp_id: int, user_id: int) -> Opportunity:
    """Give the deal to a rep; tasks done by an assignment complete. Raises Forbidden, Conflict, ValidationFailed."""
    opp = lock_opportunity(opp_id)  # the process may step: writers of the stored workflow queue on the deal
    require_assign(actor)
    require_open(opp, "assign")
    _assign(opp, _rep(user_id), actor)
    return opp


@service
def claim(actor: User, opp_id: int) -> Opportunity:
    """Take an unassigned deal; tasks done by an assignment complete. Raises Forbidden, Conflict."""
    opp = lock_opportunity(opp_id)
    require_role(actor, "rep", "manager")
    require_open(opp, "claim")
    if opp.sales_rep_id not in (None, actor.id):
        raise Conflict(gettext("%(number)s is already assigned to %(name)s.", number=opp.number,
                               name=opp.sales_rep.name))
    _assign(opp, actor, actor)
    return opp


@service
def unassign(actor: User, opp_id: int) -> Opportunity:
    opp = get_opportunity(opp_id)
    if not (actor.has_role("admin", "manager", "csr") or opp.sales_rep_id == actor.id):
        require_assign(actor)
    _assign(opp, None, actor)
    return opp


def bulk(actor: User, ids: list[int], action: str, args: dict) -> tuple[list[int], dict[str, dict]]:
    """Run `action` on each id in its own transaction; one failure does not undo the others."""
    done: list[int] = []
    failed: dict[str, dict] = {}
    for opp_id in ids:
        try:
            if action == "stage":
                if not args.get("stage"):
                    raise ValidationFailed(gettext("Give the stage"), {"stage": [gettext("Missing.")]})
                move_to_stage(actor, opp_id, args["stage"])
            elif action == "assign":
                if not args.get("user_id"):
                    raise ValidationFailed(gettext("Give the user"), {"user_id": [gettext("Missing.")]})
                assign(actor, opp_id, args["user_id"])
            elif action == "lose":
                if not args.get("reason"):
                    raise ValidationFailed(gettext("Give the reason"), {"reason": [gettext("Missing.")]})
                lose(actor, opp_id, reason=args["reason"], explanation=args.get("explanation") or "")
            elif action == "hold":
                hold(actor, opp_id)
            done.append(opp_id)
        except SomFlowError as exc:
            failed[str(opp_id)] = exc.problem()
    return done, failed


def _answer_from_task(opp: Opportunity, task: Task, data: dict, actor: User) -> bool:
    """The task's answers to the deal's questions, stored as the deal's answers: one field change each.
    Returns whether the deal's answers changed. Raises ValidationFailed (an answer the question does not take)."""
    answers = answers_from_form(opp, task.form, data)
    if not answers:
        return False
    old = dict(opp.answers or {})
    for key, value in answers.items():
        if old.get(key) != value:
            record_event(opp, actor, "field_changed", field=f"answers.{key}", old=old.get(key), new=value,
                         task=task.title, task_id=task.id)
    opp.answers = {**old, **answers}
    return True


def _complete_by_assigning(actor: User, opp: Opportunity, task: Task, rep_id, idempotency_key: str | None) -> Task:
    """The office completes its "assign a rep" task by choosing the rep: the assignment does the task."""
    try:
        rep_id = int(rep_id) if not isinstance(rep_id, bool) else 0
    except (TypeError, ValueError):
        rep_id = 0
    if not 1 <= rep_id <= MAX_ID:
        raise ValidationFailed(gettext("Choose the sales rep"),
                               {"sales_rep": [gettext("Choose a sales rep from the list.")]})
    require_assign(actor)
    _assign(opp, _rep(rep_id), actor)
    if task.status != "done":  # the process did not take it (an old version of the kind): done by hand
        raise Conflict(gettext("Task %(title)s is not done by an assignment here; complete it without a rep.",
                               title=repr(task.title)))
    task.completion_key = idempotency_key
    return task


@service
def complete_task(actor: User, task_id: str, data: dict | None = None, *, idempotency_key: str | None = None) -> Task:
    """Complete a generated task with its form data; the process steps on. A task a person added is simply done.

    Racing completions queue on the deal's and the task's row locks: the first wins, the others get Conflict.
    The client's retry of its own completion (same user, same `idempotency_key`) gets the task back and
    changes nothing.
    Raises NotFound, Forbidden, Conflict (done by someone / closed deal), ValidationFailed (the engine: form
    fields of the task's `som.form` missing or not allowed, keyed by field). A form field named like a
    profile or qualification question's key answers it on the deal too (a field change in the history).
    """
    task = db.session.scalar(select(Task).where(Task.id == task_id))
    if task is None:
        raise NotFound(gettext("No task %(task_id)s", task_id=task_id))
    # The deal first, then the task: a move's UPDATE locks the deal before its tasks, so one order, no deadlock.
    opp = load_for_process(task.opportunity_id, lock=True)
    if db.session.get_bind().dialect.name != "sqlite":
        task = lock_task(task_id)
    # else the row just read is the committed one: SQLite has no row locks, and this transaction began IMMEDIATE
    # (holding the database's write lock), so no writer can have changed it since
    require_task(actor, task)
    if (idempotency_key is not None and task.status == "done" and task.completion_key == idempotency_key
            and task.completed_by_id == actor.id):
        return task
    require_task_open(task)
    if task.job_work_id is not None:  # the job's own work runs its own process, on a deal that is won
        complete_job_task(actor, opp, task, data or {}, idempotency_key)
        bump_version(opp)
        return task
    require_open(opp, "work on")
    if task.source == "person":  # a person's task: the process knows nothing of it
        return finish_person_task(actor, task, idempotency_key)
    data = dict(data or {})
    if task.done_by == "assignment" and data.get("sales_rep") not in (None, ""):
        return _complete_by_assigning(actor, opp, task, data.pop("sales_rep"), idempotency_key)
    # the form's own check is the engine's (it reads som.form); a refusal there rolls the booking back too
    if task.action == "schedule_appointment" and "appointment" in data:
        data["appointment_id"] = book_from_task(actor, task, data.pop("appointment"))
    run = load_run(opp)
    data = jsonable(engine().complete_task(run, task_id, data))
    task.status, task.completed_by_id, task.completed_at, task.data = "done", actor.id, now(), data
    task.completion_key = idempotency_key
    with batched_events():  # the completion's event and the projection's go out in one INSERT
        record_event(opp, actor, "task_completed", task=task.title, task_id=task.id)
        if _answer_from_task(opp, task, data, actor):
            # conditions further on read the new qualification
            engine().set_data(run, process_data(opp, run.definition))
        db.session.flush()
        project(opp, run, opp.kind_version, actor)
    bump_version(opp)
    return task


