"""Reference data kept between requests (services/reference.py): the stages, catalog entries, exchange rates and kind
versions a page reads are kept in each process and read again only when a trigger has moved the reference version
on — so a change by an admin, by another process, or by plain SQL shows at the next request, and a change rolled back
never shows. Issue #17 item 3: the board read them in six statements a request."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

import pytest
from flask_migrate import upgrade
from sqlalchemy import event, func, select, text

from som_flow import create_app
from som_flow.clock import FixedClock
from som_flow.extensions import db
from som_flow.models import CatalogEntry, ExchangeRate, KindVersion, OpportunityKind, Stage
from som_flow.models.reference import REFERENCE_TABLES, ReferenceVersion
from som_flow.services import catalogs
from som_flow.services.catalogs import EntryRow, StageRow
from som_flow.services.unit_of_work import transaction
from tests.conftest import _config
from tests.helpers import Api, login, make_customer, make_user
from tests.test_migrations import _fresh_url


def _version() -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(ReferenceVersion.version)).scalar_one()


def _board(client) -> str:
    r = client.get("/pipeline")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def _manager(app):
    make_user("admin@x.test", "admin", "manager")
    return login(app.test_client(), "admin@x.test")


def test_the_kept_copies_carry_every_column_of_their_tables(app):
    assert {f.name for f in dataclasses.fields(StageRow)} == set(Stage.__table__.columns.keys())
    assert {f.name for f in dataclasses.fields(EntryRow)} == set(CatalogEntry.__table__.columns.keys())
    proposal = next(s for s in catalogs.stage_rows() if s.key == "proposal")
    assert (proposal.name, proposal.name_in("nb"), proposal.sla_days) == ("Proposal", "Forslag", 14)
    with pytest.raises(dataclasses.FrozenInstanceError):
        proposal.name = "Changed"  # shared by every request of the process: nobody may change it


def test_a_stage_renamed_by_an_admin_shows_on_the_next_board(app):
    client = _manager(app)
    assert ">Proposal <small>" in _board(client)  # read and kept
    r = client.post("/admin/stages/proposal", data={"name": "Offer sent", "name_nb": "", "details": "",
                                                    "default_probability": "50"})
    assert r.status_code == 302
    page = _board(client)
    assert ">Offer sent <small>" in page and ">Proposal <small>" not in page


def test_a_change_by_another_process_or_by_plain_sql_shows_at_the_next_request(app, db_url, tmp_path):
    client = _manager(app)
    assert ">Proposal <small>" in _board(client)
    other = create_app(_config(db_url, tmp_path), clock=FixedClock())  # another web process on the same database
    with other.app_context():
        other_client = login(other.test_client(), "admin@x.test")
        assert ">Proposal <small>" in _board(other_client)  # kept there too
        r = other_client.post("/admin/stages/proposal", data={"name": "Offer sent", "name_nb": "",
                                                              "default_probability": "50"})
        assert r.status_code == 302
        db.session.remove()
        db.engine.dispose()
    db.session.remove()  # this process's next request starts a transaction, as a request does
    assert ">Offer sent <small>" in _board(client)
    with db.engine.begin() as conn:  # an operator in psql
        conn.execute(text("UPDATE stage SET name = 'Quote' WHERE key = 'proposal'"))
    db.session.remove()
    assert ">Quote <small>" in _board(client)


def test_an_exchange_rate_an_admin_saves_sums_the_next_board(app):
    make_user("rep@x.test", "rep")
    client = _manager(app)
    api = Api(client, "admin@x.test")
    r = api.post("/opportunities", {"title": "Fjord", "customer_id": make_customer("Northwind").id,
                                    "kind": "standard-sale", "amount": "1000.00", "currency": "USD"})
    assert r.status_code == 201, r.json
    board = client.get("/pipeline?kind=standard-sale&currency=EUR").get_data(as_text=True)
    assert "Column totals need exchange rates" in board  # today's rates read and kept: none for EUR
    r = client.post("/admin/rates", data={"currency": "EUR", "base": "USD", "rate": "2", "valid_from": "2026-03-01"})
    assert r.status_code == 302
    board = client.get("/pipeline?kind=standard-sale&currency=EUR").get_data(as_text=True)
    assert "Column totals need exchange rates" not in board and "€500.00" in board


def test_a_change_rolled_back_is_never_kept(app):
    client = _manager(app)
    assert ">Proposal <small>" in _board(client)
    db.session.remove()
    with pytest.raises(RuntimeError), transaction():
        catalogs.update_stage("proposal", {"name": "Never saved"})
        # inside the writing transaction its own change is read, not the kept copy
        assert next(s.name for s in catalogs.stage_rows() if s.key == "proposal") == "Never saved"
        raise RuntimeError("the rest of the action failed")
    db.session.remove()
    # the rollback took the version back too: the next change committed takes the number the failed one had, and
    # what was read under it must not be the failed change's
    r = client.post("/admin/stages/lead", data={"name": "Prospect", "name_nb": "", "default_probability": "10"})
    assert r.status_code == 302
    db.session.remove()
    page = _board(client)
    assert ">Prospect <small>" in page and ">Proposal <small>" in page and "Never saved" not in page
    assert next(s.name for s in catalogs.stage_rows() if s.key == "proposal") == "Proposal"


def test_a_warm_board_reads_the_reference_version_and_no_reference_table(app):
    client = _manager(app)
    _board(client)
    db.session.remove()
    seen = []
    listener = lambda _c, _cur, statement, *_a: seen.append(" ".join(statement.split()))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        _board(client)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert sum("FROM reference_version" in s for s in seen) == 1
    for table in ("stage", "catalog_entry", "exchange_rate", "kind_version"):
        assert not [s for s in seen if re.search(rf"\bFROM {table}\b", s)], table


def _touch_each_reference_table(session) -> None:
    """One insert, one update and one delete in each reference table, checking the version moved on after each."""
    kind = session.scalar(select(OpportunityKind).where(OpportunityKind.key == "standard-sale"))
    steps = [
        lambda: session.execute(text("INSERT INTO stage (key, name, details, default_probability, position, "
                                     "created_at, updated_at) VALUES ('x', 'X', '', 5, 99, :at, :at)"), AT),
        lambda: session.execute(text("UPDATE stage SET name = 'Y' WHERE key = 'x'")),
        lambda: session.execute(text("DELETE FROM stage WHERE key = 'x'")),
        lambda: session.execute(text("INSERT INTO catalog_entry (catalog, key, name, position, active, extra, "
                                     "created_at, updated_at) VALUES ('products', 'x', 'X', 9, true, '{}', :at, :at)"),
                                AT),
        lambda: session.execute(text("UPDATE catalog_entry SET name = 'Y' WHERE key = 'x'")),
        lambda: session.execute(text("DELETE FROM catalog_entry WHERE key = 'x'")),
        lambda: session.add(ExchangeRate(currency="EUR", base="NOK", rate=11, valid_from=date(2026, 1, 1))),
        lambda: session.execute(text("UPDATE exchange_rate SET rate = 12")),
        lambda: session.execute(text("DELETE FROM exchange_rate")),
        lambda: session.execute(text("UPDATE opportunity_kind SET name = 'Renamed' WHERE key = 'standard-sale'")),
        lambda: session.execute(text("UPDATE kind_version SET allow_back = allow_back WHERE kind_id = :k"),
                                {"k": kind.id}),
    ]
    for step in steps:
        before = session.scalar(select(ReferenceVersion.version))
        step()
        session.flush()
        assert session.scalar(select(ReferenceVersion.version)) > before, step
    # a table that is not reference data moves nothing
    before = session.scalar(select(ReferenceVersion.version))
    session.execute(text("UPDATE \"user\" SET name = name"))
    assert session.scalar(select(ReferenceVersion.version)) == before
    assert {KindVersion.__tablename__, OpportunityKind.__tablename__} <= set(REFERENCE_TABLES)


AT = {"at": "2026-03-02 09:00:00"}


def test_every_write_to_a_reference_table_moves_the_version_on(app):
    _touch_each_reference_table(db.session)
    db.session.rollback()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_makes_the_same_row_and_triggers(request, tmp_path, backend):
    config = _config(_fresh_url(request, tmp_path, backend), tmp_path)
    app = create_app(config, clock=FixedClock())
    with app.app_context():
        upgrade()
        from som_flow.services.catalogs import seed_defaults
        from som_flow.services.kinds import install_shipped_kinds

        seed_defaults()
        install_shipped_kinds()
        assert db.session.scalar(select(func.count()).select_from(ReferenceVersion)) == 1
        _touch_each_reference_table(db.session)
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def test_a_database_made_again_starts_its_version_elsewhere(app, tmp_path):
    first = _version()
    other_url = f"sqlite:///{tmp_path / 'again.sqlite'}"
    other = create_app(_config(other_url, tmp_path), clock=FixedClock())
    with other.app_context():
        db.create_all()
        again = _version()
        db.engine.dispose()
    assert first != again  # random starts: a process keeping data under one never mistakes the other for it
