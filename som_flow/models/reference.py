"""Whether the reference data changed: one row whose number the database itself moves on whenever a stage, catalog
entry, exchange rate, kind or kind version is written, so each process may keep that data between requests and
still never use it stale (services/reference.py). Triggers, not the services, own the bump: a change made by any
writer — a service, the CLI, psql, a restore — is seen by every process on every host at its commit."""

from __future__ import annotations

import secrets

from sqlalchemy import BigInteger, event, text
from sqlalchemy.orm import Mapped, mapped_column

from som_flow.extensions import db

# the tables whose rows are reference data; migration 0017_reference_version made their triggers
REFERENCE_TABLES = ("stage", "catalog_entry", "exchange_rate", "opportunity_kind", "kind_version")


class ReferenceVersion(db.Model):
    """The one row (id 1). Its number starts at random, so a database made again at the same address (a restore,
    a test's fresh copy) does not take up the numbering a process kept data under."""

    __tablename__ = "reference_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger())


def starting_version() -> int:
    return secrets.randbits(52)


def trigger_statements(dialect: str) -> list[str]:
    """The DDL that moves the number on when a reference table changes: on PostgreSQL once per statement (bulk
    writes and TRUNCATE too); SQLite has only row triggers."""
    bump = "UPDATE reference_version SET version = version + 1"
    if dialect == "postgresql":
        return [f"CREATE FUNCTION reference_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {bump}; "
                "RETURN NULL; END $$"] + [
            f"CREATE TRIGGER {table}_reference_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION reference_changed()" for table in REFERENCE_TABLES]
    return [f"CREATE TRIGGER {table}_reference_{action.lower()} AFTER {action} ON {table} BEGIN {bump}; END"
            for table in REFERENCE_TABLES for action in ("INSERT", "UPDATE", "DELETE")]


@event.listens_for(db.metadata, "after_create")
def _create_triggers(_metadata, connection, **_kw) -> None:
    # create_all (the tests' schema) gets what the migration makes: the row and the triggers
    connection.execute(text("INSERT INTO reference_version (id, version) VALUES (1, :version)"),
                       {"version": starting_version()})
    for statement in trigger_statements(connection.dialect.name):
        connection.execute(text(statement))
