"""Finding an opportunity, and what a use case checks and locks before it changes one."""

from __future__ import annotations

from sqlalchemy import Update, bindparam, inspect, null, select, update
from sqlalchemy.orm import ColumnProperty
from sqlalchemy.orm.attributes import flag_modified, set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ClauseElement

from som_flow.errors import Conflict, NotFound, StaleVersion
from som_flow.extensions import db
from som_flow.i18n import N_, gettext
from som_flow.models import Opportunity
from som_flow.services.unit_of_work import now


def get_opportunity(opp_id: int) -> Opportunity:
    """The opportunity with this id. Raises NotFound."""
    opp = db.session.get(Opportunity, opp_id)
    if opp is None:
        raise NotFound(gettext("No opportunity %(opp_id)s", opp_id=opp_id))
    return opp


def lock_opportunity(opp_id: int) -> Opportunity:
    """Load the deal and lock its row until the transaction ends (PostgreSQL; SQLite's writers queue anyway).

    Whoever rewrites the stored workflow without moving the stage (a task completion, a timer) holds this lock,
    or two of them at once would each save a state without the other's step.
    """
    # a SELECT rather than `session.get`: get() loads a deal the session already holds (expired by the last commit)
    # twice, with its demand lines twice (four statements instead of two)
    opp = db.session.scalars(select(Opportunity).where(Opportunity.id == opp_id).with_for_update(key_share=True)
                             .execution_options(populate_existing=True)).one_or_none()
    if opp is None:
        raise NotFound(gettext("No opportunity %(opp_id)s", opp_id=opp_id))
    return opp


def guard_version(opp: Opportunity, expected_version: int | None) -> None:
    """Raises StaleVersion when the caller loaded another version (an If-Match) than the one stored."""
    if expected_version is not None and expected_version != opp.version:
        raise StaleVersion(
            gettext("%(number)s has changed since you loaded it (version %(expected_version)s, now %(version)s); "
                    "reload and try again.", number=opp.number, expected_version=expected_version, version=opp.version))


def bump_version(opp: Opportunity) -> None:
    """The stored workflow changed, even if no column did: move the version, so a writer holding the old one
    (an If-Match, a move that read the deal before) gets a 409 instead of saving over this change. Once per deal and
    transaction: one UPDATE moves the version, and a second would only add a statement."""
    transaction = db.session().get_transaction()
    bumped = db.session.info.get("som_bumped")
    if bumped is None or bumped[0] is not transaction:
        bumped = db.session.info["som_bumped"] = (transaction, set())
    if opp.id in bumped[1]:
        return
    if opp.id is not None:  # a deal not yet inserted gets its first version with the INSERT
        bumped[1].add(opp.id)
    opp.updated_at = now()
    flag_modified(opp, "updated_at")  # an UPDATE even when the clock has not moved (the version rides on it)


# what a closed deal refuses, in the words the refusal uses (translated where shown)
REFUSED_ON_CLOSED = (N_("change"), N_("move"), N_("win"), N_("lose"), N_("hold"), N_("assign"), N_("claim"),
                     N_("work on"), N_("add estimates to"), N_("change the estimates of"))


def require_open(opp: Opportunity, what: str = "change") -> None:
    """Raises Conflict when the deal is closed (won or lost)."""
    if opp.closed:
        raise Conflict(gettext("%(number)s is closed (%(status)s); reopen it to %(what)s it.", number=opp.number,
                               status=gettext(opp.status), what=gettext(what)))


_DEAL = Opportunity.__table__


_DEAL_UPDATES: dict[tuple[tuple[str, bool], ...], Update] = {}


def _deal_update(columns: tuple[tuple[str, bool], ...]) -> Update:
    """The deal's UPDATE of these columns (name, set to None) under its version, built once per set of columns (a
    move changes the same few each time; building and keying the statement cost more than sending it). A None is
    SQL NULL, as a plain value in `values()` is (a JSON column's bound None would be JSON null)."""
    statement = _DEAL_UPDATES.get(columns)
    if statement is None:
        new = {_DEAL.c[key]: null() if empty else bindparam(f"new_{key}", type_=_DEAL.c[key].type)
               for key, empty in columns}
        statement = (update(_DEAL)
                     .where(_DEAL.c.id == bindparam("deal_id"), _DEAL.c.version == bindparam("old_version"))
                     .values({**new, _DEAL.c.version: bindparam("new_version")}))
        if len(_DEAL_UPDATES) < 256:  # a handful in practice; bounded all the same
            _DEAL_UPDATES[columns] = statement
    return statement


def save_deal(opp: Opportunity) -> None:
    """Send the deal's changed columns now, in one UPDATE under its version, as the unit of work would (a 409 if
    another writer moved the version first), without the unit of work's per-flush cost (its dependency walk over
    every relationship of the deal: ~1 ms of a stage move). A change the unit of work must order (a relationship
    set, a deal not yet inserted) is left to it: the session's next flush."""
    state = inspect(opp)
    if not state.persistent or not state.committed_state:
        return
    values = {}
    for key in state.committed_state:
        prop = state.mapper.attrs.get(key)
        value = state.dict.get(key)
        if not isinstance(prop, ColumnProperty) or key == "version" or isinstance(value, ClauseElement):
            db.session.flush()  # (a SQL expression as a value too: the unit of work reads its result back)
            return
        values[prop.columns[0].key] = value
    version = opp.version
    params = {f"new_{key}": value for key, value in values.items() if value is not None}
    params.update(deal_id=opp.id, old_version=version, new_version=version + 1)
    statement = _deal_update(tuple(sorted((key, value is None) for key, value in values.items())))
    with db.session.no_autoflush:  # a flush now would send this deal's UPDATE through the unit of work first
        sent = db.session.execute(statement, params)
    if sent.rowcount != 1:
        raise StaleDataError(f"opportunity {opp.id}: version {version} was changed by another writer")
    set_committed_value(opp, "version", version + 1)
    # the session's copy is now what the row holds: clean, as after a flush (SQLAlchemy's own step for that; with
    # only the history reset the deal would stay in `session.dirty` and the next flush would walk it for nothing)
    state._commit_all(state.dict, db.session.identity_map)
