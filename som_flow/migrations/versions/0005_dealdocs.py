"""dealdocs: a deal made by mistake can be archived (hidden from lists, its history kept)

Revision ID: 0005_dealdocs
Revises: 0004_hardening
Create Date: 2026-11-27 06:30:00

"""
import sqlalchemy as sa
from alembic import op

import som_flow.extensions

revision = "0005_dealdocs"
down_revision = "0004_hardening"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("opportunity") as batch:
        batch.add_column(sa.Column("archived_at", som_flow.extensions.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("opportunity") as batch:
        batch.drop_column("archived_at")
