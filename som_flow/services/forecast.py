"""The weighted forecast, its weekly snapshots and currency conversion.

Sums run in SQL grouped by (key, currency); only the few grouped rows are converted here, so a total is never a
raw sum across currencies and a missing rate is an error naming the pair, never a silent zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from flask import current_app
from sqlalchemy import String, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from som_flow.errors import ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import ExchangeRate, ForecastSnapshot, Opportunity, OpportunityKind, Stage, User
from som_flow.services.reference import kept
from som_flow.services.unit_of_work import now, service

CENT = Decimal("0.01")
GROUP_BY = ("month", "quarter", "stage", "rep", "kind")
FORECAST_STATUSES = ("open", "won", "lost", "all")  # which deals a forecast reads
SNAPSHOT_MONTHS = 12


def to_money(value) -> Decimal:
    # SQLite sums NUMERIC as float; str() keeps the shortest exact repr before rounding to cents
    return Decimal(str(value or 0)).quantize(CENT)


def dialect() -> str:
    return db.session.get_bind().dialect.name


def default_currency() -> str:
    return current_app.config["DEFAULT_CURRENCY"]


# -- currencies ------------------------------------------------------------------------------------
class Rates:
    """The exchange rates in force on a day: latest `valid_from <= on` per (currency, base) pair."""

    def __init__(self, on: date):
        self.on = on
        # today's are kept (every board and list sums in them); a day someone asks a report about is read
        self._pairs = kept(("rates", on), lambda: _rates_on(on)) if on == now().date() else _rates_on(on)

    def rate(self, source: str, target: str) -> Decimal:
        """Units of `target` for one unit of `source`: direct, inverse, or through a shared base."""
        if source == target:
            return Decimal(1)
        if (source, target) in self._pairs:
            return self._pairs[(source, target)]
        if (target, source) in self._pairs:
            return 1 / self._pairs[(target, source)]
        for (currency, base), rate in self._pairs.items():
            if currency == source and (target, base) in self._pairs:
                return rate / self._pairs[(target, base)]
        raise ValidationFailed(
            gettext("No exchange rate from %(source)s to %(target)s", source=source, target=target),
            {"currency": [gettext("No exchange rate %(source)s→%(target)s valid on %(day)s; an admin can add one under "
                                  "exchange rates.", source=source, target=target, day=self.on.isoformat())]},
        )

    def convert(self, amount: Decimal, source: str, target: str) -> Decimal:
        return (Decimal(amount) * self.rate(source, target)).quantize(CENT)


def _rates_on(on: date) -> dict[tuple[str, str], Decimal]:
    pairs = {}
    rows = db.session.execute(select(ExchangeRate.currency, ExchangeRate.base, ExchangeRate.rate)
                              .where(ExchangeRate.valid_from <= on).order_by(ExchangeRate.valid_from)).all()
    for currency, base, rate in rows:  # later rows overwrite earlier ones
        pairs[(currency, base)] = Decimal(rate)
    return pairs


# -- SQL expressions -------------------------------------------------------------------------------
def period_key(column, period: str) -> ColumnElement:
    """'2026-12' (month) or '2026-Q4' (quarter) of a date column, in the database's own dialect."""
    if dialect() == "postgresql":
        return func.to_char(column, "YYYY-MM" if period == "month" else 'YYYY-"Q"Q')
    if period == "month":
        return func.strftime("%Y-%m", column)
    quarter = (cast(func.strftime("%m", column), db.Integer) + 2) // 3
    return func.strftime("%Y", column) + "-Q" + cast(quarter, String)


def days_between(later, earlier) -> ColumnElement:
    """Days (fractional) from `earlier` to `later`, for dates or datetimes."""
    if dialect() == "postgresql":
        return func.extract("epoch", func.cast(later, db.DateTime) - func.cast(earlier, db.DateTime)) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


def period_bounds(key: str) -> tuple[date, date]:
    """First and last day of '2026-12' or '2026-Q4'."""
    year, _, part = key.partition("-")
    if part.startswith("Q"):
        start = date(int(year), 3 * int(part[1:]) - 2, 1)
        return start, start + relativedelta(months=3, days=-1)
    start = date(int(year), int(part), 1)
    return start, start + relativedelta(months=1, days=-1)


def period_of(day: date, period: str) -> str:
    return f"{day.year}-{day.month:02d}" if period == "month" else f"{day.year}-Q{(day.month + 2) // 3}"


# -- filters ---------------------------------------------------------------------------------------
@dataclass
class Filters:
    """What the forecast and reports are restricted to; a rep alone sees only their own deals."""

    from_: date | None = None
    to: date | None = None
    stage: str | None = None
    rep: int | None = None
    kind: str | None = None
    status: str = "open"

    @classmethod
    def for_user(cls, user: User | None, **values) -> Filters:
        filters = cls(**{k: v for k, v in values.items() if v is not None})
        if user is not None and not user.has_role("admin", "manager"):
            filters.rep = user.id
        return filters

    def conditions(self, date_column=Opportunity.anticipated_close_date) -> list[ColumnElement]:
        where: list[ColumnElement] = [Opportunity.archived_at.is_(None)]  # a deal made by mistake counts nowhere
        if self.status == "open":
            where.append(Opportunity.closed.is_(False))
        elif self.status in ("won", "lost"):
            where.append(Opportunity.status == self.status)
        if self.from_ is not None:
            where.append(date_column >= self.from_)
        if self.to is not None:
            where.append(date_column <= self.to)
        if self.stage:
            where.append(Opportunity.stage == self.stage)
        if self.rep is not None:
            where.append(Opportunity.sales_rep_id == self.rep)
        if self.kind:
            kind_id = db.session.scalar(select(OpportunityKind.id).where(OpportunityKind.key == self.kind))
            where.append(Opportunity.kind_id == (kind_id or -1))
        return where


# -- the forecast ----------------------------------------------------------------------------------
def _group_column(group_by: str) -> ColumnElement:
    if group_by in ("month", "quarter"):
        return period_key(Opportunity.anticipated_close_date, group_by)
    if group_by == "stage":
        return Opportunity.stage
    if group_by == "rep":
        return Opportunity.sales_rep_id
    return Opportunity.kind_id


def _ordered_groups(group_by: str, keys: list) -> list[tuple]:
    """(group key, key shown to clients, label) in the order a reader expects; no key ("—") last."""
    present = [k for k in keys if k is not None]
    if group_by == "stage":
        stages = {s.key: s for s in db.session.scalars(select(Stage).where(Stage.key.in_(present)))}
        order = sorted(present, key=lambda k: (stages[k].position if k in stages else 1 << 30, k))
        rows = [(k, k, stages[k].name if k in stages else k) for k in order]
    elif group_by == "rep":
        names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(present))).all())
        rows = [(k, k, names.get(k, "—")) for k in sorted(present, key=lambda k: names.get(k, ""))]
    elif group_by == "kind":  # grouped by id, shown by key
        kinds = db.session.execute(select(OpportunityKind.id, OpportunityKind.key, OpportunityKind.name)
                                   .where(OpportunityKind.id.in_(present)).order_by(OpportunityKind.id)).all()
        rows = [(i, key, name) for i, key, name in kinds]
    else:
        rows = [(k, k, k) for k in sorted(present)]
    return rows + [(None, None, "—")] * (None in keys)


def forecast(user: User | None, *, group_by: str = "month", currency: str | None = None,
             filters: Filters | None = None, on: date | None = None) -> dict:
    """Open opportunities' amount and weighted amount (amount × probability / 100), grouped and converted."""
    if group_by not in GROUP_BY:
        raise ValidationFailed(gettext("Unknown grouping"), {"group_by": [gettext("Use one of %(items)s.",
                                                                                  items=', '.join(GROUP_BY))]})
    filters = filters or Filters.for_user(user)
    currency = (currency or default_currency()).upper()
    rates = Rates(on or now().date())
    key = _group_column(group_by).label("key")
    rows = db.session.execute(
        select(key, Opportunity.currency, func.count(), func.sum(Opportunity.amount),
               func.sum(Opportunity.amount * Opportunity.probability))
        .where(*filters.conditions()).group_by(key, Opportunity.currency)
    ).all()
    totals: dict = {}
    for group, source, count, amount, weighted in rows:
        entry = totals.setdefault(group, {"count": 0, "amount": Decimal(0), "weighted": Decimal(0)})
        entry["count"] += count
        entry["amount"] += rates.convert(to_money(amount), source, currency)
        entry["weighted"] += rates.convert(to_money(Decimal(str(weighted or 0)) / 100), source, currency)
    groups = [{"key": shown, "label": label, **totals[k]}
              for k, shown, label in _ordered_groups(group_by, list(totals))]
    return {
        "currency": currency,
        "group_by": group_by,
        "total_amount": sum((g["amount"] for g in groups), Decimal("0.00")),
        "weighted_total": sum((g["weighted"] for g in groups), Decimal("0.00")),
        "groups": groups,
    }


def board_sums(kind_id: int, *conditions: ColumnElement) -> dict[str, list[tuple]]:
    """Each stage's open deals of a kind (narrowed by `conditions`, as the board's viewer narrows them) summed by
    the database per currency — (currency, count, amount, amount × probability) — as the forecast sums them, so a
    column of 10,000 deals is not loaded to be counted."""
    # summed per probability too, and weighted here: the few rows that makes (stages × currencies × a handful of
    # probabilities) cost less than multiplying every deal's amount by its probability in numeric arithmetic
    summed: dict[tuple[str, str], list] = {}
    for stage, currency, probability, count, amount in db.session.execute(
            select(Opportunity.stage, Opportunity.currency, Opportunity.probability, func.count(),
                   func.sum(Opportunity.amount))
            .where(Opportunity.kind_id == kind_id, Opportunity.closed.is_(False), Opportunity.archived_at.is_(None),
                   *conditions)
            .group_by(Opportunity.stage, Opportunity.currency, Opportunity.probability)):
        entry = summed.setdefault((stage, currency), [0, None, None])
        entry[0] += count
        if amount is not None:
            amount = Decimal(str(amount))
            entry[1] = amount + (entry[1] or 0)
            entry[2] = amount * Decimal(str(probability or 0)) + (entry[2] or 0)
    sums: dict[str, list[tuple]] = {}
    for (stage, currency), (count, amount, weighted) in summed.items():
        sums.setdefault(stage, []).append((currency, count, amount, weighted))
    return sums


def summed_totals(rows: list[tuple], currency: str, rates: Rates) -> dict:
    """A column's total and weighted total in one currency from board_sums' rows; ValidationFailed (naming
    `currency`) when a rate is missing."""
    total = sum((rates.convert(to_money(amount), source, currency) for source, _, amount, _ in rows),
                Decimal("0.00"))
    weighted = sum((rates.convert(to_money(Decimal(str(w or 0)) / 100), source, currency) for source, _, _, w in rows),
                   Decimal("0.00"))
    return {"total": total, "weighted": weighted}


# -- snapshots: forecast vs actual -----------------------------------------------------------------
@service
def take_snapshot(currency: str | None = None, *, force: bool = False) -> ForecastSnapshot | None:
    """Copy the next twelve months' forecast by month; once a week (unless forced)."""
    taken_at = now()
    if not force:
        week_start = midnight(taken_at.date() - timedelta(days=taken_at.weekday()))  # Monday 00:00 UTC
        if db.session.scalar(select(ForecastSnapshot.id).where(ForecastSnapshot.taken_at >= week_start).limit(1)):
            return None
    start = taken_at.date().replace(day=1)
    end = start + relativedelta(months=SNAPSHOT_MONTHS, days=-1)
    result = forecast(None, group_by="month", currency=currency, filters=Filters(from_=start, to=end))
    snapshot = ForecastSnapshot(
        taken_at=taken_at, currency=result["currency"], period_start=start, period_end=end,
        total_amount=result["total_amount"], weighted_total=result["weighted_total"],
        groups=[{"key": g["key"], "count": g["count"], "amount": str(g["amount"]), "weighted": str(g["weighted"])}
                for g in result["groups"]],
    )
    db.session.add(snapshot)
    return snapshot


def forecast_vs_actual(user: User | None, *, period: str = "quarter", currency: str | None = None,
                       periods: int = 4) -> list[dict]:
    """For the last `periods` periods and the current one: the latest snapshot taken before the period began
    (its forecast for the months in the period) beside what was actually won in it."""
    if period not in ("month", "quarter"):
        raise ValidationFailed(gettext("Unknown period"), {"period": [gettext("Use month or quarter.")]})
    currency = (currency or default_currency()).upper()
    today = now().date()
    rates = Rates(today)
    step = relativedelta(months=1 if period == "month" else 3)
    start, _ = period_bounds(period_of(today, period))
    rows = []
    for back in range(periods, -1, -1):
        p_start = start - step * back
        p_end = p_start + step - timedelta(days=1)
        key = period_of(p_start, period)
        rows.append({"period": key, "start": p_start, "end": p_end, **_snapshot_forecast(p_start, p_end, currency,
                                                                                        rates),
                     "won": _won_in(user, p_start, p_end, currency, rates)})
    return rows


def _snapshot_forecast(p_start: date, p_end: date, currency: str, rates: Rates) -> dict:
    snapshot = db.session.scalar(
        select(ForecastSnapshot).where(ForecastSnapshot.taken_at < midnight(p_start))
        .order_by(ForecastSnapshot.taken_at.desc()).limit(1))
    if snapshot is None:
        return {"snapshot_taken_at": None, "forecast_amount": None, "forecast_weighted": None}
    amount = weighted = Decimal(0)
    for group in snapshot.groups:
        if group["key"] and p_start <= period_bounds(group["key"])[0] <= p_end:
            amount += Decimal(group["amount"])
            weighted += Decimal(group["weighted"])
    return {"snapshot_taken_at": snapshot.taken_at,
            "forecast_amount": rates.convert(amount, snapshot.currency, currency),
            "forecast_weighted": rates.convert(weighted, snapshot.currency, currency)}


def midnight(day: date) -> datetime:
    """The start of a day, UTC (datetime columns compared with a date range)."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _won_in(user: User | None, p_start: date, p_end: date, currency: str, rates: Rates) -> Decimal:
    filters = Filters.for_user(user, status="won", from_=p_start, to=p_end)
    rows = db.session.execute(select(Opportunity.currency, func.sum(Opportunity.amount))
                              .where(*filters.conditions(Opportunity.resolved_date))
                              .group_by(Opportunity.currency)).all()
    return sum((rates.convert(to_money(amount), source, currency) for source, amount in rows), Decimal("0.00"))


