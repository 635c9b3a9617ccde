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
    op.add_column("kind_version", sa.Column("import_notes", sa.JSON(), nullable=True))


def downgrade():
    # a plain DROP COLUMN (SQLite 3.35+): a batch copy would drop kind_version, which opportunity_kind refers to
    op.drop_column("kind_version", "import_notes")
