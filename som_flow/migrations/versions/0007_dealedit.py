"""dealedit: a deal's terms of sales and named probability level; office preferences (required fields) as rows

Revision ID: 0007_dealedit
Revises: 0006_jobflow
Create Date: 2026-11-27 06:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0007_dealedit"
down_revision = "0006_jobflow"
branch_labels = None
depends_on = None


def upgrade():
    # plain ALTER TABLE, not a batch: SQLite adds and drops these columns in place, while a batch would copy
    # the opportunity table, which the tables referring to it (with foreign keys on) refuse
    op.add_column("opportunity", sa.Column("terms_of_sale", sa.String(length=200), nullable=True))
    op.add_column("opportunity", sa.Column("probability_level", sa.String(length=64), nullable=True))
    op.create_table(
        "preference",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_preference")),
    )


def downgrade():
    op.drop_table("preference")
    op.drop_column("opportunity", "probability_level")
    op.drop_column("opportunity", "terms_of_sale")
