"""Opportunity kinds and their BPMN versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from som_flow.extensions import UTCDateTime, db
from som_flow.models.base import Timestamped


class OpportunityKind(Timestamped, db.Model):
    __tablename__ = "opportunity_kind"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(10))
    allowed: Mapped[bool] = mapped_column(default=True)
    record_initial_request: Mapped[bool] = mapped_column(default=False)
    # use_alter: kind and version point at each other
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("kind_version.id", use_alter=True, name="fk_opportunity_kind_current_version")
    )

    versions: Mapped[list[KindVersion]] = relationship(
        back_populates="kind", foreign_keys="KindVersion.kind_id", order_by="KindVersion.number"
    )
    current_version: Mapped[KindVersion | None] = relationship(foreign_keys=[current_version_id], post_update=True)


class KindVersion(db.Model):
    """One immutable BPMN process of a kind. Running opportunities keep the version they started on."""

    __tablename__ = "kind_version"
    __table_args__ = (UniqueConstraint("kind_id", "number", name="uq_kind_version_kind_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("opportunity_kind.id"), index=True)
    number: Mapped[int] = mapped_column()
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # the builder input when the designer made it (None for uploads); stage list as the process declares it
    definition: Mapped[dict | None] = mapped_column(JSON)
    stages: Mapped[list] = mapped_column(JSON, default=list)
    allow_back: Mapped[bool] = mapped_column(default=False)
    # sentences saying what was read or added when the BPMN came from a modeler (None: stored as given)
    import_notes: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    kind: Mapped[OpportunityKind] = relationship(back_populates="versions", foreign_keys=[kind_id])
