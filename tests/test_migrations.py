"""The Alembic migrations produce exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from som_flow import create_app
from som_flow.clock import FixedClock
from som_flow.config import TestConfig
from som_flow.extensions import db
from tests.conftest import _admin_conn


def _fresh_url(request, tmp_path, backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    base = request.getfixturevalue("pg_cluster")
    name = f"mig_{abs(hash(str(tmp_path))) % 10**8}"
    with _admin_conn(base) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_create_exactly_the_models_schema(request, tmp_path, backend):
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config["SQLALCHEMY_DATABASE_URI"] = _fresh_url(request, tmp_path, backend)
    app = create_app(config, clock=FixedClock())
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
        db.engine.dispose()
    assert diff == []


def test_som_flow_init_is_idempotent_and_installs_the_shipped_kinds(tmp_path):
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'init.sqlite'}"
    app = create_app(config, clock=FixedClock())
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init"])
    assert first.exit_code == 0, first.output
    assert "standard-sale" in first.output
    second = runner.invoke(args=["init"])
    assert second.exit_code == 0 and "installed kinds" not in second.output
    with app.app_context():
        from som_flow.services.kinds import list_kinds

        assert sorted(k.key for k in list_kinds()) == ["service-contract", "stageless", "standard-sale"]
        db.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_stage_stay_backfill_replays_history_as_the_live_projection_records_it(request, tmp_path, backend):
    from flask_migrate import downgrade
    from sqlalchemy import select

    from som_flow.models import StageStay
    from som_flow.services import opportunities
    from som_flow.services.catalogs import seed_defaults
    from som_flow.services.kinds import install_shipped_kinds
    from tests.helpers import Api, make_customer, make_user

    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config["SQLALCHEMY_DATABASE_URI"] = _fresh_url(request, tmp_path, backend)
    clock = FixedClock()
    app = create_app(config, clock=clock)
    with app.app_context():
        upgrade()
        seed_defaults()
        install_shipped_kinds()
        manager = make_user("manager@x.test", "manager")
        customer = make_customer()
        api = Api(app.test_client(), "manager@x.test")
        for fate in ("won", "lost", "open"):
            opp = opportunities.create_opportunity(manager, {"title": fate, "customer_id": customer.id,
                                                             "kind": "standard-sale", "amount": "100"})
            clock.advance(days=2)
            api.finish_required_tasks(opp.id)
            opportunities.move_to_stage(manager, opp.id, "qualification")
            clock.advance(days=3)
            if fate == "won":
                opportunities.win(manager, opp.id, reason="relationship")
            elif fate == "lost":
                opportunities.lose(manager, opp.id, reason="price")
        # a custom kind with back moves: Lead → Proposal → Lead → Proposal → Negotiation
        there_and_back = opportunities.create_opportunity(manager, {"title": "back", "customer_id": customer.id,
                                                                    "kind": "service-contract"})
        for stage in ("proposal", "lead", "proposal", "negotiation"):
            clock.advance(days=1)
            opportunities.move_to_stage(manager, there_and_back.id, stage)

        def stays():
            return sorted((s.opportunity_id, s.stage, s.entered_at, s.left_at, s.outcome,
                           None if s.days is None else round(s.days, 4), bool(s.first_visit), bool(s.advanced))
                          for s in db.session.scalars(select(StageStay)))

        live = stays()
        db.session.remove()
        downgrade(revision="eb59f8aadd79")
        upgrade()
        replayed = stays()
        db.session.remove()
        db.engine.dispose()
    # per deal: left Lead forward, then Qualification won / lost / still there
    assert [s[4] for s in live[:6]] == ["advanced", "won", "advanced", "lost", "advanced", None]
    assert [s[5] for s in live[:2]] == [2.0, 3.0]
    # the custom deal's two visits to Lead and to Proposal: only the first counts as entering, and it
    # carries "advanced" because the deal left forward at some visit (Lead the first time, Proposal the second)
    assert [(s[1], s[4], s[6], s[7]) for s in sorted(live[6:], key=lambda s: s[2])] == [
        ("lead", "advanced", True, True), ("proposal", "back", True, True), ("lead", "advanced", False, False),
        ("proposal", "advanced", False, False), ("negotiation", None, True, False)]
    assert replayed == live
