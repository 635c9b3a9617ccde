"""Opportunities, their process state, their history and the documents around them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Float, ForeignKey, Index, Numeric, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from som_flow.extensions import Money, UTCDateTime, db
from som_flow.models.base import Timestamped

OPPORTUNITY_STATUSES = ("in_progress", "on_hold", "won", "lost")
PRIORITIES = ("low", "medium", "high")
PROBABILITY_SOURCES = ("stage_default", "manual", "outcome")


class Opportunity(Timestamped, db.Model):
    __tablename__ = "opportunity"
    __table_args__ = (
        Index("ix_opportunity_stage_status", "stage", "status"),
        Index("ix_opportunity_rep_status", "sales_rep_id", "status"),
        Index("ix_opportunity_kind_status", "kind_id", "status"),
        # deals by close date with whether they are closed: the overdue list reads the index alone. Not
        # (closed, date): with `closed` first SQLite took it for every open-deals scan (forecast 81 → 180 ms)
        Index("ix_opportunity_close_date_closed", "anticipated_close_date", "closed"),
        # covering index for the pipeline report's one scan of decided deals (no table lookups)
        Index("ix_opportunity_decided", "status", "resolved_date", "sales_rep_id", "kind_id", "currency",
              "marketing_source", "reason", "amount", "date"),
        # the few archived deals: the task list leaves their tasks out without reading all deals (bench/reads.py)
        Index("ix_opportunity_archived", "id", postgresql_where=text("archived_at IS NOT NULL"),
              sqlite_where=text("archived_at IS NOT NULL")),
        # a board: the open deals of a kind by stage, with what its cards and column totals are summed from
        Index("ix_opportunity_board", "kind_id", "stage", "id", "currency", "amount", "probability",
              postgresql_where=text("closed IS false AND archived_at IS NULL"),
              sqlite_where=text("closed IS 0 AND archived_at IS NULL")),
        # a board's column totals: the open deals of a kind in the order they are summed (stage, currency,
        # probability), so the sums are read from the index alone without hashing 10,000 rows (0016_board_sums)
        Index("ix_opportunity_board_sums", "kind_id", "stage", "currency", "probability", "amount",
              postgresql_where=text("closed IS false AND archived_at IS NULL"),
              sqlite_where=text("closed IS 0 AND archived_at IS NULL")),
        # a rep's own open deals, newest first ("My open deals", the rep's list): read in order, not found among
        # every deal by walking the primary key
        Index("ix_opportunity_rep_open", "sales_rep_id", "id",
              postgresql_where=text("closed IS false AND archived_at IS NULL"),
              sqlite_where=text("closed IS 0 AND archived_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    opened_on: Mapped[date] = mapped_column("date")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    address_choice: Mapped[str] = mapped_column(String(10), default="bill_to")  # bill_to | work
    department: Mapped[str | None] = mapped_column(String(64))
    sales_rep_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    employee_lead_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    marketing_channel: Mapped[str | None] = mapped_column(String(64))
    marketing_source: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(64))
    financing_activity: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(10), default="medium")
    timeframe: Mapped[str | None] = mapped_column(String(64))
    follow_up_date: Mapped[date | None] = mapped_column()
    anticipated_close_date: Mapped[date | None] = mapped_column()
    amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    probability: Mapped[int] = mapped_column(default=0)
    probability_source: Mapped[str] = mapped_column(String(20), default="stage_default")
    stage: Mapped[str | None] = mapped_column(String(64))
    stage_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="in_progress")
    closed: Mapped[bool] = mapped_column(default=False)
    resolved_date: Mapped[date | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(64))  # won or lost reason catalog key
    explanation: Mapped[str] = mapped_column(Text, default="")
    external_reference: Mapped[str | None] = mapped_column(String(100))
    terms_of_sale: Mapped[str | None] = mapped_column(String(200))  # seed 002: the deal's terms of sales
    probability_level: Mapped[str | None] = mapped_column(String(64))  # probability_levels catalog key
    selected_estimate_id: Mapped[int | None] = mapped_column(
        ForeignKey("estimate.id", use_alter=True, name="fk_opportunity_selected_estimate")
    )
    answers: Mapped[dict] = mapped_column(JSON, default=dict)  # question key -> answer
    custom: Mapped[dict] = mapped_column(JSON, default=dict)  # custom field key -> value
    kind_id: Mapped[int] = mapped_column(ForeignKey("opportunity_kind.id"))
    kind_version_id: Mapped[int] = mapped_column(ForeignKey("kind_version.id"))
    # set when an admin or manager hides a deal made by mistake; lists, board, forecast and tasks skip it
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    customer = relationship("Customer", foreign_keys=[customer_id])
    job = relationship("Customer", foreign_keys=[job_id])
    sales_rep = relationship("User", foreign_keys=[sales_rep_id])
    employee_lead = relationship("User", foreign_keys=[employee_lead_id])
    kind = relationship("OpportunityKind")
    kind_version = relationship("KindVersion")
    # in the deal's JSON, lists included: loaded for a page of deals in one query, not one per deal
    demand_lines: Mapped[list[DemandLine]] = relationship(back_populates="opportunity", order_by="DemandLine.id",
                                                          lazy="selectin")
    parties: Mapped[list[Party]] = relationship(back_populates="opportunity", order_by="Party.id")

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / Decimal(100)).quantize(Decimal("0.01"))


class WorkflowState(db.Model):
    """The serialized SpiffWorkflow state of one opportunity (state only; the spec is cached per version)."""

    __tablename__ = "workflow_state"
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id"), primary_key=True)
    kind_version_id: Mapped[int] = mapped_column(ForeignKey("kind_version.id"))
    serializer_version: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(Text)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class Event(db.Model):
    """Append-only history of an opportunity; stage history, audit and analytics read from here."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_opportunity_at", "opportunity_id", "at"),
        Index("ix_event_type_at", "type", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    actor = relationship("User")


class StageStay(db.Model):
    """One visit of an opportunity to a stage: when it entered, when it left and how (advanced, back, won,
    lost). The funnel and time-in-stage read these plain columns instead of parsing the Event JSON; the
    first-visit and advanced flags and the days spent are kept as the deal moves, so the funnel counts deals
    with plain sums instead of COUNT(DISTINCT) (measured: ~350 of the report's ~600 ms over 290,000 stays)."""

    __tablename__ = "stage_stay"
    __table_args__ = (
        Index("ix_stage_stay_opportunity_left", "opportunity_id", "left_at"),
        # covering index: the funnel and the suggested probability read only these columns
        Index("ix_stage_stay_report", "stage", "entered_at", "first_visit", "advanced", "days", "opportunity_id",
              "outcome", "left_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id"))
    stage: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(10))  # advanced | back | won | lost; None while there
    days: Mapped[float | None] = mapped_column(Float)  # left_at - entered_at, once it has left
    first_visit: Mapped[bool] = mapped_column(default=False, server_default=false())  # the deal's first here
    # on the first visit only: the deal has left this stage forward (or was won from it), on any visit
    advanced: Mapped[bool] = mapped_column(default=False, server_default=false())


class DemandLine(db.Model):
    __tablename__ = "demand_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id"), index=True)
    product: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3, asdecimal=True))
    amount: Mapped[Decimal] = mapped_column(Money())
    comment: Mapped[str] = mapped_column(Text, default="")

    opportunity: Mapped[Opportunity] = relationship(back_populates="demand_lines")


class Party(db.Model):
    """A partner or contact person taking part in an opportunity."""

    __tablename__ = "party"
    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # partner | contact
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    name: Mapped[str] = mapped_column(String(200))

    opportunity: Mapped[Opportunity] = relationship(back_populates="parties")


class Estimate(Timestamped, db.Model):
    __tablename__ = "estimate"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Money())
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft | sent | accepted | rejected

    lines: Mapped[list[EstimateLine]] = relationship(
        back_populates="estimate", order_by="EstimateLine.id", cascade="all, delete-orphan"
    )


class EstimateLine(db.Model):
    __tablename__ = "estimate_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    estimate_id: Mapped[int] = mapped_column(ForeignKey("estimate.id"), index=True)
    product: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3, asdecimal=True))
    price: Mapped[Decimal] = mapped_column(Money())

    estimate: Mapped[Estimate] = relationship(back_populates="lines")

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.price).quantize(Decimal("0.01"))


class ForecastSnapshot(db.Model):
    """A weekly copy of the forecast, to set beside what was actually won."""

    __tablename__ = "forecast_snapshot"
    id: Mapped[int] = mapped_column(primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()
    total_amount: Mapped[Decimal] = mapped_column(Money())
    weighted_total: Mapped[Decimal] = mapped_column(Money())
    groups: Mapped[list] = mapped_column(JSON, default=list)
