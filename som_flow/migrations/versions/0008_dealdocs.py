"""dealdocs: a deal made by mistake can be archived (hidden from lists, its history kept)

Revision ID: 0008_dealdocs
Revises: 0007_dealedit
Create Date: 2026-11-27 06:30:00

"""
import sqlalchemy as sa
from alembic import op

import som_flow.extensions

revision = "0008_dealdocs"
down_revision = "0007_dealedit"
branch_labels = None
depends_on = None


# plain ALTER TABLE, not a batch: a batch copies the table on SQLite, and dropping `opportunity` (which a
# dozen tables reference) fails with foreign keys on; SQLite 3.35+ adds and drops a plain column in place
def upgrade():
    op.add_column("opportunity", sa.Column("archived_at", som_flow.extensions.UTCDateTime(timezone=True),
                                           nullable=True))


def downgrade():
    op.drop_column("opportunity", "archived_at")
