"""Admin-maintained catalogs: stages, the generic choice lists, exchange rates, custom fields, questions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import JSON, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from som_flow.extensions import Money, db
from som_flow.models.base import Timestamped

CATALOGS = (
    "lost_reasons",
    "won_reasons",
    "timeframes",
    "marketing_channels",
    "marketing_sources",
    "departments",
    "products",
    "financing_activities",
    "probability_levels",
    "currencies",
    "priorities",
)


class Stage(Timestamped, db.Model):
    __tablename__ = "stage"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    name_nb: Mapped[str | None] = mapped_column(String(120))  # the Norwegian name; None: `name` in every language
    details: Mapped[str] = mapped_column(Text, default="")
    default_probability: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    sla_days: Mapped[int | None] = mapped_column()

    def name_in(self, language: str | None) -> str:
        """The name a reader of `language` ("en", "nb") sees: the Norwegian one where given, else `name`."""
        return self.name_nb if language == "nb" and self.name_nb else self.name


class CatalogEntry(Timestamped, db.Model):
    """One entry of a named choice list (`catalog` is one of CATALOGS)."""

    __tablename__ = "catalog_entry"
    __table_args__ = (UniqueConstraint("catalog", "key", name="uq_catalog_entry_catalog_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    catalog: Mapped[str] = mapped_column(String(40), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    name_nb: Mapped[str | None] = mapped_column(String(200))  # the Norwegian name; None: `name` in every language
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    percent: Mapped[int | None] = mapped_column()  # probability levels
    price: Mapped[Decimal | None] = mapped_column(Money())  # products and services
    extra: Mapped[dict] = mapped_column(JSON, default=dict)  # e.g. a channel's impact type

    def name_in(self, language: str | None) -> str:
        """The name a reader of `language` ("en", "nb") sees: the Norwegian one where given, else `name`."""
        return self.name_nb if language == "nb" and self.name_nb else self.name


class ExchangeRate(db.Model):
    """1 unit of `currency` = `rate` units of `base` from `valid_from` on."""

    __tablename__ = "exchange_rate"
    __table_args__ = (UniqueConstraint("currency", "base", "valid_from", name="uq_exchange_rate_pair_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    base: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(18, 8, asdecimal=True))
    valid_from: Mapped[date] = mapped_column()


class CustomField(Timestamped, db.Model):
    __tablename__ = "custom_field"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(10))  # text | number | date | choice | bool
    choices: Mapped[list] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)


class Question(Timestamped, db.Model):
    """A profile or qualification question; qualification answers decide `qualified`."""

    __tablename__ = "question"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    section: Mapped[str] = mapped_column(String(20))  # profile | qualification
    text: Mapped[str] = mapped_column(String(300))
    answer_type: Mapped[str] = mapped_column(String(10), default="bool")  # bool | text | choice | number | date
    choices: Mapped[list] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(default=False)
    kind_key: Mapped[str | None] = mapped_column(String(64))  # None: every kind
    position: Mapped[int] = mapped_column(default=0)
