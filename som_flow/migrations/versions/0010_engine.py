"""engine: a task row keeps its typed completion form (name, type, label, choices per field) and whether an
assignment of the deal does it (som.done_by)

Revision ID: 0010_engine
Revises: 0009_tasks
Create Date: 2026-11-27 06:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0010_engine"
down_revision = "0009_tasks"
branch_labels = None
depends_on = None


def upgrade():
    # rows made before typed forms keep null: Task.form_fields reads their names as text fields
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("form_types", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("done_by", sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table("task") as batch:
        batch.drop_column("done_by")
        batch.drop_column("form_types")
