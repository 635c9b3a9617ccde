"""task order: the task list's indexes carry its whole order (due date, nulls last; then created, id), so a page of
a person's or a pool's open tasks is read in order and stops at its 50th row instead of sorting all of them; their
other filters (follow-up date, deal) end the index, so the list's count reads the index alone. And a rep's own
open deals, newest first (their "My open deals" list), by a partial index rather than a walk of every deal

Revision ID: 0015_task_order
Revises: 0014_board
Create Date: 2026-11-27 20:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0015_task_order"
down_revision = "0014_board"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_task_assignee_list", "task",
                    ["assignee_id", "status", "due_at", "created_at", "id", "follow_up_at", "opportunity_id"])
    op.create_index("ix_task_pool_list", "task",
                    ["role", "status", "due_at", "created_at", "id", "assignee_id", "follow_up_at", "opportunity_id"])
    op.drop_index("ix_task_assignee_status_due", table_name="task")
    op.drop_index("ix_task_role_status", table_name="task")
    op.create_index("ix_opportunity_rep_open", "opportunity", ["sales_rep_id", "id"],
                    postgresql_where=sa.text("closed IS false AND archived_at IS NULL"),
                    sqlite_where=sa.text("closed IS 0 AND archived_at IS NULL"))


def downgrade():
    op.drop_index("ix_opportunity_rep_open", table_name="opportunity")
    op.create_index("ix_task_assignee_status_due", "task", ["assignee_id", "status", "due_at"])
    op.create_index("ix_task_role_status", "task", ["role", "status"])
    op.drop_index("ix_task_pool_list", table_name="task")
    op.drop_index("ix_task_assignee_list", table_name="task")
