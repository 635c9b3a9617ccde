"""The schedule board: a day/week calendar of appointments per user or for the team."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import Schema, fields, validate

from som_flow.errors import Forbidden, ValidationFailed
from som_flow.schemas import ID, sane_date
from som_flow.services import appointments as appts
from som_flow.services import opportunities, users
from som_flow.services.permissions import calendar_owner
from som_flow.services.reminders import fire_due_reminders
from som_flow.services.unit_of_work import now
from som_flow.web.forms import load_args, load_form, local_datetime
from som_flow.web.redirects import return_to

bp = Blueprint("schedule", __name__)

READERS = ("admin", "manager", "csr", "rep", "scheduler")
BOOKERS = ("admin",) + appts.BOOKERS
FIRERS = ("admin", "scheduler")
REPEATS = {"weekly": "WEEKLY", "monthly": "MONTHLY"}
# the hours a day column always shows; earlier or later appointments widen it
DAY_HOURS = (7, 19)


def _require(*roles: str) -> None:
    if not current_user.has_role(*roles):
        raise Forbidden(f"This needs one of the roles: {', '.join(roles)}.")


@bp.before_request
@login_required
def _require_login():
    return None


def _zone() -> ZoneInfo:
    return ZoneInfo(current_user.timezone or "UTC")


@dataclass
class Day:
    day: date
    slots: list[dict] = field(default_factory=list)  # {"hour", "start" (aware), "appts": [Occurrence]}


class BoardQuery(Schema):
    view = fields.String(load_default="week", validate=validate.OneOf(["day", "week"]))
    date = fields.Date(validate=sane_date)
    user = fields.Integer(validate=ID)  # absent: the team (or, for a rep, their own calendar)
    opportunity = fields.Integer(validate=ID)


def _board_query() -> dict:
    """view, date and user from the query string (a bad value is a 422 naming it); a colleague's calendar
    only for those who may see it (403 otherwise)."""
    q = load_args(BoardQuery())
    q.setdefault("date", now().astimezone(_zone()).date())
    owner = calendar_owner(current_user, q.get("user"))  # a rep's board is their own calendar
    q["user"] = str(owner) if owner else ""  # as the template's links carry it
    return q


def _build_days(first: date, count: int, occurrences: list[appts.Occurrence]) -> list[Day]:
    zone = _zone()
    by_slot: dict[tuple[date, int], list] = {}
    for occ in occurrences:
        local = occ.start.astimezone(zone)
        by_slot.setdefault((local.date(), local.hour), []).append(occ)
    hours = [h for (_, h) in by_slot]
    low, high = min([DAY_HOURS[0], *hours]), max([DAY_HOURS[1], *hours])
    days = []
    for offset in range(count):
        d = first + timedelta(days=offset)
        day = Day(d)
        for hour in range(low, high + 1):
            start = datetime.combine(d, time(hour), tzinfo=zone)
            day.slots.append({"hour": hour, "start": start, "appts": by_slot.get((d, hour), [])})
        days.append(day)
    return days


@bp.route("/schedule")
def board():
    _require(*READERS)
    q = _board_query()
    zone = _zone()
    first = q["date"] - timedelta(days=q["date"].weekday()) if q["view"] == "week" else q["date"]
    count = 7 if q["view"] == "week" else 1
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(first + timedelta(days=count), time(0), tzinfo=zone)
    occurrences = appts.find_appointments(start, end, int(q["user"]) if q["user"] else None)
    people = users.list_active_users()
    open_deals = opportunities.open_deals(limit=300, newest_first=True, including=q.get("opportunity"))
    deal_ids = sorted({o.appointment.opportunity_id for o in occurrences} - {None})
    deal_names = {o.id: f"{o.number} · {o.title}" for o in opportunities.get_many(deal_ids)}
    step = timedelta(days=count)
    default_start = _next_hour(q["date"], zone)
    return render_template(
        "schedule.html", q=q, days=_build_days(first, count, occurrences), occurrences=occurrences,
        deal_names=deal_names, zone=zone, people=people, deals=open_deals, can_book=current_user.has_role(*BOOKERS),
        can_fire=current_user.has_role(*FIRERS), prev_date=(first - step).isoformat(),
        next_date=(first + step).isoformat(), today=now().astimezone(zone).date().isoformat(),
        preset_opportunity=q.get("opportunity"), default_start=default_start,
        default_end=default_start + timedelta(minutes=30))


def _next_hour(day: date, zone: ZoneInfo) -> datetime:
    """The next full hour today, or 09:00 on another day: what the new-appointment form suggests."""
    current = now().astimezone(zone)
    if day == current.date():
        return current.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return datetime.combine(day, time(9), tzinfo=zone)


def _back(**extra) -> str:
    """Back to the board the form was posted from (its query is carried in hidden fields)."""
    form = request.form
    args = {k: form[k] for k in ("view", "date", "user") if form.get(k)}
    args.update(extra)
    return url_for("schedule.board", **args)


def _local(name: str) -> datetime:
    """A required datetime-local form value, read in the viewer's timezone."""
    value = local_datetime(name, _zone())
    if value is None:
        raise ValidationFailed(f"Give the {name} as date and time", {name: ["Use YYYY-MM-DD HH:MM."]})
    return value


def _rrule(form) -> str | None:
    freq = REPEATS.get(form.get("repeat") or "")
    if freq is None:
        return None
    count = (form.get("count") or "").strip()
    if count and not (count.isdigit() and 1 < int(count) <= appts.MAX_OCCURRENCES):
        raise ValidationFailed("Repeat between 2 and 500 times", {"count": ["A whole number from 2 to 500."]})
    return f"FREQ={freq}" + (f";COUNT={count}" if count else "")


class BookingForm(Schema):
    """The board's booking and memorize forms (the API's bounds on the ids)."""

    title = fields.String(load_default="", validate=validate.Length(max=200))
    opportunity_id = fields.Integer(load_default=None, validate=ID)
    attendees = fields.List(fields.Integer(validate=ID), load_default=list)
    users = fields.List(fields.Integer(validate=ID), load_default=list)
    location = fields.String(load_default="", validate=validate.Length(max=300))


def _booking(*names: str) -> dict:
    return load_form(BookingForm(), list(names), multi=("attendees", "users"))


@bp.route("/schedule/appointments", methods=["POST"])
def create():
    _require(*BOOKERS)
    form = request.form
    return_to(_back())  # a refusal is flashed on the board it came from (web/errors.py)
    start = _local("start")
    data = {**_booking("title", "opportunity_id", "attendees", "location"), "start": start,
            "end": _local("end"), "rrule": _rrule(form), "timezone": current_user.timezone or "UTC"}
    if not data["title"]:
        raise ValidationFailed("Give the appointment a title", {"title": ["Required."]})
    appt = appts.create_appointment(current_user, data)
    flash(f"Booked {appt.title}.", "ok")
    for other in appts.overlaps(appt):
        flash(f"Double booking: {other.title} overlaps.", "warning")
    return redirect(_back(date=start.date().isoformat()))


@bp.route("/schedule/appointments/<int:appt_id>/move", methods=["POST"])
def move(appt_id: int):
    """Move the occurrence shown at `occurrence` to `start`; a repeating series moves by the same amount."""
    _require(*BOOKERS)
    return_to(_back())
    appt = appts.get_appointment(appt_id)
    new_start = _local("start")
    shown = _local("occurrence") if request.form.get("occurrence") else appt.start_at
    delta = new_start - shown
    appts.update_appointment(current_user, appt_id, {"start": appt.start_at + delta, "end": appt.end_at + delta})
    flash(f"Moved {appt.title} to {new_start.astimezone(_zone()):%a %d %b %H:%M}.", "ok")
    return redirect(_back(date=new_start.date().isoformat()))


@bp.route("/schedule/appointments/<int:appt_id>/complete", methods=["POST"])
def complete(appt_id: int):
    _require(*BOOKERS)
    return_to(_back())
    appt = appts.set_status(current_user, appt_id, "completed")
    flash(f"{appt.title} is done.", "ok")
    return redirect(_back())


@bp.route("/schedule/appointments/<int:appt_id>/memorize", methods=["POST"])
def memorize(appt_id: int):
    _require(*BOOKERS)
    return_to(_back())
    people = _booking("users")["users"]
    if not people:
        raise ValidationFailed("Pick whom to memorize it for", {"users": ["Pick at least one person."]})
    copies = appts.memorize(current_user, appt_id, people)
    flash(f"Memorized for {', '.join(c.attendees[0].name for c in copies)}.", "ok")
    return redirect(_back())


@bp.route("/schedule/reminders/fire", methods=["POST"])
def fire_reminders():
    _require(*FIRERS)
    fired = fire_due_reminders(owner=f"ui:{current_user.id}:{uuid.uuid4().hex}")
    flash(f"{fired} reminder{'' if fired == 1 else 's'} sent.", "ok")
    return redirect(_back())
