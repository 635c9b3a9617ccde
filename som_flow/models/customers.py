"""Customers and their jobs (sub-customers) and contacts; the contact log is models.activities."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from som_flow.extensions import db
from som_flow.models.base import Timestamped

CUSTOMER_KINDS = ("individual", "organization")
CUSTOMER_STATUSES = ("prospect", "active", "inactive")

class Customer(Timestamped, db.Model):
    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="organization")  # individual | organization
    name: Mapped[str] = mapped_column(String(200), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="prospect")  # prospect | active | inactive
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    bill_to: Mapped[dict] = mapped_column(JSON, default=dict)
    work_address: Mapped[dict] = mapped_column(JSON, default=dict)
    credit_hold: Mapped[bool] = mapped_column(default=False)
    payment_terms: Mapped[str | None] = mapped_column(String(100))
    popup_notes: Mapped[str] = mapped_column(Text, default="")
    popup_on_open: Mapped[bool] = mapped_column(default=False)

    parent: Mapped[Customer | None] = relationship(remote_side=[id], back_populates="jobs")
    jobs: Mapped[list[Customer]] = relationship(back_populates="parent", order_by="Customer.name")
    contacts: Mapped[list[Contact]] = relationship(back_populates="customer", order_by="Contact.name")

    @property
    def full_name(self) -> str:
        """Customer:Job path, as the seeds write it."""
        return f"{self.parent.full_name}:{self.name}" if self.parent else self.name


class Contact(Timestamped, db.Model):
    __tablename__ = "contact"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))

    customer: Mapped[Customer] = relationship(back_populates="contacts")

