"""Reminders: claimed with a lease and delivered exactly once (the rows come from `reminder_schedule`).

The rows are the one schedule; APScheduler only wakes `fire_due_reminders`. Exactly once comes from
three things: a claim that only one process can win (compare-and-set under BEGIN IMMEDIATE on SQLite,
FOR UPDATE SKIP LOCKED on PostgreSQL), a delivery log with a unique idempotency key, and marking a
row delivered only while still holding its lease.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import socket
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import (
    JSON,
    ColumnElement,
    Integer,
    Row,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import column as column_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from som_flow.errors import Conflict, NotFound, ValidationFailed
from som_flow.extensions import UTCDateTime, db
from som_flow.i18n import gettext
from som_flow.models import Appointment, Customer, Delivery, Notification, Opportunity, Reminder, User
from som_flow.services.notify import post_webhook, send_pending_email
from som_flow.services.permissions import calendar_owner
from som_flow.services.process_run import wake_due_timers
from som_flow.services.reminder_schedule import sync_appointment
from som_flow.services.signals import reminder_failed, reminders_delivered
from som_flow.services.unit_of_work import now, service, transaction

log = logging.getLogger(__name__)
BATCH = 200  # rows per claim, delivered in one transaction

# the lease owner column's width: every claim writes the owner's name there
OWNER_LENGTH = Reminder.__table__.c.lease_owner.type.length


def check_owner(owner: str) -> str:
    """A scheduler's name as the lease owner; ValidationFailed (naming `name`) if the column cannot hold it —
    every tick's claim would fail and reminders would stay pending."""
    if not owner or len(owner) > OWNER_LENGTH:
        raise ValidationFailed(gettext("A scheduler name has 1 to %(owner_length)s characters",
                                       owner_length=OWNER_LENGTH),
                               {"name": [gettext("Use 1 to %(owner_length)s characters (this one has %(count)s).",
                                                 owner_length=OWNER_LENGTH, count=len(owner))]})
    return owner


def default_owner() -> str:
    """host:pid, the host shortened (with a hash, so two long names stay apart) to fit OWNER_LENGTH."""
    host, pid = socket.gethostname(), str(os.getpid())
    room = OWNER_LENGTH - len(pid) - 1
    if len(host) > room:
        host = host[:room - 9] + "~" + hashlib.sha256(host.encode()).hexdigest()[:8]
    return f"{host}:{pid}"


def _due(at: datetime, wall: datetime):
    """Rows to deliver: pending and due at `at`, or claimed by a process whose lease ran out by `wall`."""
    return or_(and_(Reminder.state == "pending", Reminder.due_at <= at),
               and_(Reminder.state == "claimed", Reminder.lease_until < wall))


def due_backlog() -> tuple[int, float]:
    """How many reminders are due now and not delivered, and how many seconds the oldest of them has waited
    (0 when none): the schedulers' backlog and lag, in one query over the (state, due_at) index."""
    at = now()
    count, oldest = db.session.execute(
        select(func.count(), func.min(Reminder.due_at)).where(_due(at, at))).one()
    if oldest is None:
        return count, 0.0
    if oldest.tzinfo is None:  # defensive: an aggregate's value, should a backend hand back a naive one
        oldest = oldest.replace(tzinfo=UTC)
    return count, max((at - oldest).total_seconds(), 0.0)


def _ids(conn, ids) -> str | list[int]:
    """A list of ids as the ONE parameter `_among` reads."""
    return list(ids) if conn.dialect.name == "postgresql" else json.dumps(list(ids))


def _among(dialect: str, column, name: str = "ids") -> ColumnElement[bool]:
    """`column` IN the ids bound as ONE parameter `name` (see `_ids`: a JSON array read by json_each on SQLite,
    an integer array on PostgreSQL) instead of one per id: the statement's text is the same whatever the
    batch's size, so it is built and compiled once, and no per-id bind is made."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(Integer)))
    listed = select(column_("value")).select_from(func.json_each(bindparam(name, type_=String())))
    return column.in_(listed.scalar_subquery())


# The delivery loop's statements are built once per backend (functools.cache) with bound parameters, so a
# batch costs their execution only, not building and compiling SQL again.
@functools.cache
def _claim_statement(dialect: str, some_deals: bool):
    """Claim: rows whose lease ran out by :wall (a crashed process's), then pending rows due at :at, oldest
    first, :batch in all, for :owner until :until — one UPDATE … RETURNING id, kind.

    Each half reads its own index range — ORDER BY over an OR of both would sort every due row on every
    claim. On PostgreSQL each half locks its rows FOR UPDATE SKIP LOCKED in a MATERIALIZED CTE, run once: inside
    a plain `id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n)` the planner may re-run the locking subquery per
    row (measured: minutes at 100% CPU with two workers over 20,000 due rows). On SQLite the statement runs
    under BEGIN IMMEDIATE, so no other writer sits between the read and the update.
    """
    late = (select(Reminder.id).where(Reminder.state == "claimed",
                                      Reminder.lease_until < bindparam("wall", type_=UTCDateTime()))
            .limit(bindparam("batch")))
    due = (select(Reminder.id)
           .where(Reminder.state == "pending", Reminder.due_at <= bindparam("at", type_=UTCDateTime()))
           .order_by(Reminder.due_at).limit(bindparam("batch")))
    if some_deals:
        late = late.where(_among(dialect, Reminder.opportunity_id, "opps"))
        due = due.where(_among(dialect, Reminder.opportunity_id, "opps"))
    postgres = dialect == "postgresql"
    if postgres:
        late, due = late.with_for_update(skip_locked=True), due.with_for_update(skip_locked=True)
    late, due = late.cte("late"), due.cte("due")
    if postgres:
        late, due = late.prefix_with("MATERIALIZED"), due.prefix_with("MATERIALIZED")
    picked = union_all(select(late.c.id), select(due.c.id)).limit(bindparam("batch"))
    return (update(Reminder.__table__)
            .where(Reminder.id.in_(picked))
            .values(state="claimed", lease_owner=bindparam("owner", type_=String()),
                    lease_until=bindparam("until", type_=UTCDateTime()), attempts=Reminder.attempts + 1)
            .returning(Reminder.id, Reminder.kind))


def _claim(at: datetime, owner: str, opportunity_ids: list[int] | None) -> list[Row]:
    """Claim up to BATCH due rows (or rows whose lease expired) for `owner`: one statement, one short
    transaction (see `_claim_statement`). Returns (id, kind) rows."""
    wall = now()
    params = {"wall": wall, "at": at, "batch": BATCH, "owner": owner,
              "until": wall + timedelta(seconds=current_app.config["REMINDER_LEASE_SECONDS"])}
    with transaction() as session:
        conn = session.connection()
        if opportunity_ids is not None:
            params["opps"] = _ids(conn, opportunity_ids)
        # .all(): one fetchall — iterating a Result fetches row by row
        return conn.execute(_claim_statement(conn.dialect.name, opportunity_ids is not None), params).all()


@functools.cache
def _numbers_statement(dialect: str):
    return select(Opportunity.id, Opportunity.number).where(_among(dialect, Opportunity.id))


def _numbers(conn, opp_ids: set[int]) -> dict[int, str]:
    """id -> number of a batch's deals, for the webhook body (read only when a webhook is configured)."""
    if not opp_ids:
        return {}
    return dict(conn.execute(_numbers_statement(conn.dialect.name), {"ids": _ids(conn, opp_ids)}).all())


def _hook(row, number: str | None, user: tuple | None) -> dict:
    """The webhook body for one delivered people reminder."""
    return {"reminder_id": row.id, "kind": row.kind, "title": row.title, "due_at": row.due_at.isoformat(),
            "user": {"id": user[0], "email": user[1]} if user else None,
            "opportunity": {"id": row.opportunity_id, "number": number} if number is not None else None,
            "idempotency_key": row.idempotency_key}


def _users(conn, user_ids: set[int]) -> dict[int, tuple]:
    """(id, e-mail) of a batch's users, for the webhook body (read only when a webhook is configured)."""
    if not user_ids:
        return {}
    found = conn.execute(select(User.id, User.email).where(_among(conn.dialect.name, User.id)),
                         {"ids": _ids(conn, user_ids)})
    return {u.id: (u.id, u.email) for u in found}


# A people reminder of a deal on hold or closed is silenced: cancelled, not delivered.
_SILENCED = (select(literal(1)).where(Opportunity.id == Reminder.opportunity_id,
                                      or_(Opportunity.status == "on_hold", Opportunity.closed))
             .exists())


@functools.cache
def _mark_statement(dialect: str, webhook: bool, people: bool):
    """One UPDATE for the rows of :ids this process still holds the lease on: delivered — or, for people
    reminders, cancelled when their deal is silenced (on hold or closed) —, RETURNING id and state (and what
    follows a delivery needs)."""
    extra = (Reminder.opportunity_id, Reminder.user_id, Reminder.title, Reminder.idempotency_key,
             Reminder.due_at) if webhook else ()
    at = bindparam("at", type_=UTCDateTime())
    done = ({"state": case((_SILENCED, "cancelled"), else_="delivered"),
             "delivered_at": case((_SILENCED, Reminder.delivered_at), else_=at)} if people
            else {"state": "delivered", "delivered_at": at})
    return (update(Reminder.__table__)
            .where(_among(dialect, Reminder.id), Reminder.state == "claimed",
                   Reminder.lease_owner == bindparam("owner", type_=String()))
            .values(**done, lease_owner=None, lease_until=None)
            .returning(Reminder.id, Reminder.state, Reminder.kind, Reminder.source_id, *extra))


def _mark_delivered(conn, ids: list[int], owner: str, at: datetime, webhook: bool = False,
                    people: bool = True) -> list[Row]:
    """Mark the rows of `ids` this process still holds the lease on, in one statement: delivered, or (people
    reminders) cancelled if their deal is on hold or closed; returns them (id, state, kind, source_id — and what
    a webhook body needs). A row another process took over (its lease ran out), or one cancelled meanwhile, is
    not among them. On PostgreSQL the update locks the rows until the commit, so a late re-claim waits and then
    finds them done."""
    if not ids:
        return []
    return conn.execute(_mark_statement(conn.dialect.name, webhook, people),
                        {"ids": _ids(conn, ids), "owner": owner, "at": at}).all()


@functools.cache
def _log_statement(dialect: str):
    return insert(Delivery.__table__).from_select(
        ["idempotency_key", "reminder_id", "delivered_at", "delivered_by", "channels"],
        select(Reminder.idempotency_key, Reminder.id, bindparam("at", type_=UTCDateTime()),
               bindparam("owner", type_=String()), bindparam("channels", type_=JSON()))
        .where(_among(dialect, Reminder.id)))


def _log(conn, ids: list[int], at: datetime, owner: str, channel: str) -> None:
    """The delivery-log rows of `ids`, copied from the reminders in one INSERT … SELECT: the unique
    idempotency key is what makes a second delivery impossible."""
    conn.execute(_log_statement(conn.dialect.name),
                 {"ids": _ids(conn, ids), "at": at, "owner": owner, "channels": [channel]})


# how many levels of jobs the body's Customer:Job path follows (a guard against a parent cycle, not a rule)
PATH_DEPTH = 32


@functools.cache
def _notify_statement(dialect: str):
    """INSERT … SELECT of the notifications of :ids, the body ("number · Customer:Job", as
    `Customer.full_name` spells the path) built in SQL: a recursive CTE walks each of the batch's customers up
    to its top-level customer, prefixing "name:" at each level; a reminder with no deal gets an empty body."""
    among = _among(dialect, Reminder.id)
    batch_customers = (select(Opportunity.customer_id)
                       .where(Opportunity.id.in_(select(Reminder.opportunity_id).where(among))))
    # the path is cast to an unbounded VARCHAR: PostgreSQL wants the two halves of the recursion to agree
    walk = (select(Customer.id.label("leaf"), Customer.parent_id.label("up"),
                   cast(Customer.name, String()).label("path"), literal(0, Integer()).label("depth"))
            .where(Customer.id.in_(batch_customers))
            .cte("customer_path", recursive=True))
    parent = Customer.__table__.alias("parent")
    walk = walk.union_all(
        select(walk.c.leaf, parent.c.parent_id, parent.c.name + literal(":") + walk.c.path, walk.c.depth + 1)
        .where(parent.c.id == walk.c.up, walk.c.depth < PATH_DEPTH))
    body = func.coalesce(Opportunity.number + literal(" · ") + func.coalesce(walk.c.path, ""), "")
    rows = (select(Reminder.user_id, Reminder.id, Reminder.opportunity_id, Reminder.title, body,
                   bindparam("at", type_=UTCDateTime()))
            .select_from(Reminder.__table__)
            .outerjoin(Opportunity.__table__, Opportunity.id == Reminder.opportunity_id)
            .outerjoin(walk, and_(walk.c.leaf == Opportunity.customer_id, walk.c.up.is_(None)))
            .where(among))
    return insert(Notification.__table__).from_select(
        ["user_id", "reminder_id", "opportunity_id", "title", "body", "created_at"], rows)


def _notify(conn, ids: list[int], at: datetime) -> None:
    """The in-app notifications of `ids` in one INSERT … SELECT, each body naming its deal (see
    `_notify_statement`)."""
    conn.execute(_notify_statement(conn.dialect.name), {"ids": _ids(conn, ids), "at": at})


def _after_delivery(hooks: list[dict], appointment_ids: list[int], rescheduled: list[int] | None = None) -> None:
    """After the commit: the in-app notification stands whatever a webhook receiver does. A repeating appointment's
    next occurrence gets its reminders; their ids go to `rescheduled` (one may be due already: fire_due_reminders
    looks again)."""
    if hooks and current_app.config.get("WEBHOOK_URL"):
        for hook in hooks:
            post_webhook(hook)
    for appt_id in appointment_ids:
        _next_occurrence(appt_id)
    if rescheduled is not None:
        rescheduled.extend(appointment_ids)


def _deliver_people(conn, ids: list[int], owner: str) -> tuple[list[dict], list[int], int]:
    """Deliver claimed people reminders (a batch, or one row) with three statements whatever their number: mark
    them delivered (the silenced ones cancelled; only those still ours come back), then insert their
    notifications (the body built in SQL) and delivery-log rows with one INSERT … SELECT each.
    Returns (webhook bodies, appointments to reschedule, how many were delivered)."""
    webhook = bool(current_app.config.get("WEBHOOK_URL"))
    at = now()
    # rows read by position (id, state, kind, source_id, …): per row, a Row's attribute costs ~15x its index
    rows = [r for r in _mark_delivered(conn, ids, owner, at, webhook) if r[1] == "delivered"]
    if not rows:
        return [], [], 0
    delivered = [r[0] for r in rows]
    _notify(conn, delivered, at)
    _log(conn, delivered, at, owner, "in_app")
    hooks = []
    if webhook:
        numbers = _numbers(conn, {r.opportunity_id for r in rows if r.opportunity_id})
        users = _users(conn, {r.user_id for r in rows if r.user_id})
        hooks = [_hook(r, numbers.get(r.opportunity_id), users.get(r.user_id)) for r in rows]
    appointments = [int(r[3]) for r in rows if r[2] == "appointment" and r[3]]
    return hooks, appointments, len(rows)


def _deliver(reminder_id: int, owner: str, rescheduled: list[int] | None = None) -> bool:
    """Deliver one claimed row in one transaction; False when the lease was lost or it was done before.
    The path of process timers (each runs the engine) and of a row whose batch failed."""
    with transaction() as session:
        conn = session.connection()
        claimed = conn.execute(select(Reminder.id, Reminder.kind, Reminder.opportunity_id).where(
            Reminder.id == reminder_id, Reminder.state == "claimed", Reminder.lease_owner == owner)).first()
        if claimed is None:
            return False
        if claimed.kind != "process_timer":
            hooks, appointments, delivered = _deliver_people(conn, [reminder_id], owner)
        else:
            wake_due_timers(claimed.opportunity_id)
            session.flush()
            hooks, appointments, delivered = [], [], 0
            if _mark_delivered(conn, [reminder_id], owner, now(), people=False):
                _log(conn, [reminder_id], now(), owner, "process")
                delivered = 1
        if not delivered and claimed.kind == "process_timer":
            raise _LostLease()  # the engine's work must not be kept when the row is no longer ours
    _after_delivery(hooks, appointments, rescheduled)
    return bool(delivered)


def _deliver_batch(claimed: list[Row], owner: str, rescheduled: list[int] | None = None) -> tuple[int, list[int]]:
    """Deliver the people reminders of a claimed batch in one transaction (one commit for the lot).

    Returns (delivered, ids to deliver one by one): process timers always go one by one (each runs the
    engine), and so does the whole batch when anything in it fails — the batch then wrote nothing, and the
    per-row path isolates the bad row (it fails alone and goes dead after REMINDER_MAX_ATTEMPTS).
    """
    people, timers = [], []
    for reminder_id, kind in claimed:
        (timers if kind == "process_timer" else people).append(reminder_id)
    if not people:
        return 0, timers
    try:
        with transaction() as session:
            hooks, appointments, delivered = _deliver_people(session.connection(), people, owner)
    except Exception as exc:  # noqa: BLE001 - nothing was written; each row gets its own try
        log.info("batch delivery of %d reminders failed (%r); delivering one by one", len(people), exc)
        return 0, people + timers
    _after_delivery(hooks, appointments, rescheduled)
    return delivered, timers


def _next_occurrence(appt_id: int) -> None:
    """After a repeating appointment's reminder went out, schedule the one for the occurrence after it."""
    try:
        with transaction() as session:
            appt = session.get(Appointment, appt_id)
            if appt is not None and appt.rrule:
                sync_appointment(appt)
    except Exception:  # noqa: BLE001 - the reminder is delivered; the next edit or delivery resyncs
        log.exception("rescheduling appointment %s failed", appt_id)


class _LostLease(Exception):
    pass


def _fail(reminder_id: int, error: str) -> None:
    with transaction() as session:
        row = session.get(Reminder, reminder_id)
        if row is None or row.state != "claimed":
            return
        row.last_error = error[:2000]
        row.lease_owner, row.lease_until = None, None
        row.state = "dead" if row.attempts >= current_app.config["REMINDER_MAX_ATTEMPTS"] else "pending"


def dead_reminders(limit: int = 200) -> list[Reminder]:
    """The dead-letter list: reminders that failed REMINDER_MAX_ATTEMPTS times, newest first."""
    return list(db.session.scalars(select(Reminder).where(Reminder.state == "dead")
                                   .order_by(Reminder.due_at.desc()).limit(limit)))


@service
def retry_reminder(reminder_id: int) -> Reminder:
    """Give a dead reminder another round of attempts, due now; its idempotency key still prevents a double."""
    row = db.session.get(Reminder, reminder_id)
    if row is None:
        raise NotFound(gettext("No reminder %(reminder_id)s", reminder_id=reminder_id))
    if row.state != "dead":
        raise Conflict(gettext("Reminder %(reminder_id)s is %(state)s, not dead.", reminder_id=reminder_id,
                               state=row.state))
    row.state, row.attempts, row.due_at = "pending", 0, now()
    return row


def fire_due_reminders(at: datetime | None = None, owner: str | None = None,
                       opportunity_ids: list[int] | None = None) -> int:
    """Deliver every reminder due at `at` (default now) exactly once; returns how many this call delivered. That
    includes the reminders of a repeating appointment's next occurrence that a delivery here scheduled, when they are
    due already (a visit later today, or the first call after the scheduler was down)."""
    at = at or now()
    owner = check_owner(owner) if owner is not None else default_owner()
    fired = 0
    while True:
        claimed = _claim(at, owner, opportunity_ids)
        if not claimed:
            break
        rescheduled: list[int] = []
        delivered, one_by_one = _deliver_batch(claimed, owner, rescheduled)
        for reminder_id in one_by_one:
            try:
                if _deliver(reminder_id, owner, rescheduled):
                    delivered += 1
            except (_LostLease, IntegrityError, Conflict):
                log.info("reminder %s was delivered elsewhere", reminder_id)
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the others
                log.exception("delivering reminder %s failed", reminder_id)
                _fail(reminder_id, repr(exc))
                reminder_failed.send(owner, reminder_id=reminder_id)
        fired += delivered
        if delivered:
            reminders_delivered.send(owner, count=delivered)
        # a short batch was the last of what was due, unless it scheduled occurrences (a row that failed here is
        # then tried once more: the next occurrence's own reminders end the chain, as they are due later)
        if len(claimed) < BATCH and not rescheduled:
            break
    if fired:
        try:
            send_pending_email()
        except Exception:  # noqa: BLE001 - the reminders are delivered in-app; mail is retried next time
            log.exception("sending reminder e-mail failed")
    return fired


def next_due_at() -> datetime | None:
    return db.session.scalar(select(Reminder.due_at).where(Reminder.state == "pending")
                             .order_by(Reminder.due_at).limit(1))


def list_reminders(user: User, *, user_filter=None, state=None, kind=None, page=1, per_page=50):
    query = select(Reminder)
    wanted = user.id if user_filter == "me" else (int(user_filter) if user_filter else None)
    owner = calendar_owner(user, wanted)  # Forbidden for a colleague's, unless the user sees everyone's
    if owner is not None:
        query = query.where(Reminder.user_id == owner)
    if state:
        query = query.where(Reminder.state == state)
    if kind:
        query = query.where(Reminder.kind == kind)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = list(db.session.scalars(query.order_by(Reminder.due_at).limit(per_page).offset((page - 1) * per_page)))
    return items, total
