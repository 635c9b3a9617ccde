"""Reminders: claimed with a lease and delivered exactly once (the rows come from `reminder_schedule`).

The rows are the one schedule; APScheduler only wakes `fire_due_reminders`. Exactly once comes from
three things: a claim that only one process can win (compare-and-set under BEGIN IMMEDIATE on SQLite,
FOR UPDATE SKIP LOCKED on PostgreSQL), a delivery log with a unique idempotency key, and marking a
row delivered only while still holding its lease.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from som_flow.errors import Conflict, NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import Appointment, Delivery, Notification, Opportunity, Reminder, User
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


def _claim(at: datetime, owner: str, opportunity_ids: list[int] | None) -> list[int]:
    """Claim up to BATCH due rows (or rows whose lease expired) for `owner`; one short transaction."""
    lease = current_app.config["REMINDER_LEASE_SECONDS"]
    wall = now()
    due = _due(at, wall)
    candidates = select(Reminder.id).where(due).order_by(Reminder.due_at).limit(BATCH)
    if opportunity_ids is not None:
        candidates = candidates.where(Reminder.opportunity_id.in_(opportunity_ids))
    with transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        # select the ids first, then update them: inside `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP
        # LOCKED LIMIT n)` PostgreSQL may re-run the locking subquery per row (measured: minutes at 100% CPU
        # with two workers over 20,000 due rows); the row locks from the SELECT hold until the commit
        ids = list(session.scalars(candidates))
        if not ids:
            return []
        stmt = (update(Reminder)
                .where(Reminder.id.in_(ids), due)
                .values(state="claimed", lease_owner=owner, lease_until=wall + timedelta(seconds=lease),
                        attempts=Reminder.attempts + 1)
                .returning(Reminder.id)
                .execution_options(synchronize_session=False))
        return list(session.scalars(stmt))


def _message(row: Reminder, opp: Opportunity | None, user: User | None, at: datetime,
             owner: str) -> tuple[dict, dict, dict]:
    """The in-app notification, the delivery-log entry and the webhook body for one people reminder."""
    note = {"user_id": row.user_id, "reminder_id": row.id, "opportunity_id": row.opportunity_id,
            "title": row.title, "body": f"{opp.number} · {opp.customer.full_name}" if opp else "", "created_at": at}
    logged = _log_entry(row, at, owner, "in_app")
    hook = {"reminder_id": row.id, "kind": row.kind, "title": row.title, "due_at": row.due_at.isoformat(),
            "user": {"id": user.id, "email": user.email} if user else None,
            "opportunity": {"id": opp.id, "number": opp.number} if opp else None,
            "idempotency_key": row.idempotency_key}
    return note, logged, hook


def _log_entry(row: Reminder, at: datetime, owner: str, channel: str) -> dict:
    """The delivery-log row: its unique idempotency key is what makes a second delivery impossible."""
    return {"idempotency_key": row.idempotency_key, "reminder_id": row.id, "delivered_at": at,
            "delivered_by": owner, "channels": [channel]}


def _silenced(opp: Opportunity | None) -> bool:
    return opp is not None and (opp.status == "on_hold" or opp.closed)


def _mark_delivered(session, ids: list[int], owner: str, at: datetime) -> None:
    """Delivered only while still holding the lease: fewer rows than asked means another process took one."""
    done = session.execute(
        update(Reminder)
        .where(Reminder.id.in_(ids), Reminder.state == "claimed", Reminder.lease_owner == owner)
        .values(state="delivered", delivered_at=at, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False))
    if done.rowcount != len(ids):
        raise _LostLease()


def _after_delivery(hooks: list[dict], appointment_ids: list[int]) -> None:
    """After the commit: the in-app notification stands whatever a webhook receiver does."""
    if hooks and current_app.config.get("WEBHOOK_URL"):
        for hook in hooks:
            post_webhook(hook)
    for appt_id in appointment_ids:
        _next_occurrence(appt_id)


def _deliver(reminder_id: int, owner: str) -> bool:
    """Deliver one claimed row in one transaction; False when the lease was lost or it was done before."""
    hooks = []
    with transaction() as session:
        row = session.get(Reminder, reminder_id)
        if row is None or row.state != "claimed" or row.lease_owner != owner:
            return False
        at = now()
        if row.kind == "process_timer":
            wake_due_timers(row.opportunity_id)
            logged = _log_entry(row, at, owner, "process")
        else:
            opp = session.get(Opportunity, row.opportunity_id) if row.opportunity_id else None
            if _silenced(opp):
                row.state, row.lease_owner, row.lease_until = "cancelled", None, None
                return False
            user = session.get(User, row.user_id) if row.user_id else None
            note, logged, hook = _message(row, opp, user, at, owner)
            session.add(Notification(**note))
            hooks.append(hook)
        session.add(Delivery(**logged))
        session.flush()
        _mark_delivered(session, [row.id], owner, at)
        appointments = [int(row.source_id)] if row.kind == "appointment" and row.source_id else []
    _after_delivery(hooks, appointments)
    return True


def _deliver_batch(ids: list[int], owner: str) -> tuple[int, list[int]]:
    """Deliver a claimed batch of people reminders in one transaction: one commit (one fsync) for the lot.

    Returns (delivered, ids to deliver one by one): process timers always go one by one (each runs the
    engine), and so does the whole batch when anything in it fails — the batch then wrote nothing, and the
    per-row path isolates the bad row (it fails alone and goes dead after REMINDER_MAX_ATTEMPTS).
    """
    try:
        with transaction() as session:
            query = select(Reminder).where(Reminder.id.in_(ids), Reminder.state == "claimed",
                                           Reminder.lease_owner == owner, Reminder.kind != "process_timer")
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update()  # the lease checked here holds until the commit
            rows = list(session.scalars(query))
            opp_ids = {r.opportunity_id for r in rows if r.opportunity_id}
            opps = {o.id: o for o in session.scalars(
                select(Opportunity).where(Opportunity.id.in_(opp_ids)).options(joinedload(Opportunity.customer)))}
            users = {u.id: u for u in session.scalars(
                select(User).where(User.id.in_({r.user_id for r in rows if r.user_id})))}
            at = now()
            notes, logged, hooks, silenced, delivered, appointments = [], [], [], [], [], []
            for row in rows:
                opp = opps.get(row.opportunity_id)
                if _silenced(opp):
                    silenced.append(row.id)
                    continue
                note, entry, hook = _message(row, opp, users.get(row.user_id), at, owner)
                notes.append(note)
                logged.append(entry)
                hooks.append(hook)
                delivered.append(row.id)
                if row.kind == "appointment" and row.source_id:
                    appointments.append(int(row.source_id))
            if silenced:
                session.execute(update(Reminder).where(Reminder.id.in_(silenced))
                                .values(state="cancelled", lease_owner=None, lease_until=None)
                                .execution_options(synchronize_session=False))
            if delivered:
                session.execute(insert(Notification), notes)
                session.execute(insert(Delivery), logged)
                _mark_delivered(session, delivered, owner, at)
    except Exception as exc:  # noqa: BLE001 - nothing was written; each row gets its own try
        log.info("batch delivery of %d reminders failed (%r); delivering one by one", len(ids), exc)
        return 0, ids
    _after_delivery(hooks, appointments)
    done = set(delivered) | set(silenced)
    return len(delivered), [i for i in ids if i not in done]  # timers, and rows another process took (skipped)


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
    """Deliver every reminder due at `at` (default now) exactly once; returns how many this call delivered."""
    at = at or now()
    owner = check_owner(owner) if owner is not None else default_owner()
    fired = 0
    while True:
        claimed = _claim(at, owner, opportunity_ids)
        if not claimed:
            break
        delivered, one_by_one = _deliver_batch(claimed, owner)
        for reminder_id in one_by_one:
            try:
                if _deliver(reminder_id, owner):
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
        if len(claimed) < BATCH:
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
