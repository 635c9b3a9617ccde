"""Reads that stay cheap as the data grows (issue #17 item 3), on both backends: the task list, the deal list and
the pipeline board send the same number of SQL statements for a few deals as for many (no query per row), and a
board column shows its first cards with a link to the rest while its count and totals cover every deal in it.
Counts, never times: bench/reads.py measures the times at 100,000 deals."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from som_flow.extensions import db
from som_flow.services import opportunities
from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def people(app):
    make_user("manager@x.test", "manager")
    rep = make_user("rep@x.test", "rep")
    return {"rep": rep, "manager": Api(app.test_client(), "manager@x.test"), "me": Api(app.test_client(), "rep@x.test")}


def add_deals(people, count: int, first: int = 0) -> list[int]:
    """`count` deals, each of its own customer and rep, with a task for the rep on each."""
    ids = []
    for i in range(first, first + count):
        customer = make_customer(f"Customer {i}")
        rep = make_user(f"rep{i}@x.test", "rep")
        r = people["manager"].post("/opportunities", {"title": f"Deal {i}", "customer_id": customer.id,
                                                       "kind": "standard-sale", "amount": "1000.00",
                                                       "sales_rep": rep.id})
        assert r.status_code == 201, r.json
        ids.append(r.json["id"])
        r = people["manager"].post("/tasks", {"title": f"Call customer {i}", "opportunity_id": r.json["id"],
                                              "assignee_id": people["rep"].id})
        assert r.status_code == 201, r.json
    return ids


def statements(call) -> int:
    """How many statements one request sends to the database, once the process's caches are warm: the first request
    after writes reloads the signed-in user and the kind's version once, whatever the number of deals, and which
    request pays for that depends on what ran before it. The setting around a read planned once a connection
    (services/plans.py: on PostgreSQL, a SET LOCAL before and after it) is not counted: it reads nothing."""
    assert call().status_code == 200
    seen = []

    def count(_conn, _cursor, statement, *_args):
        if not statement.startswith("SET LOCAL plan_cache_mode"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = call()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(seen)


def test_the_task_list_sends_as_many_statements_for_thirty_tasks_as_for_three(app, people):
    add_deals(people, 3)
    few = statements(lambda: people["me"].get("/tasks?assignee=me"))
    assert people["me"].get("/tasks?assignee=me").json["total"] == 3
    add_deals(people, 27, first=3)
    many = statements(lambda: people["me"].get("/tasks?assignee=me"))
    assert people["me"].get("/tasks?assignee=me").json["total"] == 30
    assert many == few


def test_the_deal_list_and_the_board_send_as_many_statements_for_many_deals_as_for_two(app, client, people):
    add_deals(people, 2)
    login(client, "manager@x.test")
    few = {path: statements(lambda p=path: client.get(p)) for path in ("/opportunities", "/pipeline")}
    add_deals(people, 12, first=2)
    many = {path: statements(lambda p=path: client.get(p)) for path in ("/opportunities", "/pipeline")}
    assert many == few
    # the board's cards come with their customers' and reps' names in one statement (17 before, when the customers
    # and the reps were loaded after the cards), and its currencies from the request's one read of the catalogs
    assert few["/pipeline"] <= 14, few
    listed = client.get("/opportunities").get_data(as_text=True)
    assert "Customer 13" in listed and "Rep13" in listed  # each row's customer and rep, loaded in bulk


def test_the_apis_deal_list_sends_as_many_statements_for_many_deals_as_for_two(app, people):
    """Each deal in the API's list carries its open tasks, its qualification and its next activity: read for the
    page at once (it was two statements a deal, 100 more for a page of 50)."""
    add_deals(people, 2)
    few = statements(lambda: people["manager"].get("/opportunities"))
    add_deals(people, 12, first=2)
    many = statements(lambda: people["manager"].get("/opportunities"))
    assert many == few
    listed = people["manager"].get("/opportunities").json["items"]
    assert len(listed) == 14
    for deal in listed:  # each deal's own open tasks: the task added to it (assigned to the rep) among them
        assert f"Call customer {deal['title'].split()[-1]}" in {t["title"] for t in deal["open_tasks"]}, deal
        assert deal["qualified"] is False and deal["qualified_why"]
    one = people["manager"].get(f"/opportunities/{listed[5]['id']}").json  # as the deal alone reads them
    assert {k: listed[5][k] for k in ("open_tasks", "qualified", "qualified_why", "next_activity")} == \
        {k: one[k] for k in ("open_tasks", "qualified", "qualified_why", "next_activity")}


def test_a_long_board_column_shows_its_first_cards_and_counts_and_sums_them_all(app, client, people, monkeypatch):
    monkeypatch.setattr(opportunities, "BOARD_PAGE_CARDS", 3)  # the page's cards a column (the API: BOARD_CARDS)
    add_deals(people, 5)
    login(client, "manager@x.test")
    html = client.get("/pipeline?kind=standard-sale&currency=USD").get_data(as_text=True)
    lead = html[html.index('data-stage="lead"'):]
    lead = lead[:lead.index("</section>")]
    assert lead.count('class="card-item"') == 3
    assert re.search(r'<span class="count">5</span> · \$5,000.00 · weighted', lead)
    assert "2 more in the list" in lead
    more = re.search(r'<a class="more" href="([^"]+)"', lead).group(1).replace("&amp;", "&")
    assert client.get(more).get_data(as_text=True).count("Deal ") >= 5  # the list shows every deal of the stage


def plan(call, marker: str) -> str:
    """The database's plan for the statement of a request that contains `marker` (on PostgreSQL with sequential
    scans off: a table of a few rows is read whole whatever the indexes, 100,000 are not)."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert call().status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    statement, parameters = next((s, p) for s, p in seen if marker in s)
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
        else:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return "\n".join(str(row) for row in rows)


def test_the_task_list_and_the_board_read_the_partial_indexes_of_migration_0012(app, client, people):
    add_deals(people, 2)
    # the task list leaves out archived deals' tasks from the few archived deals, not from every deal
    assert "ix_opportunity_archived" in plan(lambda: people["me"].get("/tasks?assignee=me"), "archived_at IS NOT")
    login(client, "manager@x.test")
    # the board's column sums read only the open deals of the kind, in the order they are summed (0016_board_sums):
    # no hashing or sorting of 10,000 rows
    sums = plan(lambda: client.get("/pipeline"), "sum(opportunity.amount")
    assert "ix_opportunity_board_sums" in sums, sums
    if db.engine.dialect.name == "postgresql":
        assert "HashAggregate" not in sums and "Sort" not in sums, sums
    else:
        assert "TEMP B-TREE" not in sums, sums
    # and each column's first cards, a LIMITed range of it per stage (not a window over every open deal)
    cards = plan(lambda: client.get("/pipeline"), "UNION ALL")
    assert "ix_opportunity_board" in cards and "WindowAgg" not in cards


def test_a_page_of_my_tasks_is_read_in_order_from_the_task_list_index(app, people):
    add_deals(people, 3)
    page = plan(lambda: people["me"].get("/tasks?assignee=me"), "LIMIT")
    # ix_task_assignee_list holds the list's order, so the page stops at its last row instead of sorting every open
    # task of the person (572 of them in bench/reads.py; the sort made the read 16 ms there, 1 ms without)
    assert "ix_task_assignee_list" in page
    if db.engine.dialect.name == "postgresql":
        assert "Sort" not in page, page


def test_my_open_deals_are_read_from_the_reps_open_deals_index(app, client, people):
    add_deals(people, 2)
    login(client, "rep0@x.test")
    # the rep's own open deals, newest first, without walking every deal of the company (bench/reads.py: 10.5 ms
    # for 19,351 deals read to find 50 of them; 0.6 ms from the index)
    page = plan(lambda: client.get("/opportunities?assignee=me&status=open"), "ORDER BY opportunity.id DESC")
    assert "ix_opportunity_rep_open" in page, page
