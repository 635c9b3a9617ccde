"""How a read request ends (services/unit_of_work.end_read_request): on PostgreSQL a GET that wrote nothing commits its
transaction instead of rolling it back, so the statements psycopg prepared on the connection survive to the next
request (a ROLLBACK makes psycopg forget them all); anything that wrote, failed or was not a GET is rolled back as
before. Issue #17 item 3: the task list planned once a connection."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from som_flow.extensions import db
from som_flow.models import Customer
from som_flow.services.plans import generic_plan
from som_flow.services.unit_of_work import end_read_request
from tests.helpers import Api, login, make_customer, make_user


def _name_elsewhere(customer_id: int) -> str:
    """The customer's name as committed, read on a connection of its own."""
    with db.engine.connect() as conn:
        return conn.execute(select(Customer.name).where(Customer.id == customer_id)).scalar_one()


def assert_planned_once(get, statement_like: str) -> None:
    """Seven requests by `get`, then the pooled connection's prepared statement like `statement_like`: prepared and
    planned once (generic), though every request ended (no ROLLBACK threw it away), and the connection's setting
    the server's default again (the generic plan was for that statement only)."""
    for _ in range(7):  # psycopg prepares a statement at its fifth run on a connection
        assert get().status_code == 200
    db.session.remove()  # the test's own session: the next read takes the pool's one connection, as a request does
    plans = db.session.execute(text("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                                    "WHERE statement LIKE :like"), {"like": statement_like}).all()
    assert plans and plans[0].generic_plans >= 1 and plans[0].custom_plans == 0, plans
    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "auto"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_task_lists_plan_outlives_the_request_that_made_it(app):
    make_user("rep@x.test", "rep")
    me = Api(app.test_client(), "rep@x.test")
    assert_planned_once(lambda: me.get("/tasks?assignee=me"), "SELECT task.id%")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_boards_cards_are_planned_once_a_connection(app):
    make_user("manager@x.test", "manager")
    client = app.test_client()
    login(client, "manager@x.test")
    assert_planned_once(lambda: client.get("/pipeline"), "%UNION ALL%")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_generic_plan_is_the_transactions_own_and_put_back(app):
    with generic_plan():
        assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "force_generic_plan"
    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "auto"  # put back before the next statement
    with generic_plan():  # a second block in the same transaction sets it again
        assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "force_generic_plan"
    db.session.commit()  # the transaction ends while the setting is still on: the next one starts with the default
    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "auto"
    with generic_plan():
        savepoint = db.session.begin_nested()
        db.session.execute(text("SELECT 1"))  # the savepoint is sent with it, while the setting is on
    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "auto"  # put back inside the savepoint
    savepoint.rollback()  # brings the setting back on: it is put back again before the next statement
    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "auto"
    db.session.rollback()
    with pytest.raises(RuntimeError), generic_plan():  # a failure inside: the rollback that follows undoes it
        raise RuntimeError("boom")
    db.session.rollback()
    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "auto"


def _lose_connection(pid: int) -> None:
    """End the session's database connection (backend `pid`) from another one, as a server restart would."""
    with db.engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        other.commit()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("where", ["inside the block", "after it"])
def test_a_connection_lost_around_generic_plan_fails_with_its_own_error_and_rolls_back(app, where):
    """The setting's bookkeeping never hides a lost connection's error or stops the rollback that follows it (on
    a lost connection SQLAlchemy refuses even to show the connection's info until the rollback). "After it": the
    first statement after the block is the one that puts the setting back, and it meets the lost connection."""
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    with pytest.raises(OperationalError):
        with generic_plan():
            if where == "inside the block":
                _lose_connection(pid)
                db.session.execute(text("SELECT 1"))
        _lose_connection(pid)
        db.session.execute(text("SELECT 1"))
    db.session.rollback()  # raised PendingRollbackError from the transaction-end hook before the guard
    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "auto"  # a new connection, as it should


@pytest.mark.parametrize("method, error, wrote, committed", [
    ("GET", None, None, True),  # a read: committed (on PostgreSQL; SQLite ends it as before)
    ("HEAD", None, None, True),
    ("GET", None, "flushed", False),  # a change written but not committed by a service: never kept by a read
    ("GET", None, "pending", False),
    ("GET", RuntimeError("boom"), None, False),  # the request failed
    ("POST", None, None, False),  # writes go through services, which commit their own transactions
])
def test_only_a_read_that_wrote_nothing_is_committed(app, method, error, wrote, committed):
    customer = make_customer("Acme Inc.")
    assert db.session.get(Customer, customer.id) is not None  # a read transaction is open
    if wrote:
        customer.name = "Changed by mistake"
        if wrote == "flushed":
            db.session.flush()
    in_transaction = db.session().in_transaction()
    end_read_request(method, error)
    ended = not db.session().in_transaction()
    assert ended == (committed and db.engine.dialect.name == "postgresql") and in_transaction
    db.session.rollback()  # what removing the session at the end of the request does to whatever is left
    assert _name_elsewhere(customer.id) == "Acme Inc."  # nothing the request changed was kept
    assert db.session.get(Customer, customer.id).name == "Acme Inc."
