"""Reads planned once per connection, not on every request: PostgreSQL's generic plan of a prepared statement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

from som_flow.extensions import db

# on a connection's info while its transaction has plan_cache_mode forced: "inside" a generic_plan block, or "after"
# one, when the setting is put back before the connection's next statement (a request that ends there never sends it)
_FORCED = "som_generic_plan"


@contextmanager
def generic_plan() -> Iterator[None]:
    """The statements run inside use the generic plan of their prepared statement (psycopg prepares a statement on
    its fifth run on a connection), planned once rather than at each run: planning the task list's six-table page
    took 1.6–2.5 ms of its 3 ms at 100,000 deals (bench/reads.py). Only for reads whose best plan is the same
    whatever the values (a page of one person's tasks from its index, a board column's first cards by kind and
    stage): the opportunity list's plan depends on how many deals match, and a generic one made it 3× slower.
    Nothing on SQLite. Not nested. The setting is the transaction's own (SET LOCAL): it is put back before the next
    statement outside the block, and not at all when the transaction ends first (a read request's page is most
    often its last statement: one round trip fewer); a rollback undoes it with the rest."""
    if db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    # as driver SQL: no statement to compile, no result to build (the ORM's execute cost more than the round trip)
    connection = db.session.connection()
    if not connection.info.get(_FORCED):  # still forced after an earlier block: no need to say it again
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    connection.info[_FORCED] = "inside"
    try:
        yield
    finally:
        if _live(connection):  # a lost connection's own error goes on, not one about its info
            connection.info[_FORCED] = "after"


@event.listens_for(Engine, "before_cursor_execute")
def _put_back(conn, cursor, statement, parameters, context, executemany) -> None:
    """Before the first statement after a generic_plan block, the default planning again for the rest."""
    state = conn.info.get(_FORCED)
    if state == "after":
        del conn.info[_FORCED]
        conn.exec_driver_sql("SET LOCAL plan_cache_mode TO DEFAULT")  # through the connection: counted as sent
    elif state == "undoing":  # this is the ROLLBACK TO SAVEPOINT itself: the statement after it puts the setting back
        conn.info[_FORCED] = "after"


def _live(conn) -> bool:
    # a connection lost mid-transaction cannot even show its info (SQLAlchemy would try to reconnect first); the
    # pool clears a record's info when it connects again, so there is nothing to forget
    return not (conn.closed or conn.invalidated)


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _ended(conn) -> None:
    """The transaction's end ends its SET LOCAL."""
    if _live(conn):
        conn.info.pop(_FORCED, None)


@event.listens_for(Engine, "rollback_savepoint")
def _undone(conn, name, context) -> None:
    """A rollback to a savepoint may bring back a setting that was put back after it: put it back again after the
    rollback (once, harmlessly, when it was not)."""
    if conn.dialect.name == "postgresql" and _live(conn) and conn.info.get(_FORCED) != "inside":
        conn.info[_FORCED] = "undoing"
