"""The pipeline board: a kind's open deals by stage as one viewer asks for them (mine / my team / all), each card
with the signals a manager scans for (on hold, overdue, stale against the stage's SLA, no next activity)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from itertools import compress
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, and_, false, or_, select, union_all
from sqlalchemy.orm import aliased

from som_flow.errors import SomFlowError, ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import Customer, Opportunity, OpportunityKind, User
from som_flow.services import opportunities
from som_flow.services.forecast import Rates, board_sums, summed_totals
from som_flow.services.kinds import get_kind, kind_stages, list_kinds
from som_flow.services.next_activity import without_next_activity
from som_flow.services.opportunities import moves_from
from som_flow.services.permissions import SALES_ADMINS
from som_flow.services.plans import generic_plan
from som_flow.services.reports import stage_slas
from som_flow.services.unit_of_work import now

WHO = ("mine", "team", "all")
# in the order a card shows them; the labels are the page's (the API gives the keys)
SIGNALS = ("on_hold", "overdue", "stale", "no_next_activity")


# what a card shows of its deal, read as plain columns: 200 ORM deals with their customers and reps cost more to
# load than the board's SQL. The deal's own columns keep their names; the customer's and the rep's names are added.
_CUSTOMER, _REP = aliased(Customer, name="card_customer"), aliased(User, name="card_rep")
CARD_COLUMNS = (Opportunity.id, Opportunity.number, Opportunity.title, Opportunity.version, Opportunity.amount,
                Opportunity.currency, Opportunity.probability, Opportunity.status, Opportunity.stage,
                Opportunity.kind_version_id, Opportunity.sales_rep_id, Opportunity.anticipated_close_date,
                _CUSTOMER.name.label("customer_name"), _REP.name.label("sales_rep_name"))


@dataclass(frozen=True)
class Card:
    opportunity: Row  # CARD_COLUMNS of the deal (its signals' flags after them)
    signals: tuple[str, ...]
    move_to: tuple[str, ...]  # the stages its process lets it move to now


@dataclass
class Column:
    stage: dict | None  # the kind's stage {key, name, probability}; None: a stageless kind's one list
    cards: list[Card]
    count: int  # over all its deals the viewer asked for, not only the cards shown
    total: Decimal | None  # in the board's currency; None when an exchange rate is missing
    weighted: Decimal | None


@dataclass
class Board:
    kind: OpportunityKind
    who: str
    only: str | None
    currency: str
    columns: list[Column] = field(default_factory=list)
    rate_error: str | None = None  # why the totals are missing


def default_who(user: User) -> str:
    """A rep starts on their own deals; managers, admins and the office on everyone's."""
    return "mine" if user.has_role("rep") and not user.has_role(*SALES_ADMINS, "csr") else "all"


def team(user: User):
    """The ids of the viewer's team, as a subquery: the viewer, the people who report to them, and — when they
    report to someone — that manager and everyone else who reports to the same manager (User.manager_id)."""
    same = [User.manager_id == user.id, User.id == user.id]
    if user.manager_id is not None:
        same += [User.manager_id == user.manager_id, User.id == user.manager_id]
    return select(User.id).where(or_(*same))


def _who_condition(user: User, who: str) -> ColumnElement | None:
    if who == "mine":
        return Opportunity.sales_rep_id == user.id
    if who == "team":
        return Opportunity.sales_rep_id.in_(team(user))
    return None


def signal_conditions(kind: OpportunityKind, viewer: User) -> dict[str, ColumnElement]:
    """Each signal as a SQL condition on Opportunity, so the board reads them with its cards in one statement.
    Overdue is by the viewer's calendar day; stale is time in the stage beyond the SLA of the deal's kind version
    (a stage without one is never stale) and only while the deal is worked (on hold is its own signal)."""
    at = now()
    today = at.astimezone(ZoneInfo(viewer.timezone or "UTC")).date()
    late = [and_(Opportunity.kind_version_id == version_id, Opportunity.stage == stage,
                 Opportunity.stage_entered_at < at - sla)
            for (version_id, stage), sla in stage_slas(kind.id).items()]
    return {
        "on_hold": Opportunity.status == "on_hold",
        "overdue": and_(Opportunity.anticipated_close_date.is_not(None), Opportunity.anticipated_close_date < today),
        "stale": and_(Opportunity.status == "in_progress", or_(*late)) if late else false(),
        "no_next_activity": without_next_activity(at),
    }


def _deal_filters(viewer: User, kind: OpportunityKind, who: str, only: str | None,
                  signals: dict[str, ColumnElement]) -> list[ColumnElement]:
    """The deals a board shows: the kind's open ones (the first condition, the rest narrow them) that `who` and
    `only` ask for."""
    where = [Opportunity.kind_id == kind.id, Opportunity.closed.is_(False), Opportunity.archived_at.is_(None)]
    if (mine := _who_condition(viewer, who)) is not None:
        where.append(mine)
    if only:
        where.append(signals[only])
    return where


def _board_stages(kind: OpportunityKind, stage: str | None) -> list[dict | None]:
    """The board's columns: the kind's stages, or `stage` alone; [None] for a stageless kind's one list."""
    stages = kind_stages(kind)
    if stage is None:
        return stages or [None]
    chosen = [s for s in stages if s["key"] == stage]
    if not chosen:
        message = gettext("%(kind)s has no stage %(stage)s.", kind=kind.name, stage=stage)
        raise ValidationFailed(message, {"stage": [message]})
    return chosen


def _cards(signals: dict[str, ColumnElement], where: list[ColumnElement], stages: list[dict | None], limit: int,
           after: int) -> dict[str | None, list[Card]]:
    """The oldest `limit` deals (id > `after`) of each of `stages` as cards, by stage, in one statement: their
    columns, their customers' and reps' names and their signals; their moves asked once per kind version and stage."""
    # each column's first cards by its own index range (kind, stage, id: ix_opportunity_board), one LIMITed read a
    # stage joined by UNION ALL: a window numbering every open deal of the kind read them all (69 ms at 100,000)
    later = [Opportunity.id > after] if after else []
    firsts = [select(Opportunity.id).where(*where, *later, Opportunity.stage == stage["key"] if stage
                                           else Opportunity.stage.is_(None))
              .order_by(Opportunity.id).limit(limit).subquery()
              for stage in stages]
    shown = union_all(*(select(first.c.id) for first in firsts))
    # one statement: the cards' columns, their customers' and reps' names, and their signals; planned once a
    # connection (its plan, each column's index range, is the same whatever the kind and viewer): planning it
    # took ~2 ms of its ~5 at 100,000 deals
    with generic_plan():
        rows = db.session.execute(
            select(*CARD_COLUMNS, *(condition.label(name) for name, condition in signals.items()))
            .join(_CUSTOMER, Opportunity.customer_id == _CUSTOMER.id)
            .outerjoin(_REP, Opportunity.sales_rep_id == _REP.id)
            .where(Opportunity.id.in_(shown)).order_by(Opportunity.id)).all()
    moves: dict[tuple[int, str | None], tuple[str, ...]] = {}  # asked once per (kind version, stage)
    by_stage: dict[str | None, list[Card]] = {}
    width, names = len(CARD_COLUMNS), list(signals)
    for row in rows:
        key = (row.kind_version_id, row.stage)
        if key not in moves:  # a stageless kind's deals have no stage to move from
            moves[key] = moves_from(row.kind_version_id, row.stage) if row.stage is not None else ()
        by_stage.setdefault(row.stage, []).append(Card(row, tuple(compress(names, row[width:])), moves[key]))
    return by_stage


def board(viewer: User, kind: OpportunityKind, currency: str, *, who: str | None = None, only: str | None = None,
          per_column: int | None = None, stage: str | None = None, after: int = 0) -> Board:
    """The open deals of `kind` that `viewer` asked for (`who` of WHO, default default_who; `only` one of SIGNALS),
    by stage in the kind's order: the oldest `per_column` of each (default BOARD_CARDS; with id > `after`) with
    their signals and moves, and each column's count and totals (in `currency`) over all of them; `stage`: only
    that column. Two statements whatever the number of cards (the cards with their signals, customers' and reps'
    names; the sums) besides the SLAs and rates. Raises ValidationFailed for a stage the kind does not have."""
    who = who or default_who(viewer)
    signals = signal_conditions(kind, viewer)
    where = _deal_filters(viewer, kind, who, only, signals)
    stages = _board_stages(kind, stage)
    by_stage = _cards(signals, where, stages, per_column or opportunities.BOARD_CARDS, after)
    result = Board(kind=kind, who=who, only=only, currency=currency)
    sums, rates = board_sums(kind.id, *where[1:]), Rates(now().date())
    # a stageless kind has no columns: its deals are one list (stage None)
    for stage in stages:
        key = stage["key"] if stage else None
        rows_of = sums.get(key, [])
        try:  # totals only in one currency: a missing rate says so instead of summing USD with NOK
            totals = summed_totals(rows_of, currency, rates)
        except SomFlowError as exc:
            result.rate_error, totals = exc.errors["currency"][0], {"total": None, "weighted": None}
        result.columns.append(Column(stage=stage, cards=by_stage.get(key, []),
                                     count=sum(count for _, count, _, _ in rows_of), **totals))
    return result


def column_cards(viewer: User, kind: OpportunityKind, stage: str | None, *, who: str | None = None,
                 only: str | None = None, after: int = 0, limit: int = opportunities.BOARD_PAGE_CARDS) -> list[Card]:
    """The cards of one column of the board (`stage`; None: a stageless kind's one list) with id > `after`, oldest
    first, at most `limit`: what the board's "Show more" adds, by the board's own rules (who, only, signals, moves;
    closed and archived deals left out). Raises ValidationFailed for a stage the kind does not have."""
    who = who or default_who(viewer)
    signals = signal_conditions(kind, viewer)
    if stage is None and kind_stages(kind):
        message = gettext("Say which stage of %(kind)s.", kind=kind.name)
        raise ValidationFailed(message, {"stage": [message]})
    (column,) = _board_stages(kind, stage) if stage is not None else [None]
    return _cards(signals, _deal_filters(viewer, kind, who, only, signals), [column], limit, after).get(
        column["key"] if column else None, [])


def board_kinds() -> list[OpportunityKind]:
    """The kinds a board can show, the one most people mean first: standard, then custom, then stageless."""
    order = {"standard": 0, "custom": 1, "stageless": 2}
    return sorted(list_kinds(), key=lambda k: order.get(k.type, 3))


def board_kind(key: str | None, kinds: list[OpportunityKind] | None = None) -> OpportunityKind | None:
    """The kind `key` (NotFound if none), or without one the first of board_kinds (None when there is none);
    `kinds`: board_kinds() when the caller has read them already."""
    if key:
        return get_kind(key)
    shown = board_kinds() if kinds is None else kinds
    return shown[0] if shown else None
