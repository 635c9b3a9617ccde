"""One service call = one transaction; timestamps come from the app's clock."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import ParamSpec, TypeVar

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.exc import StaleDataError

from som_flow.clock import Clock
from som_flow.errors import Conflict, SomFlowError, StaleVersion
from som_flow.extensions import WRITE_TRANSACTION, db
from som_flow.i18n import gettext
from som_flow.models import User
from som_flow.models.base import Timestamped
from som_flow.services.signals import service_finished

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
_INSTALLED = False
# PostgreSQL's deadlock_detected and serialization_failure: another writer won; the caller may simply retry
_LOST_RACE = {"40P01", "40001"}


def clock() -> Clock:
    return current_app.extensions["som_clock"]


def now() -> datetime:
    return clock().now()


def _stamp(session: Session, _ctx, _instances) -> None:
    if not has_app_context():
        return
    at = now()
    for obj in session.new:
        if isinstance(obj, Timestamped):
            obj.created_at = obj.created_at or at
            obj.updated_at = obj.updated_at or at
    for obj in session.dirty:
        if isinstance(obj, Timestamped) and session.is_modified(obj, include_collections=False):
            obj.updated_at = at


def _flushed(session: Session, _ctx) -> None:
    session.info["som_flushed"] = True


def _executed(state: ORMExecuteState) -> None:
    # a Core INSERT, UPDATE or DELETE through the session writes without a flush
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["som_flushed"] = True


def _ended(session: Session) -> None:
    session.info["som_flushed"] = False
    session.info.pop("som_transaction", None)


def wrote(session: Session) -> bool:
    """Whether the session's open transaction has written, or holds changes it will write (or is a service's)."""
    return bool(session.info.get("som_in_transaction") or session.info.get("som_flushed")
                or session.new or session.dirty or session.deleted)


def transaction_info(session: Session) -> dict:
    """What is noted for the session's open transaction only: forgotten at its commit or rollback."""
    return session.info.setdefault("som_transaction", {})


def install_timestamps() -> None:
    global _INSTALLED
    if not _INSTALLED:
        event.listen(Session, "before_flush", _stamp)
        # whether the open transaction has written anything (end_read_request)
        event.listen(Session, "after_flush", _flushed)
        event.listen(Session, "do_orm_execute", _executed)
        event.listen(Session, "after_commit", _ended)
        event.listen(Session, "after_soft_rollback", lambda session, _previous: _ended(session))
        _INSTALLED = True


def end_read_request(method: str, error: BaseException | None) -> None:
    """At the end of a GET or HEAD on PostgreSQL, its read transaction is committed rather than rolled back.
    psycopg forgets every statement it has prepared at a ROLLBACK (it cannot know what the rollback undid), and it
    prepares a statement only at its fifth run on a connection: with every read ending in a rollback, no statement
    was ever prepared, and each request had the server parse and plan all of its statements afresh (generic_plan
    of services/plans.py had nothing to reuse). Only when the transaction wrote nothing (no flush, no pending
    change) and the request did not fail: anything else is rolled back as before, when the session is removed."""
    session = db.session
    if (method not in ("GET", "HEAD") or error is not None or wrote(session())
            or not session().in_transaction() or session.get_bind().dialect.name != "postgresql"):
        return
    try:
        session.commit()
    except DBAPIError as exc:  # the connection went away: the session's removal cleans up
        log.info("ending a read transaction: %s", exc.orig)


@contextmanager
def transaction() -> Iterator[Session]:
    """Commit on success, roll back on any error; nested use joins the outer transaction."""
    session = db.session
    if session.info.get("som_in_transaction"):
        yield session
        return
    session.info["som_in_transaction"] = True
    session.info["som_after_commit"] = []
    try:
        if session().in_transaction():
            # end the request's read transaction (the signed-in user, a page's lookups): a writer must start
            # from a fresh snapshot, and on SQLite with the write lock (extensions.configure_sqlite)
            _end_read(session())
        session.connection(execution_options={WRITE_TRANSACTION: True})
        yield session
        session.commit()
        for action in session.info["som_after_commit"]:
            action()
    except StaleDataError:
        session.rollback()
        raise StaleVersion(gettext("The opportunity was changed by someone else; reload and try again."))
    except IntegrityError as exc:
        session.rollback()
        log.info("integrity error: %s", exc.orig)
        raise Conflict(gettext("That conflicts with existing data (a duplicate or a missing reference)."))
    except DBAPIError as exc:
        session.rollback()
        if getattr(exc.orig, "sqlstate", None) in _LOST_RACE:
            log.info("lost a race in the database: %s", exc.orig)
            raise Conflict(gettext("Someone else changed the same records at the same moment; try again."))
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info["som_in_transaction"] = False
        session.info["som_after_commit"] = []


def _end_read(session: Session) -> None:
    """Commit the read transaction. What it read is read again on its next use, as after any commit, except the
    people: the signed-in user read a moment ago by this request is the one it acts as (one SELECT fewer per write;
    a change to a person's roles in those milliseconds is one the request came before)."""
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire
    if expire:
        for obj in list(session.identity_map.values()):
            if not isinstance(obj, User):
                session.expire(obj)


def expire_held(model: type, ids: Iterable | None = None) -> None:
    """Rows of `model` (those of `ids`, or all) written with plain (Core) statements: copies the session holds
    (read earlier in this transaction) are read again on their next use, never stale. A copy with changes not yet
    sent is left as it is: expiring it would lose them."""
    wanted = None if ids is None else set(ids)
    for state in list(db.session.identity_map.all_states()):
        obj = state.obj()
        if (obj is not None and isinstance(obj, model) and not state.modified
                and (wanted is None or state.identity[0] in wanted)):
            db.session.expire(obj)


def after_commit(action: Callable[[], None]) -> None:
    """Run `action` once the current transaction has committed (never if it rolls back, or outside one)."""
    if db.session.info.get("som_in_transaction"):
        db.session.info["som_after_commit"].append(action)


def service(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a service function as one transaction (and announce how long it took, for the metrics)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started, outcome = time.perf_counter(), "error"
        try:
            with transaction():
                result = fn(*args, **kwargs)
            outcome = "ok"
            return result
        except SomFlowError:
            outcome = "refused"
            raise
        finally:
            service_finished.send(fn.__name__, seconds=time.perf_counter() - started, outcome=outcome)

    return wrapper
