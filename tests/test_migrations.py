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
