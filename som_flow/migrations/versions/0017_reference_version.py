"""reference version: one row whose number triggers move on whenever a stage, catalog entry, exchange rate, kind or
kind version is written, so each process keeps that data between requests and reads it again only when it changed
(services/reference.py; a board read it in six statements, a fifth of its time in bench/reads.py)

Revision ID: 0017_reference_version
Revises: 0016_board_sums
Create Date: 2026-11-28 09:20:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0017_reference_version"
down_revision = "0016_board_sums"
branch_labels = None
depends_on = None

# written out as they were at this revision (models/reference.py makes the same for create_all)
TABLES = ("stage", "catalog_entry", "exchange_rate", "opportunity_kind", "kind_version")
BUMP = "UPDATE reference_version SET version = version + 1"


def upgrade():
    op.create_table("reference_version",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("version", sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_version")))
    # a random start: a database made again at the same address does not take up a number a process kept data under
    op.execute(sa.text("INSERT INTO reference_version (id, version) VALUES (1, :version)")
               .bindparams(version=secrets.randbits(52)))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE FUNCTION reference_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {BUMP}; "
                   "RETURN NULL; END $$")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_reference_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                       f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION reference_changed()")
        return
    for table in TABLES:
        for action in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_reference_{action.lower()} AFTER {action} ON {table} BEGIN {BUMP}; END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_reference_changed ON {table}")
        op.execute("DROP FUNCTION reference_changed()")
    else:
        for table in TABLES:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_reference_{action}")
    op.drop_table("reference_version")
