"""board: whom a user reports to (user.manager_id), so the pipeline board can show "my team"

Revision ID: 0014_board
Revises: 0013_locale
Create Date: 2026-11-27 13:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0014_board"
down_revision = "0013_locale"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("user", sa.Column("manager_id", sa.Integer(), nullable=True))
    op.create_index("ix_user_manager_id", "user", ["manager_id"])


def downgrade():
    op.drop_index("ix_user_manager_id", table_name="user")
    op.drop_column("user", "manager_id")
