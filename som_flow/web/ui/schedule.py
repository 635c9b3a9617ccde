"""The schedule board: a day or week calendar, or the week's agenda (a list in time order, by day), of
appointments per user or for the team. Without a chosen view a desktop shows the week and a phone the agenda."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from som_flow.errors import Conflict, Forbidden, SomFlowError, ValidationFailed
from som_flow.i18n import gettext, lazy_gettext, ngettext
from som_flow.schemas import ID, sane_date
from som_flow.services import appointments as appts
from som_flow.services import opportunities, users
from som_flow.services.permissions import calendar_owner, can_change_appointment, require_change_appointment
from som_flow.services.reminders import fire_due_reminders
from som_flow.services.unit_of_work import now
from som_flow.web.formatting import moment, viewer_locale
from som_flow.web.forms import load_form, local_datetime, refused
from som_flow.web.redirects import back, return_to, safe_next
from som_flow.web.ui.deal_forms import check_fields, plain

bp = Blueprint("schedule", __name__)

READERS = ("admin", "manager", "csr", "rep", "scheduler")
BOOKERS = ("admin",) + appts.BOOKERS
FIRERS = ("admin", "scheduler")
REPEATS = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY"}
# the hours a day column always shows; earlier or later appointments widen it
DAY_HOURS = (7, 19)
# a day as each language writes it: a calendar column ("Tue 03 Mar"), an agenda heading, a week's first day
DAY_PATTERNS = {"en": {"column": "EEE dd MMM", "heading": "EEEE dd MMMM", "date": "dd MMMM yyyy"},
                "nb": {"column": "EEE d. MMM", "heading": "EEEE d. MMMM", "date": "d. MMMM yyyy"}}


def _require(*roles: str) -> None:
    if not current_user.has_role(*roles):
        raise Forbidden(gettext("This needs one of the roles: %(items)s.", items=', '.join(roles)))


@bp.before_request
@login_required
def _require_login():
    return None


@bp.app_context_processor
def _appointment_rules():
    """Whether the signed-in user may change an appointment (the board and the deal's Appointments tab)."""
    return {"can_change_appointment": lambda appt: current_user.is_authenticated
            and can_change_appointment(current_user, appt)}


def _zone() -> ZoneInfo:
    return ZoneInfo(current_user.timezone or "UTC")


@dataclass
class Day:
    day: date
    slots: list[dict] = field(default_factory=list)  # {"hour", "start" (aware), "appts": [Occurrence]}


VIEWS = ("day", "week", "agenda")


class BoardQuery(Schema):
    # absent: the week on a desktop, the agenda on a phone (both drawn, the stylesheet shows one)
    view = fields.String(load_default="", validate=validate.OneOf(VIEWS))
    date = fields.Date(validate=sane_date)
    user = fields.Integer(validate=ID)  # absent: the team (or, for a rep, their own calendar)
    opportunity = fields.Integer(validate=ID)


def _board_query(source) -> dict:
    """view, date and user from the query string or a form's hidden fields (a bad value is a 422 naming it);
    a colleague's calendar only for those who may see it (403 otherwise)."""
    try:
        q = BoardQuery().load({k: v for k, v in source.items() if k in BoardQuery().fields and v.strip()},
                              unknown=EXCLUDE)
    except ValidationError as exc:
        raise refused(exc.messages) from None
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


def day_name(day: date, style: str = "column") -> str:
    """A day in the page's language: "Tue 03 Mar" / "tir. 3. mar."; style "heading" or "date" for the agenda."""
    locale = viewer_locale()
    patterns = DAY_PATTERNS.get(locale.language, DAY_PATTERNS["en"])
    return format_date(day, patterns[style], locale=locale)


def _agenda(occurrences: list[appts.Occurrence]) -> list[tuple[date, list[appts.Occurrence]]]:
    """The occurrences in time order under their day (in the viewer's zone); days without any are left out."""
    zone = _zone()
    by_day: dict[date, list] = {}
    for occ in sorted(occurrences, key=lambda o: (o.start, o.end, o.appointment.title)):
        by_day.setdefault(occ.start.astimezone(zone).date(), []).append(occ)
    return sorted(by_day.items())


@bp.route("/schedule")
def board():
    _require(*READERS)
    return _board(_board_query(request.args))


def _board(q: dict, values: dict | None = None, errors: dict | None = None):
    """The board for `q`; the booking form shows `values` and `errors` when a booking was refused."""
    zone = _zone()
    one_day = q["view"] == "day"  # else the week (Monday to Sunday) of the date: as a calendar or an agenda
    first = q["date"] if one_day else q["date"] - timedelta(days=q["date"].weekday())
    count = 1 if one_day else 7
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(first + timedelta(days=count), time(0), tzinfo=zone)
    occurrences = appts.find_appointments(start, end, int(q["user"]) if q["user"] else None)
    people = users.list_active_users()
    open_deals = opportunities.open_deals(limit=300, newest_first=True, including=q.get("opportunity"))
    deal_ids = sorted({o.appointment.opportunity_id for o in occurrences} - {None})
    deal_names = {o.id: f"{o.number} · {o.title}" for o in opportunities.get_many(deal_ids)}
    step = timedelta(days=count)
    if values is None:
        default_start = _next_hour(q["date"], zone)
        values = {"start": _field_time(default_start), "end": _field_time(default_start + timedelta(minutes=30)),
                  "opportunity_id": str(q.get("opportunity") or ""),
                  "attendees": [] if current_user.has_role("scheduler") else [str(current_user.id)]}
    return render_template(
        "schedule.html", q=q, days=_build_days(first, count, occurrences), occurrences=occurrences,
        agenda=_agenda(occurrences), day_name=day_name,
        deal_names=deal_names, zone=zone, people=people, deals=open_deals, can_book=current_user.has_role(*BOOKERS),
        can_fire=current_user.has_role(*FIRERS), prev_date=(first - step).isoformat(),
        next_date=(first + step).isoformat(), today=now().astimezone(zone).date().isoformat(),
        values=values, errors=errors or {}, board_url=_board_url(q))


def _board_url(q: dict) -> str:
    return url_for("schedule.board", **{k: q[k] for k in ("view", "date", "user") if q.get(k)})


def _field_time(when: datetime) -> str:
    """A datetime-local field's value in the viewer's zone."""
    return when.astimezone(_zone()).strftime("%Y-%m-%dT%H:%M")


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


def _local(name: str, label: str | None = None) -> datetime:
    """A required datetime-local form value, read in the viewer's timezone."""
    value = local_datetime(name, _zone(), label)
    if value is None:
        raise ValidationFailed(gettext("Give the %(value)s as date and time", value=label or name),
                               {name: [gettext("Give a date and time.")]})
    return value


def _rrule(form) -> str | None:
    """The plain repeat choices (how often, how many times, until which day) as an RRULE."""
    freq = REPEATS.get(form.get("repeat") or "")
    if freq is None:
        return None
    rule = f"FREQ={freq}"
    count = (form.get("count") or "").strip()
    if count and not (count.isdigit() and 1 < int(count) <= appts.MAX_OCCURRENCES):
        raise ValidationFailed(gettext("Repeat between 2 and 500 times"),
                               {"count": [gettext("A whole number from 2 to 500.")]})
    until = (form.get("until") or "").strip()
    if count and until:
        raise ValidationFailed(gettext("Give either a number of occurrences or an end date"),
                               {"until": [gettext("Give either a number of occurrences or an end date, not both.")]})
    if count:
        rule += f";COUNT={count}"
    if until:
        try:
            last = datetime.combine(date.fromisoformat(until), time(23, 59, 59), tzinfo=_zone())
        except ValueError:
            raise ValidationFailed(gettext("Give the end date as a date"),
                                   {"until": [gettext("Use YYYY-MM-DD.")]}) from None
        rule += f";UNTIL={last.astimezone(ZoneInfo('UTC')):%Y%m%dT%H%M%SZ}"
    return rule


def _plain_repeat(rule: str | None) -> dict:
    """An RRULE as the form's plain choices; a rule they cannot say is kept as it is ("keep")."""
    if not rule:
        return {"repeat": "", "count": "", "until": ""}
    parts = dict(p.split("=", 1) for p in rule.removeprefix("RRULE:").split(";") if "=" in p)
    freq = {v: k for k, v in REPEATS.items()}.get(parts.get("FREQ", ""))
    if freq is None or set(parts) - {"FREQ", "COUNT", "UNTIL"}:
        return {"repeat": "keep", "count": "", "until": "", "rule": rule}
    until = ""
    if "UNTIL" in parts:
        until = datetime.strptime(parts["UNTIL"][:15], "%Y%m%dT%H%M%S").replace(tzinfo=ZoneInfo("UTC"))
        until = until.astimezone(_zone()).date().isoformat()
    return {"repeat": freq, "count": parts.get("COUNT", ""), "until": until}


class BookingForm(Schema):
    """The board's booking and memorize forms (the API's bounds on the ids)."""

    title = fields.String(load_default="", validate=validate.Length(max=200))
    opportunity_id = fields.Integer(load_default=None, validate=ID)
    attendees = fields.List(fields.Integer(validate=ID), load_default=list)
    users = fields.List(fields.Integer(validate=ID), load_default=list)
    location = fields.String(load_default="", validate=validate.Length(max=300))
    notes = fields.String(load_default="", validate=validate.Length(max=5000))


def _booking(*names: str) -> dict:
    return load_form(BookingForm(), list(names), multi=("attendees", "users"))


# the appointment form's labels (templates/_appointment_form.html), which name a refused field; the services
# call the repeat rule `rrule`
APPOINTMENT_LABELS = {
    "title": lazy_gettext("Title"), "opportunity_id": lazy_gettext("Opportunity"), "start": lazy_gettext("Start"),
    "end": lazy_gettext("End"), "location": lazy_gettext("Location"), "notes": lazy_gettext("Notes"),
    "attendees": lazy_gettext("Attendees"), "users": lazy_gettext("Attendees"), "repeat": lazy_gettext("Repeat"),
    "rrule": lazy_gettext("Repeat"), "count": lazy_gettext("Occurrences (blank: no limit)"),
    "until": lazy_gettext("Last day (blank: no limit)")}


def _appointment_form(*names: str, repeat: bool = True, need_attendees: bool = False) -> dict:
    """The appointment form's fields as the services take them; every refusal at once, by field."""
    data, errors = {}, {}

    def read(fn, *args):
        try:
            return fn(*args)
        except ValidationFailed as exc:
            errors.update(exc.errors or {"_form": [exc.detail]})
            return None

    data.update(read(_booking, *names) or {})
    data["start"], data["end"] = read(_local, "start"), read(_local, "end")
    if repeat:
        data["rrule"] = read(_rrule, request.form)
    if not (request.form.get("title") or "").strip():
        errors["title"] = [gettext("Give the appointment a title.")]
    if need_attendees and not [v for v in request.form.getlist("attendees") if v.strip()]:
        errors["attendees"] = [gettext("Pick at least one person.")]
    if data["start"] and data["end"] and data["end"] <= data["start"]:
        errors["end"] = [gettext("The end must come after the start.")]
    if errors:
        # "Check Title: ...; End: ...", shown above the form, each message by its field
        raise check_fields(errors, APPOINTMENT_LABELS)
    return data


def _form_values() -> dict:
    """What the user typed, to show it again."""
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    values["attendees"] = request.form.getlist("attendees")
    return values


def _page_errors(exc: SomFlowError) -> dict:
    """A refusal's messages by the form's field names (the services name the rule `rrule`), in plain words in
    the reader's language."""
    errors = {name: [plain(str(m)) for m in msgs] for name, msgs in (exc.errors or {}).items() if name != "_form"}
    detail = exc.detail
    if "rrule" in errors:
        # the service says "Not a valid RRULE: <why>" (the API's name for it, in English): the form calls it Repeat
        detail = check_fields({"rrule": exc.errors["rrule"]}, APPOINTMENT_LABELS).detail
        errors["repeat"] = errors.pop("rrule")
    errors["_form"] = [detail]  # the summary above the form, for a reader who starts at the top
    return errors


@bp.route("/schedule/appointments", methods=["POST"])
def create():
    """Book from the board; a refused booking is shown again with what was typed and why, beside the calendar."""
    _require(*BOOKERS)
    return_to(_back())
    q = _board_query(request.form)
    try:
        data = {**_appointment_form("title", "opportunity_id", "attendees", "location", "notes"),
                "timezone": current_user.timezone or "UTC"}
        appt = appts.create_appointment(current_user, data)
    except (ValidationFailed, Conflict) as exc:
        return _board(q, _form_values(), _page_errors(exc)), exc.status
    flash(gettext("Booked %(title)s.", title=appt.title), "ok")
    for other in appts.overlaps(appt):
        flash(gettext("Double booking: %(title)s overlaps.", title=other.title), "warning")
    return redirect(_back(date=data["start"].astimezone(_zone()).date().isoformat()))


def _occurrence() -> datetime | None:
    """The occurrence of a series a form or link names (its start, ISO 8601 with offset)."""
    raw = (request.values.get("occurrence") or "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationFailed(gettext("The occurrence is not a date and time"),
                               {"occurrence": [gettext("Not a date and time.")]})
    return value


@bp.route("/schedule/appointments/<int:appt_id>/move", methods=["POST"])
def move(appt_id: int):
    """Move the occurrence shown at `occurrence` to `start`: only that occurrence of a series (unless `scope`
    says "following" or "all"), keeping its length."""
    _require(*BOOKERS)
    return_to(_back())
    appt = appts.get_appointment(appt_id)
    new_start = _local("start")
    occurrence = _occurrence() if appt.rrule else None
    length = appt.end_at - appt.start_at
    scope = request.form.get("scope") or None
    appts.change_appointment(current_user, appt_id, {"start": new_start, "end": new_start + length}, occurrence, scope)
    flash(gettext("Moved %(title)s to %(when)s.", title=appt.title, when=moment(new_start, _zone())),
          "ok")
    return redirect(_back(date=new_start.date().isoformat()))


@bp.route("/schedule/appointments/<int:appt_id>/complete", methods=["POST"])
def complete(appt_id: int):
    _require(*BOOKERS)
    return_to(_back())
    appt = appts.get_appointment(appt_id)
    appt = appts.set_status(current_user, appt_id, "completed", _occurrence() if appt.rrule else None)
    flash(gettext("%(title)s is done.", title=appt.title), "ok")
    return redirect(back(_back()))


@bp.route("/schedule/appointments/<int:appt_id>/memorize", methods=["POST"])
def memorize(appt_id: int):
    _require(*BOOKERS)
    return_to(_back())
    people = _booking("users")["users"]
    if not people:
        raise ValidationFailed(gettext("Pick whom to memorize it for"),
                               {"users": [gettext("Pick at least one person.")]})
    copies = appts.memorize(current_user, appt_id, people)
    flash(gettext("Memorized for %(names)s.", names=", ".join(c.attendees[0].name for c in copies)), "ok")
    return redirect(back(_back()))


# -- the appointment page: every field, delete, complete, memorize ------------------------------------------
def _editable(appt_id: int) -> appts.Appointment:
    _require(*BOOKERS)
    appt = appts.get_appointment(appt_id)
    require_change_appointment(current_user, appt)
    return appt


def _shown(appt: appts.Appointment, occurrence: datetime | None) -> tuple[datetime, datetime]:
    """The start and end the page shows: the occurrence's, or the appointment's own."""
    if occurrence is None:
        return appt.start_at, appt.end_at
    return occurrence, occurrence + (appt.end_at - appt.start_at)


def _page(appt, occurrence, values=None, errors=None):
    start, end = _shown(appt, occurrence)
    if values is None:
        values = {"title": appt.title, "location": appt.location or "", "notes": appt.notes or "",
                  "start": _field_time(start), "end": _field_time(end), "scope": "this",
                  "attendees": [str(u.id) for u in appt.attendees], **_plain_repeat(appt.rrule)}
    deal = opportunities.get_many([appt.opportunity_id])[0] if appt.opportunity_id else None
    return render_template("appointment.html", appt=appt, occurrence=occurrence, values=values, errors=errors or {},
                           people=users.list_active_users(), deal=deal, zone=_zone(),
                           next_url=safe_next(request.values.get("next"), url_for("schedule.board")),
                           shown_start=start.astimezone(_zone()))


@bp.route("/schedule/appointments/<int:appt_id>")
def appointment_page(appt_id: int):
    """The appointment (or one occurrence of a series, `?occurrence=`) with every field to edit."""
    appt = _editable(appt_id)
    occurrence = _occurrence() if appt.rrule else None
    if occurrence is not None:
        occurrence = appts.find_occurrence(appt, occurrence)
    return _page(appt, occurrence)


@bp.route("/schedule/appointments/<int:appt_id>", methods=["POST"])
def save(appt_id: int):
    """Save the appointment page; a refusal shows the page again with what was typed and why."""
    appt = _editable(appt_id)
    occurrence = _occurrence() if appt.rrule else None
    scope = (request.form.get("scope") or "this") if occurrence is not None else None
    try:
        changes = _appointment_form("title", "attendees", "location", "notes", need_attendees=True)
        for key in ("title", "location", "notes"):
            changes[key] = changes.get(key) or ""
        rule_was = _plain_repeat(appt.rrule)
        rule_now = {k: (request.form.get(k) or "").strip() for k in ("repeat", "count", "until")}
        if scope == "this" or rule_now == {k: rule_was[k] for k in rule_now} or rule_now["repeat"] == "keep":
            changes.pop("rrule")  # the repeat rule was not touched (and one occurrence does not repeat)
        appts.change_appointment(current_user, appt_id, changes, occurrence, scope)
    except (ValidationFailed, Conflict) as exc:
        return _page(appt, occurrence, _form_values(), _page_errors(exc)), exc.status
    flash(gettext("Saved %(title)s.", title=changes["title"]), "ok")
    return redirect(safe_next(request.form.get("next"), _back(date=changes["start"].astimezone(_zone()).date()
                                                              .isoformat())))


@bp.route("/schedule/appointments/<int:appt_id>/delete", methods=["POST"])
def delete(appt_id: int):
    """Delete the appointment, or of a series the occurrence (`scope`: this, following or all)."""
    _require(*BOOKERS)
    return_to(_back())
    appt = appts.get_appointment(appt_id)
    occurrence = _occurrence() if appt.rrule else None
    title = appt.title
    appts.cancel_appointment(current_user, appt_id, occurrence, request.form.get("scope") or None)
    flash(gettext("Deleted %(title)s.", title=title) if occurrence is None else
          gettext("Cancelled %(title)s on %(when)s.", title=title, when=moment(occurrence, _zone())),
          "ok")
    return redirect(back(_back()))


@bp.route("/schedule/reminders/fire", methods=["POST"])
def fire_reminders():
    _require(*FIRERS)
    fired = fire_due_reminders(owner=f"ui:{current_user.id}:{uuid.uuid4().hex}")
    flash(ngettext("%(num)s reminder sent.", "%(num)s reminders sent.", fired), "ok")
    return redirect(_back())
