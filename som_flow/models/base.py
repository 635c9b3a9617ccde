"""Column helpers shared by every model."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from som_flow.extensions import UTCDateTime


class Timestamped:
    """created_at / updated_at, stamped from the app's clock by the unit of work (never the wall clock)."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
