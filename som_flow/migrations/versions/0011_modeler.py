"""modeler: a kind version keeps the sentences saying what was read or added when its BPMN came from a modeler

Revision ID: 0011_modeler
Revises: 0010_engine
Create Date: 2026-11-27 09:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0011_modeler"
down_revision = "0010_engine"
branch_labels = None
depends_on = None


def upgrade():
    # versions stored before modeler reading keep null: nothing was added to them
    with op.batch_alter_table("kind_version") as batch:
        batch.add_column(sa.Column("import_notes", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("kind_version") as batch:
        batch.drop_column("import_notes")
