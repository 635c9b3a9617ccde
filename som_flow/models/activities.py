"""Activities: notes and logged calls, e-mails, meetings and visits, on a customer and optionally on one deal.

The customer contact log (seed 003) is the same rows: the table keeps its old name and its `channel` and
`summary` columns (the Python names are `type` and `text`), so the contact-log API reads them unchanged.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, synonym

from som_flow.extensions import UTCDateTime, db


class Activity(db.Model):
    """Who talked to the customer (`user_id`), when (`at`), how (`type`), what came of it, and who wrote it down."""

    __tablename__ = "contact_log_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    # the deal the activity is about; for a contact-log entry, the deal created from it
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunity.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    type: Mapped[str] = mapped_column("channel", String(20))  # note | call | email | meeting | visit | other
    text: Mapped[str] = mapped_column("summary", Text)
    outcome: Mapped[str | None] = mapped_column(String(200))
    # who wrote it and when: only the author edits, and only for a while (services.activities.EDIT_WINDOW);
    # entries from before activities existed have neither
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # what was added after the edit window, the original kept: [{"at": ISO, "author_id": id, "text": ...}]
    addenda: Mapped[list | None] = mapped_column(JSON, default=list)

    # the contact log's names for the same columns
    channel = synonym("type")
    summary = synonym("text")
