"""reads: partial indexes for the reads at 100,000 deals (bench/reads.py) — the few archived deals, which the task
list leaves out, and the open deals of a kind by stage, which a board shows and sums

Revision ID: 0012_reads
Revises: 0011_modeler
Create Date: 2026-11-27 11:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0012_reads"
down_revision = "0011_modeler"
branch_labels = None
depends_on = None

ARCHIVED = "archived_at IS NOT NULL"
# written as the queries are (`closed IS false`): a planner uses a partial index only when it can prove the
# query's condition implies the index's (tests/test_reads_plan.py checks both backends use it)
OPEN_PG = "closed IS false AND archived_at IS NULL"
OPEN_SQLITE = "closed IS 0 AND archived_at IS NULL"


def upgrade():
    op.create_index("ix_opportunity_archived", "opportunity", ["id"], postgresql_where=sa.text(ARCHIVED),
                    sqlite_where=sa.text(ARCHIVED))
    op.create_index("ix_opportunity_board", "opportunity",
                    ["kind_id", "stage", "id", "currency", "amount", "probability"],
                    postgresql_where=sa.text(OPEN_PG), sqlite_where=sa.text(OPEN_SQLITE))


def downgrade():
    op.drop_index("ix_opportunity_board", table_name="opportunity")
    op.drop_index("ix_opportunity_archived", table_name="opportunity")
