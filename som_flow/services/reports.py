"""The pipeline report, read from the Event history: win rates, funnel, time in stage, lost reasons, stuck and
overdue deals — and the suggested probability. Every aggregate is one SQL statement; Python only labels rows.
Stage history comes from StageStay (one row per visit, plain indexed columns), not from the Event JSON: parsing
JSON per row made the funnel ~1 s over 60,000 events on SQLite."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import isodate
from sqlalchemy import and_, case, func, literal, or_, select

from som_flow.extensions import UTCDateTime, db
from som_flow.models import KindVersion, Opportunity, OpportunityKind, Stage, StageStay, User
from som_flow.services.forecast import CENT, Filters, Rates, days_between, default_currency, midnight, to_money
from som_flow.services.reference import kept
from som_flow.services.unit_of_work import now

# fewer decided deals than this and a suggestion would be noise
SUGGESTION_MIN_SAMPLE = 5
SUGGESTION_REFINED_SAMPLE = 20


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _decided(filters: Filters) -> list:
    """Conditions for deals won or lost within the report's date range (by resolved date)."""
    return Filters(from_=filters.from_, to=filters.to, rep=filters.rep, kind=filters.kind,
                   status="all").conditions(Opportunity.resolved_date) + [Opportunity.status.in_(("won", "lost"))]


def _win_rates(counts: dict, label: str) -> list[dict]:
    """[{label: key, won, decided, win_rate}] from {key: [won, decided]}, sorted with None last."""
    return [{label: key, "won": w, "decided": n, "win_rate": _ratio(w, n)}
            for key, (w, n) in sorted(counts.items(), key=lambda kv: (kv[0] is None, str(kv[0])))]


def _stage_order(filters: Filters) -> list[dict]:
    """The stages the report walks, in process order: the kind's when one is chosen, else the catalog's."""
    if filters.kind:
        kind = db.session.scalar(select(OpportunityKind).where(OpportunityKind.key == filters.kind))
        if kind is not None and kind.current_version is not None:
            return [{"key": s["key"], "name": s.get("name", s["key"])} for s in kind.current_version.stages]
    return [{"key": s.key, "name": s.name} for s in db.session.scalars(select(Stage).order_by(Stage.position))]


def _stay_scope(filters: Filters) -> tuple[list, bool]:
    """Conditions on StageStay for the report's filters, and whether they need the Opportunity join."""
    where = []
    if filters.from_ is not None:
        where.append(StageStay.entered_at >= midnight(filters.from_))
    if filters.to is not None:
        where.append(StageStay.entered_at < midnight(filters.to + timedelta(days=1)))
    if filters.rep is not None:
        where.append(Opportunity.sales_rep_id == filters.rep)
    if filters.kind:
        kind_id = db.session.scalar(select(OpportunityKind.id).where(OpportunityKind.key == filters.kind))
        where.append(Opportunity.kind_id == (kind_id or -1))
    return where, filters.rep is not None or bool(filters.kind)


def funnel(filters: Filters, stages: list[dict]) -> list[dict]:
    """Per stage: the deals that first entered it in the period, how many of those ever left it forward or were
    won from it, the share, and the average days per visit begun in the period (a current visit counts up to
    now). Plain sums over flags the projection keeps (StageStay.first_visit / advanced), not COUNT(DISTINCT)."""
    where, join = _stay_scope(filters)
    first = case((StageStay.first_visit, 1), else_=0)
    forward = case((and_(StageStay.first_visit, StageStay.advanced), 1), else_=0)
    days = func.coalesce(StageStay.days, days_between(literal(now(), UTCDateTime()), StageStay.entered_at))
    query = select(StageStay.stage, func.sum(first), func.sum(forward), func.avg(days))
    if join:
        query = query.join(Opportunity, Opportunity.id == StageStay.opportunity_id)
    found = {stage: (n_in or 0, n_on or 0, avg) for stage, n_in, n_on, avg in
             db.session.execute(query.where(*where).group_by(StageStay.stage)).all()}
    rows = []
    for stage in stages:
        n_in, n_on, avg = found.get(stage["key"], (0, 0, None))
        rows.append({"stage": stage["key"], "name": stage["name"], "entered": int(n_in), "advanced": int(n_on),
                     "conversion": _ratio(int(n_on), int(n_in)),
                     "average_days_in_stage": round(float(avg), 1) if avg is not None else None})
    return rows


def stage_slas(kind_id: int | None = None) -> dict[tuple[int, str], timedelta]:
    """SLA per (kind version, stage), of every kind or of one: the kind's own SLA, else the stage catalog's
    `sla_days` (kept between requests: services/reference.py)."""
    return dict(kept(("slas", kind_id), lambda: _stage_slas(kind_id)))


def _stage_slas(kind_id: int | None) -> dict[tuple[int, str], timedelta]:
    catalog = {key: timedelta(days=d) for key, d in db.session.execute(
        select(Stage.key, Stage.sla_days).where(Stage.sla_days.is_not(None))).all()}
    slas = {}
    versions = select(KindVersion.id, KindVersion.stages)
    if kind_id is not None:
        versions = versions.where(KindVersion.kind_id == kind_id)
    for version_id, stages in db.session.execute(versions).all():
        for stage in stages or []:
            raw = stage.get("sla")
            sla = isodate.parse_duration(raw) if raw else catalog.get(stage["key"])
            if isinstance(sla, timedelta):
                slas[(version_id, stage["key"])] = sla
    return slas


def stuck(filters: Filters) -> list[int]:
    """Open deals in a stage longer than its SLA, unless a follow-up is planned from today on."""
    at, today = now(), now().date()
    by_cutoff: dict = {}
    for (version_id, stage), sla in stage_slas().items():
        by_cutoff.setdefault((stage, at - sla), []).append(version_id)
    if not by_cutoff:
        return []
    late = or_(*(and_(Opportunity.stage == stage, Opportunity.kind_version_id.in_(versions),
                      Opportunity.stage_entered_at < cutoff) for (stage, cutoff), versions in by_cutoff.items()))
    open_filters = Filters(rep=filters.rep, kind=filters.kind, status="open")
    return list(db.session.scalars(
        select(Opportunity.id).where(*open_filters.conditions(), Opportunity.status == "in_progress", late,
                                     or_(Opportunity.follow_up_date.is_(None), Opportunity.follow_up_date < today))
        .order_by(Opportunity.stage_entered_at, Opportunity.id)))


def overdue(filters: Filters) -> list[int]:
    """Open deals whose anticipated close date has passed, the longest overdue first (then the oldest deal: deals
    due the same day come in the same order on every page and export, whatever plan the database picks)."""
    open_filters = Filters(rep=filters.rep, kind=filters.kind, status="open")
    return list(db.session.scalars(
        select(Opportunity.id).where(*open_filters.conditions(),
                                     Opportunity.anticipated_close_date < now().date())
        .order_by(Opportunity.anticipated_close_date, Opportunity.id)))


def pipeline_report(user: User | None, *, filters: Filters | None = None, currency: str | None = None) -> dict:
    filters = filters or Filters.for_user(user, status="all")
    currency = (currency or default_currency()).upper()
    rates = Rates(now().date())
    # one scan of the decided deals, grouped finely; the win rates, lost reasons and averages fold from it
    rows = db.session.execute(
        select(Opportunity.status, Opportunity.currency, Opportunity.sales_rep_id, Opportunity.kind_id,
               Opportunity.marketing_source, Opportunity.reason, func.count(), func.sum(Opportunity.amount),
               func.sum(days_between(Opportunity.resolved_date, Opportunity.opened_on)))
        .where(*_decided(filters))
        .group_by(Opportunity.status, Opportunity.currency, Opportunity.sales_rep_id, Opportunity.kind_id,
                  Opportunity.marketing_source, Opportunity.reason)).all()
    won = lost = 0
    won_amount, cycle_days = Decimal(0), 0.0
    by: dict[str, dict] = {"rep": {}, "kind": {}, "source": {}}
    reasons: dict = {}
    for status, source, rep, kind, channel, reason, count, amount, days in rows:
        cycle_days += float(days or 0)
        if status == "won":
            won += count
            won_amount += rates.convert(to_money(amount), source, currency)
        else:
            lost += count
            reasons[reason] = reasons.get(reason, 0) + count
        for label, key in (("rep", rep), ("kind", kind), ("source", channel)):
            tally = by[label].setdefault(key, [0, 0])
            tally[0] += count if status == "won" else 0
            tally[1] += count
    names = dict(db.session.execute(select(User.id, User.name)).all())
    kinds = dict(db.session.execute(select(OpportunityKind.id, OpportunityKind.key)).all())
    by_rep = _win_rates(by["rep"], "rep")
    for row in by_rep:
        row["name"] = names.get(row["rep"], "unassigned")
    by_kind = _win_rates({kinds.get(k): v for k, v in by["kind"].items()}, "kind")
    return {
        "currency": currency,
        "win_rate": _ratio(won, won + lost),
        "won": won,
        "lost": lost,
        "average_won_amount": (won_amount / won).quantize(CENT) if won else Decimal("0.00"),
        "average_cycle_days": round(cycle_days / (won + lost), 1) if won + lost else 0.0,
        "win_rate_by": {"rep": by_rep, "kind": by_kind, "source": _win_rates(by["source"], "source")},
        "funnel": funnel(filters, _stage_order(filters)),
        "lost_reasons": [{"reason": reason, "count": count} for reason, count in
                         sorted(reasons.items(), key=lambda kv: (-kv[1], str(kv[0])))],
        "stuck": stuck(filters),
        "overdue": overdue(filters),
    }


def suggested_probability(opp: Opportunity) -> dict:
    """The won share of decided deals of the same kind that reached the same stage (narrowed to the same
    source when there are enough of those). Shown beside the deal's probability; never written to it."""
    if opp.stage is None:
        return {"percent": None, "sample": 0, "basis": "no stage"}
    reached = select(StageStay.opportunity_id).where(StageStay.stage == opp.stage)
    base = [Opportunity.kind_id == opp.kind_id, Opportunity.status.in_(("won", "lost")), Opportunity.id != opp.id,
            Opportunity.id.in_(reached)]
    won = func.sum(case((Opportunity.status == "won", 1), else_=0))

    def share(*extra) -> tuple[int, int]:
        w, n = db.session.execute(select(won, func.count()).where(*base, *extra)).one()
        return int(w or 0), int(n or 0)

    basis = f"{opp.kind.name} deals that reached {opp.stage}"
    w, n = share()
    if opp.marketing_source:
        ws, ns = share(Opportunity.marketing_source == opp.marketing_source)
        if ns >= SUGGESTION_REFINED_SAMPLE:
            w, n, basis = ws, ns, f"{basis} from source {opp.marketing_source}"
    if n < SUGGESTION_MIN_SAMPLE:
        return {"percent": None, "sample": n, "basis": f"too few decided {basis} ({n} < {SUGGESTION_MIN_SAMPLE})"}
    return {"percent": round(100 * w / n), "sample": n, "basis": basis}
