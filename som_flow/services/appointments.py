"""Appointments: book, edit, complete, memorize, repeat (RFC 5545 RRULE) and the iCalendar feed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from icalendar import Calendar
from icalendar import Event as IcsEvent
from sqlalchemy import or_, select

from som_flow.errors import Conflict, NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.models import Appointment, Opportunity, Task, User, appointment_attendee
from som_flow.services.guards import get_opportunity
from som_flow.services.history import record_event
from som_flow.services.permissions import require_role
from som_flow.services.reminders import sync_appointment
from som_flow.services.unit_of_work import now, service
from som_flow.services.users import check_timezone

BOOKERS = ("manager", "csr", "rep", "scheduler")
MAX_OCCURRENCES = 500


@dataclass(frozen=True)
class Occurrence:
    appointment: Appointment
    start: datetime
    end: datetime


def appointments_of(opp_id: int) -> list[Appointment]:
    """The deal's appointments that are not cancelled, by start."""
    return list(db.session.scalars(select(Appointment).where(Appointment.opportunity_id == opp_id,
                                                             Appointment.status != "cancelled")
                                   .order_by(Appointment.start_at)))


def get_appointment(appt_id: int) -> Appointment:
    appt = db.session.get(Appointment, appt_id)
    if appt is None:
        raise NotFound(f"No appointment {appt_id}")
    return appt


def _check_rrule(rule: str | None, start: datetime) -> None:
    """One RFC 5545 RRULE line (no DTSTART/RDATE lines), repeating at most hourly, that the feed can carry."""
    if not rule:
        return
    from icalendar import vRecur

    def refuse(why: str) -> ValidationFailed:
        return ValidationFailed(f"Not a valid RRULE: {why}", {"rrule": [why]})

    text = rule.strip()
    body = text.removeprefix("RRULE:")
    if "\n" in text or "\r" in text or ":" in body:
        raise refuse("Give a single RRULE such as FREQ=WEEKLY;COUNT=4.")
    freq = re.search(r"(?:^|;)FREQ=([A-Z]+)", body.upper())
    if freq is None:
        raise refuse("FREQ is missing.")
    if freq.group(1) not in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        raise refuse("Repeat daily, weekly, monthly or yearly.")
    try:
        parsed = rrulestr(text, dtstart=start)
        vRecur.from_ical(body)
        first = list(islice(parsed, 50))
    except (ValueError, TypeError, OverflowError) as exc:
        raise refuse(str(exc))
    if not first:
        raise refuse("The rule never repeats the appointment.")
    if any(b - a < timedelta(hours=1) for a, b in zip(first, first[1:], strict=False)):
        raise refuse("Occurrences must be at least an hour apart.")


def _check_timezone(name: str | None) -> None:
    if name is None:
        return
    check_timezone(name)


def _users(ids: list[int]) -> list[User]:
    users = list(db.session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    missing = set(ids) - {u.id for u in users}
    if missing:
        raise ValidationFailed("Unknown attendees", {"attendees": [f"No user {', '.join(map(str, missing))}."]})
    return users


def overlaps(appt: Appointment) -> list[Appointment]:
    """Other scheduled appointments of the same attendees at the same time (the double-booking warning)."""
    ids = [u.id for u in appt.attendees]
    if not ids:
        return []
    # ids first: PostgreSQL cannot DISTINCT over the json `exdates` column
    ids_query = (select(Appointment.id).join(appointment_attendee)
                 .where(appointment_attendee.c.user_id.in_(ids), Appointment.status == "scheduled",
                        Appointment.start_at < appt.end_at, Appointment.end_at > appt.start_at,
                        Appointment.id != (appt.id or 0)))
    return list(db.session.scalars(select(Appointment).where(Appointment.id.in_(ids_query))
                                   .order_by(Appointment.start_at, Appointment.id)))


@service
def create_appointment(actor: User, data: dict) -> Appointment:
    """Book an appointment. Raises ValidationFailed (times, rrule, attendees), Conflict (closed deal)."""
    require_role(actor, *BOOKERS)
    data = dict(data)
    opp = None
    if data.get("opportunity_id") is not None:
        opp = db.session.get(Opportunity, data["opportunity_id"])
        if opp is None:
            raise ValidationFailed("Unknown opportunity", {"opportunity_id": ["No such opportunity."]})
        if opp.closed:
            raise Conflict(f"{opp.number} is closed ({opp.status}); it takes no new appointments.")
    start, end = data.pop("start"), data.pop("end")
    if end <= start:
        raise ValidationFailed("The end must come after the start", {"end": ["Must be after start."]})
    _check_rrule(data.get("rrule"), start)
    _check_timezone(data.get("timezone"))
    attendees = _users(data.pop("attendees", []) or [actor.id])
    appt = Appointment(
        opportunity_id=opp.id if opp else None,
        customer_id=(opp.job_id or opp.customer_id) if opp else data.get("customer_id"),
        title=data["title"], location=data.get("location") or "", notes=data.get("notes") or "",
        start_at=start, end_at=end, rrule=data.get("rrule"), timezone=data.get("timezone") or actor.timezone,
        created_by_id=actor.id, task_id=data.get("task_id"), exdates=[],
    )
    appt.attendees = attendees
    db.session.add(appt)
    db.session.flush()
    sync_appointment(appt)
    if opp is not None:
        record_event(opp, actor, "appointment_booked", appointment_id=appt.id, title=appt.title,
               start=start.isoformat())
    return appt


def book_from_task(actor: User, task: Task, data: dict) -> int:
    data = dict(data, opportunity_id=task.opportunity_id, task_id=task.id)
    data.setdefault("title", task.title)
    for key in ("start", "end"):
        if isinstance(data.get(key), str):
            try:
                data[key] = datetime.fromisoformat(data[key])
            except ValueError:
                raise ValidationFailed("Bad appointment time", {f"appointment.{key}": ["Use ISO 8601."]})
            if data[key].tzinfo is None:
                raise ValidationFailed("Give the time with an offset", {f"appointment.{key}": ["No offset."]})
    if "start" not in data or "end" not in data:
        raise ValidationFailed("The appointment needs start and end", {"appointment": ["start and end."]})
    return create_appointment(actor, data).id


@service
def update_appointment(actor: User, appt_id: int, data: dict) -> Appointment:
    require_role(actor, *BOOKERS)
    appt = get_appointment(appt_id)
    if "attendees" in data:
        appt.attendees = _users(data.pop("attendees"))
    start = data.pop("start", appt.start_at)
    end = data.pop("end", appt.end_at)
    if end <= start:
        raise ValidationFailed("The end must come after the start", {"end": ["Must be after start."]})
    appt.start_at, appt.end_at = start, end
    if "rrule" in data:
        _check_rrule(data["rrule"], start)
    for key, value in data.items():
        setattr(appt, key, value)
    sync_appointment(appt)
    return appt


def _utc_key(when: datetime) -> str:
    """How an occurrence is named in `exdates`: its start in UTC, ISO 8601 (as `occurrences` compares it)."""
    return when.astimezone(ZoneInfo("UTC")).isoformat()


def _series_occurrence(appt: Appointment, occurrence: datetime) -> datetime:
    """The start of the series occurrence at `occurrence`, in UTC; ValidationFailed when there is none."""
    if not appt.rrule:
        raise ValidationFailed("This appointment does not repeat; edit it directly.",
                               {"occurrence": ["The appointment does not repeat."]})
    zone = ZoneInfo(appt.timezone or "UTC")
    rule = rrulestr(appt.rrule, dtstart=appt.start_at.astimezone(zone))
    local = occurrence.astimezone(zone)
    found = rule.after(local, inc=True)
    if found is None or found != local or _utc_key(found) in set(appt.exdates or []):
        raise ValidationFailed("The series has no such occurrence",
                               {"occurrence": ["Give the start of one of its occurrences."]})
    return found.astimezone(ZoneInfo("UTC"))


def _skip(appt: Appointment, start: datetime) -> None:
    appt.exdates = [*(appt.exdates or []), _utc_key(start)]  # a new list, so the JSON column is saved


@service
def edit_occurrence(actor: User, appt_id: int, occurrence: datetime, changes: dict) -> Appointment:
    """Change one occurrence of a repeating appointment: the series skips it (EXDATE) and a detached
    appointment, a copy with the changes, takes its place. Returns the detached appointment."""
    require_role(actor, *BOOKERS)
    series = get_appointment(appt_id)
    if "rrule" in changes:
        raise ValidationFailed("One occurrence cannot repeat", {"rrule": ["Edit the series to change the rule."]})
    start = _series_occurrence(series, occurrence)
    changes = dict(changes)
    new_start = changes.pop("start", start)
    new_end = changes.pop("end", new_start + (series.end_at - series.start_at))
    if new_end <= new_start:
        raise ValidationFailed("The end must come after the start", {"end": ["Must be after start."]})
    attendees = _users(changes.pop("attendees")) if "attendees" in changes else list(series.attendees)
    detached = Appointment(
        opportunity_id=series.opportunity_id, customer_id=series.customer_id, title=series.title,
        location=series.location, notes=series.notes, start_at=new_start, end_at=new_end,
        timezone=series.timezone, rrule=None, exdates=[], series_id=series.id, recurrence_id=start,
        task_id=series.task_id, created_by_id=actor.id)
    for key, value in changes.items():
        setattr(detached, key, value)
    detached.attendees = attendees
    _skip(series, start)
    db.session.add(detached)
    db.session.flush()
    sync_appointment(series)
    sync_appointment(detached)
    return detached


@service
def delete_occurrence(actor: User, appt_id: int, occurrence: datetime) -> None:
    """Cancel one occurrence of a repeating appointment: only an EXDATE on the series."""
    require_role(actor, *BOOKERS)
    series = get_appointment(appt_id)
    _skip(series, _series_occurrence(series, occurrence))
    sync_appointment(series)


@service
def set_status(actor: User, appt_id: int, status: str) -> Appointment:
    require_role(actor, *BOOKERS)
    appt = get_appointment(appt_id)
    appt.status = status
    sync_appointment(appt)
    if appt.opportunity_id:
        record_event(get_opportunity(appt.opportunity_id), actor, f"appointment_{status}", appointment_id=appt.id)
    return appt


@service
def delete_appointment(actor: User, appt_id: int) -> None:
    require_role(actor, *BOOKERS)
    appt = get_appointment(appt_id)
    # the series goes with its detached occurrences; copies memorized from it stay, on their own
    for detached in list(db.session.scalars(select(Appointment).where(Appointment.series_id == appt.id))):
        detached.status = "cancelled"
        sync_appointment(detached)
        detached.attendees = []
        db.session.flush()
        db.session.delete(detached)
    for copy in db.session.scalars(select(Appointment).where(Appointment.memorized_from_id == appt.id)):
        copy.memorized_from_id = None
    appt.status = "cancelled"
    sync_appointment(appt)
    appt.attendees = []
    db.session.flush()
    db.session.delete(appt)


@service
def memorize(actor: User, appt_id: int, user_ids: list[int]) -> list[Appointment]:
    """A copy of the appointment for each of several users (seed 000's Memorize)."""
    require_role(actor, *BOOKERS)
    source = get_appointment(appt_id)
    copies = []
    for user in _users(user_ids):
        copy = Appointment(
            opportunity_id=source.opportunity_id, customer_id=source.customer_id, title=source.title,
            location=source.location, notes=source.notes, start_at=source.start_at, end_at=source.end_at,
            timezone=user.timezone if not source.rrule else source.timezone, rrule=source.rrule,
            exdates=list(source.exdates or []), memorized_from_id=source.id, created_by_id=actor.id)
        copy.attendees = [user]
        db.session.add(copy)
        db.session.flush()
        sync_appointment(copy)
        copies.append(copy)
    return copies


def occurrences(appt: Appointment, start: datetime, end: datetime) -> list[Occurrence]:
    """Expand a (possibly repeating) appointment into occurrences in [start, end), in its own zone."""
    length = appt.end_at - appt.start_at
    if not appt.rrule:
        return [Occurrence(appt, appt.start_at, appt.end_at)] if appt.start_at < end and appt.end_at > start else []
    zone = ZoneInfo(appt.timezone or "UTC")
    local_start = appt.start_at.astimezone(zone)
    rule = rrulestr(appt.rrule, dtstart=local_start)
    skipped = set(appt.exdates or [])
    out = []
    for when in rule.between(start.astimezone(zone) - length, end.astimezone(zone), inc=True):
        utc = when.astimezone(ZoneInfo("UTC"))
        if utc.isoformat() in skipped:
            continue
        out.append(Occurrence(appt, utc, utc + length))
        if len(out) >= MAX_OCCURRENCES:
            break
    return out


def find_appointments(start: datetime, end: datetime, user_id: int | None = None) -> list[Occurrence]:
    query = select(Appointment).where(Appointment.status != "cancelled",
                                      or_(Appointment.rrule.is_not(None), Appointment.start_at < end))
    if user_id is not None:
        query = query.join(appointment_attendee).where(appointment_attendee.c.user_id == user_id)
    result = []
    for appt in db.session.scalars(query):
        result.extend(occurrences(appt, start, end))
    return sorted(result, key=lambda o: o.start)


def calendar_feed(user: User) -> bytes:
    """The user's appointments as an iCalendar feed (RRULEs kept, so calendar apps repeat them)."""
    cal = Calendar()
    cal.add("prodid", "-//som_flow//schedule//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"som_flow – {user.name}")
    query = (select(Appointment).join(appointment_attendee)
             .where(appointment_attendee.c.user_id == user.id, Appointment.status != "cancelled"))
    for appt in db.session.scalars(query):
        ev = IcsEvent()
        # a detached occurrence is an event of its own (the series carries an EXDATE for the slot it left):
        # sharing the series' UID with a RECURRENCE-ID of an excluded date is read differently by each app
        ev.add("uid", f"appointment-{appt.id}@som-flow")
        ev.add("summary", appt.title)
        if appt.series_id is not None:
            ev.add("related-to", f"appointment-{appt.series_id}@som-flow")
        # a repeating one is written in its own zone, so calendar apps keep its local time across DST
        zone = ZoneInfo(appt.timezone or "UTC") if appt.rrule else ZoneInfo("UTC")
        ev.add("dtstart", appt.start_at.astimezone(zone))
        ev.add("dtend", appt.end_at.astimezone(zone))
        ev.add("dtstamp", now())
        if appt.location:
            ev.add("location", appt.location)
        if appt.rrule:
            ev.add("rrule", _rrule_dict(appt.rrule))
            for skipped in appt.exdates or []:
                ev.add("exdate", datetime.fromisoformat(skipped).astimezone(zone))
        cal.add_component(ev)
    cal.add_missing_timezones()
    return cal.to_ical()


def _rrule_dict(rule: str) -> dict:
    from icalendar import vRecur

    return vRecur.from_ical(rule.removeprefix("RRULE:"))
