"""The work around opportunities: tasks, appointments, reminders, deliveries and notifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from som_flow.extensions import UTCDateTime, db
from som_flow.models.base import Timestamped

TASK_STATUSES = ("open", "done", "cancelled")
REMINDER_KINDS = (
    "follow_up",
    "close_date",
    "close_overdue",
    "task_due",
    "appointment",
    "stage_sla",
    "process_timer",
)
REMINDER_STATES = ("pending", "claimed", "delivered", "cancelled", "dead")


TASK_SOURCES = ("process", "person")


class Task(Timestamped, db.Model):
    """A READY BPMN user task mirrored for people (source "process"; the id is the workflow task's id), or a task
    a person added to a deal (source "person"; a uuid, never in the workflow, never gating a stage)."""

    __tablename__ = "task"
    __table_args__ = (
        # a person's and a pool's task list, in the list's order (services.tasks.TASK_ORDER): a page is read
        # from the index in order and stops at its last row instead of sorting every open task; the last columns
        # are the list's other filters, so its count reads the index alone
        Index("ix_task_assignee_list", "assignee_id", "status", "due_at", "created_at", "id", "follow_up_at",
              "opportunity_id"),
        Index("ix_task_pool_list", "role", "status", "due_at", "created_at", "id", "assignee_id", "follow_up_at",
              "opportunity_id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id"), index=True)
    spec_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str | None] = mapped_column(String(64))
    gate: Mapped[bool] = mapped_column(default=False)
    required: Mapped[bool] = mapped_column(default=True)
    action: Mapped[str | None] = mapped_column(String(40))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="open")
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    form: Mapped[list] = mapped_column(JSON, default=list)  # field names the completion must carry
    # the typed form ({name, type, label, choices?} per field, engine/forms.py); null on rows made before types
    form_types: Mapped[list | None] = mapped_column(JSON)
    done_by: Mapped[str | None] = mapped_column(String(20))  # "assignment": done when the deal gets a rep
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # the client's Idempotency-Key of the completion: a retry with the same key gets the completed task back
    completion_key: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(10), default="process", server_default="process")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # a task of the job's own work (JobWork, a follow-on process) rather than of the deal's sales process
    job_work_id: Mapped[int | None] = mapped_column(ForeignKey("job_work.id"), index=True)

    opportunity = relationship("Opportunity")
    assignee = relationship("User", foreign_keys=[assignee_id])

    @property
    def form_fields(self) -> list[dict]:
        return form_fields(self.form_types, self.form)


def form_fields(form_types: list | None, form: list | None) -> list[dict]:
    """A task's completion form's fields with their types; a row from before typed forms has text fields."""
    if form_types:
        return form_types
    return [{"name": n, "type": "text", "label": n.replace("_", " ").capitalize()} for n in form or []]


appointment_attendee = Table(
    "appointment_attendee",
    db.metadata,
    Column("appointment_id", ForeignKey("appointment.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Appointment(Timestamped, db.Model):
    __tablename__ = "appointment"
    __table_args__ = (Index("ix_appointment_start_end", "start_at", "end_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunity.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    title: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")  # recurrences expand in this zone
    status: Mapped[str] = mapped_column(String(12), default="scheduled")  # scheduled | completed | cancelled
    rrule: Mapped[str | None] = mapped_column(String(300))
    exdates: Mapped[list] = mapped_column(JSON, default=list)  # ISO datetimes of skipped occurrences
    series_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))  # an edited occurrence
    recurrence_id: Mapped[datetime | None] = mapped_column(UTCDateTime())  # which occurrence it replaces
    memorized_from_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    attendees = relationship("User", secondary=appointment_attendee, order_by="User.name")


class Reminder(Timestamped, db.Model):
    """One scheduled reminder; the database row, not APScheduler, is the source of truth."""

    __tablename__ = "reminder"
    __table_args__ = (
        Index("ix_reminder_state_due", "state", "due_at"),
        Index("ix_reminder_source", "opportunity_id", "kind", "source_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunity.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    source_id: Mapped[str | None] = mapped_column(String(64))  # task id, appointment id, timer task id
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(12), default="pending")
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")


class Delivery(db.Model):
    """The delivery log: a unique idempotency key makes a second delivery impossible."""

    __tablename__ = "delivery"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminder.id"))
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_by: Mapped[str] = mapped_column(String(64))
    channels: Mapped[list] = mapped_column(JSON, default=list)


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminder.id"))
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunity.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_attempts: Mapped[int] = mapped_column(default=0)
    email_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # a mailer claims rows until this time, then talks to the SMTP server outside any transaction
    email_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    reminder = relationship("Reminder")
