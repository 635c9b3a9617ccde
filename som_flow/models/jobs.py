"""The job's own work: a kind's follow-on process (versioned) and its run on one job after a win."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from som_flow.extensions import UTCDateTime, db

JOB_WORK_STATUSES = ("running", "done", "cancelled")


class FollowOnVersion(db.Model):
    """One immutable follow-on BPMN of a kind; the newest is the one a win starts. Its versions are the kind's
    own, apart from the sales process's: replacing the office's work does not make deals migrate."""

    __tablename__ = "follow_on_version"
    __table_args__ = (UniqueConstraint("kind_id", "number", name="uq_follow_on_version_kind_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("opportunity_kind.id"), index=True)
    number: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(200), default="")
    bpmn_xml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    kind = relationship("OpportunityKind")


class JobWork(db.Model):
    """The run of a follow-on process on the job a win made: its serialized state (state only; the spec is
    cached per follow-on version) and whether it is running, done or cancelled (the deal was reopened)."""

    __tablename__ = "job_work"
    __table_args__ = (Index("ix_job_work_opportunity_status", "opportunity_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id"))
    job_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    follow_on_version_id: Mapped[int] = mapped_column(ForeignKey("follow_on_version.id"))
    status: Mapped[str] = mapped_column(String(10), default="running")
    state: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    opportunity = relationship("Opportunity")
    job = relationship("Customer")
    follow_on_version = relationship("FollowOnVersion")
