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
from som_flow.i18n import gettext
from som_flow.models import Appointment, Opportunity, Task, User, appointment_attendee
from som_flow.services.guards import get_opportunity
from som_flow.services.history import record_event
from som_flow.services.permissions import require_change_appointment, require_role
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
        raise NotFound(gettext("No appointment %(appt_id)s", appt_id=appt_id))
    return appt


def _check_rrule(rule: str | None, start: datetime) -> None:
    """One RFC 5545 RRULE line (no DTSTART/RDATE lines), repeating at most hourly, that the feed can carry."""
    if not rule:
        return
    from icalendar import vRecur

    def refuse(why: str) -> ValidationFailed:
        return ValidationFailed(gettext("Not a valid RRULE: %(why)s", why=why), {"rrule": [why]})

    text = rule.strip()
    body = text.removeprefix("RRULE:")
    if "\n" in text or "\r" in text or ":" in body:
        raise refuse(gettext("Give a single RRULE such as FREQ=WEEKLY;COUNT=4."))
    freq = re.search(r"(?:^|;)FREQ=([A-Z]+)", body.upper())
    if freq is None:
        raise refuse(gettext("FREQ is missing."))
    if freq.group(1) not in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        raise refuse(gettext("Repeat daily, weekly, monthly or yearly."))
    try:
        parsed = rrulestr(text, dtstart=start)
        vRecur.from_ical(body)
        first = list(islice(parsed, 50))
    except (ValueError, TypeError, OverflowError) as exc:
        raise refuse(str(exc))
    if not first:
        raise refuse(gettext("The rule never repeats the appointment."))
    if any(b - a < timedelta(hours=1) for a, b in zip(first, first[1:], strict=False)):
        raise refuse(gettext("Occurrences must be at least an hour apart."))


def _check_timezone(name: str | None) -> None:
    if name is None:
        return
    check_timezone(name)


def _users(ids: list[int]) -> list[User]:
    users = list(db.session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    missing = set(ids) - {u.id for u in users}
    if missing:
        raise ValidationFailed(gettext("Unknown attendees"), {"attendees": [gettext("No user %(items)s.",
                                                                                    items=', '.join(map(str,
                                                                                                        missing)))]})
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
            raise ValidationFailed(gettext("Unknown opportunity"),
                                   {"opportunity_id": [gettext("No such opportunity.")]})
        if opp.closed:
            raise Conflict(gettext("%(number)s is closed (%(status)s); it takes no new appointments.",
                                   number=opp.number, status=gettext(opp.status)))
    start, end = data.pop("start"), data.pop("end")
    _check_times(start, end)
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
                raise ValidationFailed(gettext("Bad appointment time"),
                                       {f"appointment.{key}": [gettext("Use ISO 8601.")]})
            if data[key].tzinfo is None:
                raise ValidationFailed(gettext("Give the time with an offset"),
                                       {f"appointment.{key}": [gettext("No offset.")]})
    if "start" not in data or "end" not in data:
        raise ValidationFailed(gettext("The appointment needs start and end"),
                               {"appointment": [gettext("start and end.")]})
    return create_appointment(actor, data).id


SCOPES = ("this", "following", "all")
# what a change may set on an appointment besides its times and attendees
FIELDS = ("title", "location", "notes", "rrule", "timezone")


def _scope(appt: Appointment, occurrence: datetime | None, scope: str | None) -> str:
    """Which part of a series a change means: one occurrence by default when one is named, else all of it."""
    if scope is not None and scope not in SCOPES:
        raise ValidationFailed(gettext("Choose this, following or all"),
                               {"scope": [gettext("Choose this, following or all.")]})
    if occurrence is None:
        if scope in ("this", "following") and appt.rrule:
            raise ValidationFailed(gettext("Name the occurrence"),
                                   {"occurrence": [gettext("Give the start of the occurrence.")]})
        return "all"
    return scope or "this"


def _rule_parts(rule: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in rule.removeprefix("RRULE:").split(";") if "=" in part)


def _rule_text(parts: dict[str, str]) -> str:
    return ";".join(f"{k}={v}" for k, v in parts.items())


def _starts_before(appt: Appointment, occurrence: datetime) -> int:
    """How many of the series' rule dates (skipped ones included, as COUNT counts them) come before `occurrence`."""
    zone = ZoneInfo(appt.timezone or "UTC")
    rule = rrulestr(appt.rrule, dtstart=appt.start_at.astimezone(zone))
    local = occurrence.astimezone(zone)
    return sum(1 for when in rule.between(appt.start_at.astimezone(zone), local, inc=True) if when < local)


def _check_times(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed(gettext("The end must come after the start"),
                               {"end": [gettext("The end must come after the start.")]})


def _record(appt: Appointment, actor: User, type_: str, **data) -> None:
    """An event in the deal's timeline, when the appointment belongs to a deal."""
    if appt.opportunity_id is not None:
        record_event(get_opportunity(appt.opportunity_id), actor, type_, appointment_id=appt.id, title=appt.title,
                     **{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()})


def _record_change(appt: Appointment, actor: User, old: dict, **extra) -> None:
    """appointment_moved when only its times changed, appointment_edited when anything else did."""
    new = _snapshot(appt)
    changed = sorted(k for k in new if new[k] != old[k])
    if not changed:
        return
    times = {"old_start": old["start"], "new_start": new["start"], "old_end": old["end"], "new_end": new["end"]}
    if set(changed) <= {"start", "end"}:
        _record(appt, actor, "appointment_moved", **times, **extra)
    else:
        _record(appt, actor, "appointment_edited", fields=[k for k in changed if k not in ("start", "end")],
                **(times if {"start", "end"} & set(changed) else {}), **extra)


def _snapshot(appt: Appointment) -> dict:
    return {"start": appt.start_at, "end": appt.end_at, "attendees": sorted(u.id for u in appt.attendees),
            **{k: getattr(appt, k) for k in FIELDS}}


def _apply(appt: Appointment, changes: dict) -> None:
    """Set `changes` (start, end, attendees and FIELDS) on `appt`, checked as a booking is."""
    changes = dict(changes)
    if "attendees" in changes:
        appt.attendees = _users(changes.pop("attendees"))
    start, end = changes.pop("start", appt.start_at), changes.pop("end", appt.end_at)
    _check_times(start, end)
    appt.start_at, appt.end_at = start, end
    if changes.get("rrule") is not None:
        _check_rrule(changes["rrule"], start)
    _check_timezone(changes.get("timezone"))
    for key in FIELDS:
        if key in changes:
            setattr(appt, key, changes[key] if key != "rrule" else (changes[key] or None))


@service
def change_appointment(actor: User, appt_id: int, changes: dict, occurrence: datetime | None = None,
                       scope: str | None = None) -> Appointment:
    """Edit or move an appointment. For a series, `occurrence` (the start of one of its occurrences) with
    `scope` "this" (the default) changes only that occurrence, "following" that one and the rest, "all" the
    whole series (moved by as much as the occurrence is). Returns the appointment that carries the changes."""
    require_role(actor, *BOOKERS)
    appt = get_appointment(appt_id)
    require_change_appointment(actor, appt)
    scope = _scope(appt, occurrence, scope)
    if occurrence is not None:
        occurrence = _series_occurrence(appt, occurrence)
    if scope == "this" and occurrence is not None:
        return _detach(actor, appt, occurrence, changes)
    if occurrence is not None:
        # the occurrence's new times say how far the series moves and how long each occurrence lasts
        changes = dict(changes)
        new_start = changes.pop("start", occurrence)
        length = changes.pop("end", new_start + (appt.end_at - appt.start_at)) - new_start
        _check_times(new_start, new_start + length)
        if scope == "following" and _starts_before(appt, occurrence):
            return _split(actor, appt, occurrence, new_start, length, changes)
        changes["start"] = appt.start_at + (new_start - occurrence)
        changes["end"] = changes["start"] + length
    old = _snapshot(appt)
    _apply(appt, changes)
    sync_appointment(appt)
    _record_change(appt, actor, old, **({"scope": "all"} if appt.rrule else {}))
    return appt


def update_appointment(actor: User, appt_id: int, data: dict) -> Appointment:
    """The whole appointment (a whole series)."""
    return change_appointment(actor, appt_id, data)


def _detach(actor: User, series: Appointment, start: datetime, changes: dict, status: str = "scheduled"
            ) -> Appointment:
    """One occurrence of the series becomes an appointment of its own (the series skips it) with `changes`."""
    if changes.get("rrule"):
        raise ValidationFailed(gettext("One occurrence cannot repeat"),
                               {"rrule": [gettext("Edit the series to change the rule.")]})
    changes = {k: v for k, v in changes.items() if k != "rrule"}
    changes.setdefault("end", changes.get("start", start) + (series.end_at - series.start_at))
    changes.setdefault("start", start)
    detached = Appointment(
        opportunity_id=series.opportunity_id, customer_id=series.customer_id, title=series.title,
        location=series.location, notes=series.notes, start_at=start, end_at=start + (series.end_at - series.start_at),
        timezone=series.timezone, rrule=None, exdates=[], series_id=series.id, recurrence_id=start,
        task_id=series.task_id, created_by_id=actor.id, status=status)
    detached.attendees = list(series.attendees)
    old = _snapshot(detached)
    _apply(detached, changes)
    _skip(series, start)
    db.session.add(detached)
    db.session.flush()
    sync_appointment(series)
    sync_appointment(detached)
    if status == "scheduled":
        _record_change(detached, actor, old, scope="this", occurrence=start)
    return detached


def _split(actor: User, series: Appointment, occurrence: datetime, new_start: datetime, length: timedelta,
           changes: dict) -> Appointment:
    """"This and following": the series ends before `occurrence` and a new series with the changes carries
    on from there (what was skipped or detached from then on goes with it). Returns the new series."""
    before = _starts_before(series, occurrence)
    parts = _rule_parts(series.rrule)
    rest = dict(parts)
    if "COUNT" in parts:
        rest["COUNT"] = str(int(parts["COUNT"]) - before)
    delta = new_start - occurrence
    later = [d for d in series.exdates or [] if datetime.fromisoformat(d) >= occurrence]
    tail = Appointment(
        opportunity_id=series.opportunity_id, customer_id=series.customer_id, title=series.title,
        location=series.location, notes=series.notes, start_at=occurrence,
        end_at=occurrence + (series.end_at - series.start_at), timezone=series.timezone, rrule=_rule_text(rest),
        exdates=[_utc_key(datetime.fromisoformat(d) + delta) for d in later],
        task_id=series.task_id, created_by_id=actor.id)
    tail.attendees = list(series.attendees)
    old = _snapshot(tail)
    _apply(tail, {**changes, "start": new_start, "end": new_start + length})
    series.rrule = _rule_text({k: v for k, v in parts.items() if k != "UNTIL"} | {"COUNT": str(before)})
    series.exdates = [d for d in series.exdates or [] if d not in later]
    db.session.add(tail)
    db.session.flush()
    for detached in db.session.scalars(select(Appointment).where(Appointment.series_id == series.id)):
        if detached.recurrence_id is not None and detached.recurrence_id >= occurrence:
            detached.series_id = tail.id
    sync_appointment(series)
    sync_appointment(tail)
    _record_change(tail, actor, old, scope="following", occurrence=occurrence, series_id=series.id)
    return tail


def _utc_key(when: datetime) -> str:
    """How an occurrence is named in `exdates`: its start in UTC, ISO 8601 (as `occurrences` compares it)."""
    return when.astimezone(ZoneInfo("UTC")).isoformat()


def _series_occurrence(appt: Appointment, occurrence: datetime) -> datetime:
    """The start of the series occurrence at `occurrence`, in UTC; ValidationFailed when there is none."""
    if not appt.rrule:
        raise ValidationFailed(gettext("This appointment does not repeat; edit it directly."),
                               {"occurrence": [gettext("The appointment does not repeat.")]})
    zone = ZoneInfo(appt.timezone or "UTC")
    rule = rrulestr(appt.rrule, dtstart=appt.start_at.astimezone(zone))
    local = occurrence.astimezone(zone)
    found = rule.after(local, inc=True)
    if found is None or found != local or _utc_key(found) in set(appt.exdates or []):
        raise ValidationFailed(gettext("The series has no such occurrence"),
                               {"occurrence": [gettext("Give the start of one of its occurrences.")]})
    return found.astimezone(ZoneInfo("UTC"))


def find_occurrence(appt: Appointment, occurrence: datetime) -> datetime:
    """The start (UTC) of the series' occurrence at `occurrence`; ValidationFailed naming it when there is none."""
    return _series_occurrence(appt, occurrence)


def _skip(appt: Appointment, start: datetime) -> None:
    appt.exdates = [*(appt.exdates or []), _utc_key(start)]  # a new list, so the JSON column is saved


def edit_occurrence(actor: User, appt_id: int, occurrence: datetime, changes: dict) -> Appointment:
    """Change one occurrence of a repeating appointment: the series skips it (EXDATE) and a detached
    appointment, a copy with the changes, takes its place. Returns the detached appointment."""
    return change_appointment(actor, appt_id, changes, occurrence, "this")


@service
def cancel_appointment(actor: User, appt_id: int, occurrence: datetime | None = None,
                       scope: str | None = None) -> None:
    """Delete an appointment (a series with its detached occurrences), or of a series only the occurrence
    at `occurrence` ("this", the default: an EXDATE) or it and the following ones (the series ends before it)."""
    require_role(actor, *BOOKERS)
    appt = get_appointment(appt_id)
    require_change_appointment(actor, appt)
    scope = _scope(appt, occurrence, scope)
    if occurrence is not None:
        occurrence = _series_occurrence(appt, occurrence)
    if scope == "this" and occurrence is not None:
        _skip(appt, occurrence)
        sync_appointment(appt)
        _record(appt, actor, "appointment_cancelled", scope="this", occurrence=occurrence)
        return
    before = _starts_before(appt, occurrence) if scope == "following" and occurrence is not None else 0
    if not before:
        _record(appt, actor, "appointment_deleted", start=appt.start_at, **({"scope": "all"} if appt.rrule else {}))
        _delete(appt)
        return
    appt.rrule = _rule_text({k: v for k, v in _rule_parts(appt.rrule).items() if k != "UNTIL"} | {"COUNT": str(before)})
    appt.exdates = [d for d in appt.exdates or [] if datetime.fromisoformat(d) < occurrence]
    for detached in list(db.session.scalars(select(Appointment).where(Appointment.series_id == appt.id))):
        if detached.recurrence_id is not None and detached.recurrence_id >= occurrence:
            _delete(detached)
    sync_appointment(appt)
    _record(appt, actor, "appointment_cancelled", scope="following", occurrence=occurrence)


def delete_occurrence(actor: User, appt_id: int, occurrence: datetime) -> None:
    """Cancel one occurrence of a repeating appointment: only an EXDATE on the series."""
    cancel_appointment(actor, appt_id, occurrence, "this")


@service
def set_status(actor: User, appt_id: int, status: str, occurrence: datetime | None = None) -> Appointment:
    """Complete (or otherwise close) an appointment; of a series with `occurrence`, only that occurrence (it
    is detached with the status)."""
    require_role(actor, *BOOKERS)
    appt = get_appointment(appt_id)
    require_change_appointment(actor, appt)
    if occurrence is not None:
        start = _series_occurrence(appt, occurrence)
        appt = _detach(actor, appt, start, {}, status=status)
    else:
        appt.status = status
        sync_appointment(appt)
    _record(appt, actor, f"appointment_{status}", start=appt.start_at)
    return appt


def delete_appointment(actor: User, appt_id: int) -> None:
    cancel_appointment(actor, appt_id)


def _delete(appt: Appointment) -> None:
    # the series goes with its detached occurrences; copies memorized from it stay, on their own
    for detached in list(db.session.scalars(select(Appointment).where(Appointment.series_id == appt.id))):
        _delete(detached)
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
        # between() is inclusive at both ends: keep [start, end) as for a single appointment
        if utc.isoformat() in skipped or not (utc < end and utc + length > start):
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
    _one_rdate_per_line(cal)
    return cal.to_ical()


def _one_rdate_per_line(cal: Calendar) -> None:
    """icalendar writes a VTIMEZONE's transitions as one comma-separated RDATE; vobject (and the apps built on
    it) keeps only the first date of such a list, and so shifted occurrences by an hour after a DST change.
    One RDATE property per date reads the same everywhere (RFC 5545 allows both)."""
    for tz in cal.walk("VTIMEZONE"):
        for rule in tz.subcomponents:
            if "RDATE" not in rule:
                continue
            values = rule["RDATE"] if isinstance(rule["RDATE"], list) else [rule["RDATE"]]
            dates = [d.dt for value in values for d in value.dts]
            del rule["RDATE"]
            for when in dates:
                rule.add("rdate", when)


def _rrule_dict(rule: str) -> dict:
    from icalendar import vRecur

    return vRecur.from_ical(rule.removeprefix("RRULE:"))
