"""The reminder schedule: the rows each source wants (a deal's follow-up and close dates, its tasks' due times,
appointments, process timers), recomputed inside the transaction that changed the source.

A reminder delivered once never comes back (its idempotency key, or the key prefix shared by every version of
it, is settled); delivery is `services/reminders.py`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from flask import current_app
from sqlalchemy import Row, and_, bindparam, cast, insert, null, or_, select, union_all, update

from som_flow.extensions import db
from som_flow.i18n import N_, gettext, in_language
from som_flow.models import Appointment, Opportunity, Reminder, Task, User
from som_flow.services.unit_of_work import expire_held, now

log = logging.getLogger(__name__)
PEOPLE_KINDS = ("follow_up", "close_date", "close_overdue", "task_due", "appointment")


@dataclass(frozen=True)
class Wanted:
    kind: str
    key: str
    due_at: datetime
    user_id: int | None
    source_id: str | None
    title: str
    once: str = ""  # the key prefix shared by every version of this reminder (user, timezone, ...)


def _instant(at: datetime) -> str:
    """A moment as a reminder's key writes it: in UTC. A due time given in a person's zone and the same time read
    back from the database (in UTC) made two keys, and the reminder went out twice (migration 0018 mends the keys
    written before)."""
    return at.astimezone(UTC).isoformat()


def _said(recipient: User | None, text: str, **values) -> str:
    """A reminder's title in its recipient's language (their preference, else the site's), not in the language
    of whoever's action scheduled it."""
    with in_language(getattr(recipient, "locale", None)):
        return gettext(text, **values)


def local_hour_utc(day: date, tz_name: str, hour: int | None = None) -> datetime:
    """`day` at the configured local hour in `tz_name`, as UTC (zoneinfo makes this right across DST)."""
    hour = current_app.config["REMINDER_LOCAL_HOUR"] if hour is None else hour
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(tz_name)).astimezone(ZoneInfo("UTC"))


@dataclass(frozen=True)
class OpenTask:
    """What a task's due reminder needs of an open task (the projection knows it without reading the rows)."""
    id: str
    due_at: datetime | None
    assignee_id: int | None
    title: str


def _open_tasks(opp: Opportunity) -> list[OpenTask]:
    return [OpenTask(t.id, t.due_at, t.assignee_id, t.title) for t in db.session.scalars(select(Task).where(
        Task.opportunity_id == opp.id, Task.status == "open", Task.due_at.is_not(None),
        Task.assignee_id.is_not(None)))]


def _wanted_for(opp: Opportunity, open_tasks: list[OpenTask] | None = None,
                scheduled: list[int] | None = None) -> list[Wanted]:
    """The people reminders the deal should have. `scheduled`: the ids of its scheduled appointments, when the
    caller has read them."""
    if opp.closed or opp.status == "on_hold":
        return []
    rep: User | None = opp.sales_rep
    wanted: list[Wanted] = []
    if rep is not None:
        tz = rep.timezone
        if opp.follow_up_date:
            once = f"follow_up:{opp.id}:{opp.follow_up_date}:"
            wanted.append(Wanted("follow_up", f"{once}{rep.id}:{tz}",
                                 local_hour_utc(opp.follow_up_date, tz), rep.id, None,
                                 _said(rep, N_("Follow up: %(title)s"), title=opp.title), once))
        if opp.anticipated_close_date:
            days = current_app.config["CLOSE_DATE_REMINDER_DAYS"]
            before = opp.anticipated_close_date - timedelta(days=days)
            once = f"close_date:{opp.id}:{opp.anticipated_close_date}:"
            wanted.append(Wanted("close_date", f"{once}{rep.id}:{tz}",
                                 local_hour_utc(before, tz), rep.id, None,
                                 _said(rep, N_("Closes on %(day)s: %(title)s"), day=opp.anticipated_close_date,
                                       title=opp.title), once))
            after = opp.anticipated_close_date + timedelta(days=1)
            once = f"close_overdue:{opp.id}:{opp.anticipated_close_date}:"
            wanted.append(Wanted("close_overdue", f"{once}{rep.id}:{tz}",
                                 local_hour_utc(after, tz), rep.id, None,
                                 _said(rep, N_("Close date passed: %(title)s"), title=opp.title), once))
    for task in _open_tasks(opp) if open_tasks is None else open_tasks:
        if task.due_at is None or task.assignee_id is None:
            continue
        once = f"task_due:{opp.id}:{task.id}:{_instant(task.due_at)}:"
        wanted.append(Wanted("task_due", f"{once}{task.assignee_id}",
                             task.due_at, task.assignee_id, task.id,
                             _said(db.session.get(User, task.assignee_id), N_("Task due: %(title)s"),
                                   title=task.title), once))
    # the deal's scheduled appointments, by id first: most deals have none, and then no ORM read is made
    if scheduled is None:
        scheduled = db.session.scalars(_SCHEDULED, {"opp": opp.id}).all()
    for appt in db.session.scalars(select(Appointment).where(Appointment.id.in_(scheduled))) if scheduled else ():
        wanted.extend(appointment_reminders(appt))
    return wanted


def appointment_reminders(appt: Appointment) -> list[Wanted]:
    """N minutes (each attendee's preference) before the next start (the next two, for a repeating one)."""
    out = []
    for start in _next_starts(appt):
        for user in appt.attendees:
            due = start - timedelta(minutes=user.appointment_reminder_minutes)
            at = start.astimezone(ZoneInfo(user.timezone or "UTC"))
            out.append(Wanted("appointment", f"appointment:{appt.id}:{_instant(start)}:{user.id}",
                              due, user.id, str(appt.id),
                              _said(user, N_("Appointment on %(day)s at %(time)s: %(title)s"), day=at.date(),
                                    time=f"{at:%H:%M} {at:%Z}",
                                    title=appt.title)))
    return out


def _next_starts(appt: Appointment, count: int = 2) -> list[datetime]:
    if not appt.rrule:
        return [appt.start_at]
    zone = ZoneInfo(appt.timezone or "UTC")
    rule = rrulestr(appt.rrule, dtstart=appt.start_at.astimezone(zone))
    skipped = set(appt.exdates or [])
    out: list[datetime] = []
    for when in rule.xafter(max(now(), appt.start_at).astimezone(zone), inc=True):
        utc = when.astimezone(ZoneInfo("UTC"))
        if utc.isoformat() not in skipped:
            out.append(utc)
        if len(out) >= count:
            break
    return out


SETTLED = ("claimed", "delivered", "dead")


def _taken(w: Wanted) -> bool:
    """A row with this key exists (any state), or this reminder was delivered (or is being) under another key of
    its own: one SELECT for both questions."""
    same = Reminder.idempotency_key == w.key
    settled = same if not w.once else or_(same, Reminder.idempotency_key.startswith(w.once, autoescape=True))
    return db.session.scalar(select(Reminder.id).where(
        or_(same, and_(settled, Reminder.state.in_(SETTLED)))).limit(1)) is not None


# the reminders' statements, built once (a stage move runs them every time; see services/process_run.py's stays)
_R = Reminder.__table__
_ROW = (_R.c.id, _R.c.kind, _R.c.idempotency_key, _R.c.state, _R.c.due_at, _R.c.title)
_DEAL_ROWS = select(*_ROW).where(_R.c.opportunity_id == bindparam("opp"))
_SOURCE_ROWS = select(*_ROW).where(_R.c.source_id == bindparam("source"),
                                   _R.c.kind.in_(bindparam("kinds", expanding=True)))
_CANCEL = update(_R).where(_R.c.id == bindparam("rid")).values(state="cancelled", updated_at=bindparam("at"))
_RENEW = (update(_R).where(_R.c.id == bindparam("rid"))
          .values(state="pending", due_at=bindparam("due"), title=bindparam("text"), updated_at=bindparam("at")))
_NEW = insert(_R)
_A = Appointment.__table__
_SCHEDULED = select(_A.c.id).where(_A.c.opportunity_id == bindparam("opp"), _A.c.status == "scheduled")
# a move's one read for its schedule: the deal's reminders, then its scheduled appointments' ids as rows with no
# kind (a reminder always has one); two statements before
_DEAL_ROWS_AND_SCHEDULED = union_all(
    _DEAL_ROWS,
    select(_A.c.id, *(cast(null(), c.type) for c in _ROW[1:]))
    .where(_A.c.opportunity_id == bindparam("opp"), _A.c.status == "scheduled"))


def _deal_reminders(opp_id: int) -> list[Row]:
    """Every reminder row the deal has (any kind, any state), as plain rows: the key, state, due time and title
    are all a comparison needs."""
    return db.session.execute(_DEAL_ROWS, {"opp": opp_id}).all()


def _apply(opp_id: int | None, kinds: tuple[str, ...], wanted: list[Wanted], source_id: str | None = None,
           rows: list[Row] | None = None) -> None:
    """Make the pending rows match `wanted`. The source's reminders (an opportunity's, or one appointment's) are
    read in one query (or given, as `rows`) and compared in memory — a stage move re-applies a handful of
    unchanged reminders; only a key new to them is looked up across the table before it is inserted (keys are
    unique, and a reminder delivered once never comes back). The changes go out as plain statements, one per
    kind of change (copies of reminders the session holds are read again on their next use)."""
    if rows is None:
        db.session.flush()  # reminders the session holds unsent are compared too
        if source_id is not None:  # one appointment's reminders, whichever deal it belongs to now
            rows = db.session.execute(_SOURCE_ROWS, {"source": source_id, "kinds": list(kinds)}).all()
        else:
            rows = _deal_reminders(opp_id) if opp_id is not None else []
    mine = [r for r in rows if r.kind in kinds]
    existing = {r.idempotency_key: r for r in mine if r.state in ("pending", "cancelled")}
    known = {r.idempotency_key for r in rows}
    settled = [r.idempotency_key for r in rows if r.state in SETTLED]
    wanted_keys = {w.key for w in wanted}
    cancel = {row.id for key, row in existing.items() if key not in wanted_keys and row.state == "pending"}
    renew: list[dict] = []
    new: list[dict] = []
    at = now()
    for w in wanted:
        row = existing.get(w.key)
        if w.key in settled or (w.once and any(k.startswith(w.once) for k in settled)):
            # delivered (or being delivered) once, perhaps for another zone or rep: never again
            if row is not None and row.state == "pending":
                cancel.add(row.id)
            continue
        if row is not None:
            if (row.state, row.due_at, row.title) != ("pending", w.due_at, w.title[:200]):
                renew.append({"rid": row.id, "due": w.due_at, "text": w.title[:200], "at": at})
            continue
        if w.key in known or _taken(w):
            continue
        known.add(w.key)
        new.append({"kind": w.kind, "opportunity_id": opp_id, "user_id": w.user_id, "source_id": w.source_id,
                    "due_at": w.due_at, "state": "pending", "idempotency_key": w.key, "title": w.title[:200],
                    "created_at": at, "updated_at": at})
    if cancel:
        db.session.execute(_CANCEL, [{"rid": rid, "at": at} for rid in sorted(cancel)])
    if renew:
        db.session.execute(_RENEW, renew)
    if new:
        db.session.execute(_NEW, new)
    if cancel or renew or new:
        expire_held(Reminder)


def sync_reminders(opp: Opportunity) -> None:
    """Recompute the people reminders of one opportunity (inside the caller's transaction)."""
    db.session.flush()
    _apply(opp.id, PEOPLE_KINDS, _wanted_for(opp))


def sync_appointment(appt: Appointment) -> None:
    wanted = [] if appt.status != "scheduled" else appointment_reminders(appt)
    _apply(appt.opportunity_id, ("appointment",), wanted, source_id=str(appt.id))


def _timers_wanted(opp: Opportunity, timers) -> list[Wanted]:
    return [] if opp.closed else [
        Wanted("process_timer", f"process_timer:{opp.id}:{t.id}:{_instant(t.due_at)}", t.due_at, None, t.id,
               f"Process timer {t.spec_name}") for t in timers]


def sync_deal_schedule(opp: Opportunity, timers, open_tasks: list[OpenTask] | None = None) -> None:
    """After the deal's process moved: its process timers and its people reminders, from one read of the deal's
    reminders (each kind's rows are its own, so the first's new rows change nothing the second compares).
    `open_tasks`: every open task of the deal (any source), when the caller has just read them."""
    db.session.flush()
    both = db.session.execute(_DEAL_ROWS_AND_SCHEDULED, {"opp": opp.id}).all()
    rows = [row for row in both if row.kind is not None]
    scheduled = [row.id for row in both if row.kind is None]
    _apply(opp.id, ("process_timer",), _timers_wanted(opp, timers), rows=rows)
    _apply(opp.id, PEOPLE_KINDS, _wanted_for(opp, open_tasks, scheduled), rows=rows)


