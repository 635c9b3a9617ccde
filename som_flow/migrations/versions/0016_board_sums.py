"""board sums: the open deals of a kind in the order a board sums its columns (stage, currency, probability, with the
amount), so the totals over 10,000 open deals are read from the index in order and summed as they come, not hashed
(bench/reads.py: the board's slowest statement, 6 → 2.5–3.6 ms at 100,000 deals)

Revision ID: 0016_board_sums
Revises: 0015_task_order
Create Date: 2026-11-28 06:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0016_board_sums"
down_revision = "0015_task_order"
branch_labels = None
depends_on = None

# written as the queries are (`closed IS false`), as 0012_reads: a planner uses a partial index only when it can
# prove the query's condition implies the index's
OPEN_PG = "closed IS false AND archived_at IS NULL"
OPEN_SQLITE = "closed IS 0 AND archived_at IS NULL"


def upgrade():
    op.create_index("ix_opportunity_board_sums", "opportunity", ["kind_id", "stage", "currency", "probability", "amount"],
                    postgresql_where=sa.text(OPEN_PG), sqlite_where=sa.text(OPEN_SQLITE))


def downgrade():
    op.drop_index("ix_opportunity_board_sums", table_name="opportunity")
