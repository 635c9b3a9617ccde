"""tasks people add: a task says where it came from (the process, or a person who added it to a deal) and who
added it

Revision ID: 0009_tasks
Revises: 0008_dealdocs
Create Date: 2026-11-27 06:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0009_tasks"
down_revision = "0008_dealdocs"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("task") as batch:
        # every task so far mirrors a BPMN user task
        batch.add_column(sa.Column("source", sa.String(length=10), nullable=False, server_default="process"))
        batch.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_task_created_by_id_user"), "user", ["created_by_id"], ["id"])


def downgrade():
    with op.batch_alter_table("task") as batch:
        batch.drop_constraint(op.f("fk_task_created_by_id_user"), type_="foreignkey")
        batch.drop_column("created_by_id")
        batch.drop_column("source")
