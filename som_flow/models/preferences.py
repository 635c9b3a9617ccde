"""Office-wide preferences an admin keeps in the database (e.g. the fields a new deal must have)."""

from __future__ import annotations

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from som_flow.extensions import db


class Preference(db.Model):
    """One named preference; `value` is whatever JSON the preference needs (a list of field names...)."""

    __tablename__ = "preference"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[list] = mapped_column(JSON)
