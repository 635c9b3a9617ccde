"""Reads planned once per connection, not on every request: PostgreSQL's generic plan of a prepared statement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from som_flow.extensions import db


@contextmanager
def generic_plan() -> Iterator[None]:
    """The statements run inside use the generic plan of their prepared statement (psycopg prepares a statement on
    its fifth run on a connection), planned once rather than at each run: planning the task list's six-table page
    took 1.6–2.5 ms of its 3 ms at 100,000 deals (bench/reads.py). Only for reads whose best plan is the same
    whatever the values (a page of one person's tasks from its index, a board column's first cards by kind and
    stage): the opportunity list's plan depends on how many deals match, and a generic one made it 3× slower.
    Nothing on SQLite. Not nested. The setting is the transaction's own: when a statement inside fails, the
    rollback that follows undoes it."""
    if db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    # as driver SQL: no statement to compile, no result to build (the ORM's execute cost more than the round trip)
    connection = db.session.connection()
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    yield
    connection.exec_driver_sql("SET LOCAL plan_cache_mode TO DEFAULT")
