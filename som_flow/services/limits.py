"""The bounds data must keep: dates people mean, amounts the money columns hold, ids the 32-bit columns hold.

One owner for each bound: the API's and the pages' schemas, the CSV import and the services read them here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from marshmallow import ValidationError

# Money columns are NUMERIC(14, 2) (extensions.Money)
MAX_AMOUNT = Decimal("999999999999")
# ids are 32-bit INTEGER columns: a larger number is refused, not overflowed in PostgreSQL
MAX_ID = 2**31 - 1
# dates people mean: wide enough for any deal, narrow enough that date arithmetic on them (a week view, a
# quarter's end, a UTC conversion) stays inside Python's calendar (years 1..9999) instead of raising
EARLIEST, LATEST = date(1900, 1, 1), date(2200, 12, 31)
_RANGE = f"Use a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}."


def sane_date(value: date) -> None:
    """A field validator: the date (or a datetime's UTC date) lies in EARLIEST..LATEST. Raises ValidationError."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:  # 9999-12-31T23:59-14:00 is in year 10000 in UTC
                raise ValidationError(_RANGE) from None
        value = value.date()
    if not EARLIEST <= value <= LATEST:
        raise ValidationError(_RANGE)
