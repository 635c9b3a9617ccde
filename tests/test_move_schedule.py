"""Issue #17 item 1, fifth pass: a move reads the deal's reminders and its scheduled appointments in one statement;
the appointments' reminders come through the move as they were (a visit still booked keeps its reminder, one
completed keeps none)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, select

from som_flow.extensions import db
from som_flow.models import Reminder
from som_flow.services import appointments, opportunities
from tests.helpers import make_customer, make_user


def _appointment_reminders(opp_id: int) -> dict[str, str]:
    """The deal's appointment reminders: source (the appointment's id) → state."""
    return dict(db.session.execute(select(Reminder.source_id, Reminder.state).where(
        Reminder.opportunity_id == opp_id, Reminder.kind == "appointment")).all())


def test_a_move_keeps_the_reminders_of_the_deals_booked_visits_and_reads_them_with_its_reminders(app):
    manager = make_user("m@x.test", "manager")
    customer = make_customer()
    opp_id = opportunities.create_opportunity(manager, {"title": "Visits", "customer_id": customer.id,
                                                        "kind": "service-contract"}).id
    other_id = opportunities.create_opportunity(manager, {"title": "Other", "customer_id": customer.id,
                                                          "kind": "service-contract"}).id

    def book(deal_id: int, day: int) -> str:
        return str(appointments.create_appointment(manager, {
            "opportunity_id": deal_id, "title": f"Visit {day}",
            "start": datetime(2026, 3, day, 15, tzinfo=UTC), "end": datetime(2026, 3, day, 16, tzinfo=UTC)}).id)

    booked, done, elsewhere = book(opp_id, 10), book(opp_id, 11), book(other_id, 12)
    appointments.set_status(manager, int(done), "completed")
    db.session.commit()
    assert _appointment_reminders(opp_id) == {booked: "pending", done: "cancelled"}

    sent: list[str] = []

    def count(_conn, _cursor, statement, *_):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        opportunities.move_to_stage(manager, opp_id, "qualification")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    db.session.commit()

    assert opportunities.get_opportunity(opp_id).stage == "qualification"
    assert _appointment_reminders(opp_id) == {booked: "pending", done: "cancelled"}
    assert _appointment_reminders(other_id) == {elsewhere: "pending"}
    # one statement asks for the deal's reminders and which of its appointments are scheduled (then only the
    # scheduled one is read, for its attendees and times)
    [both] = [s for s in sent if "FROM reminder" in s or "appointment.status = " in s]
    assert "FROM reminder" in both and "appointment.status = " in both
