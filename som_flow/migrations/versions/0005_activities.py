"""activities: the contact log becomes the activities of a customer and its deals (notes, calls, e-mails,
meetings, visits) with an outcome, an author, when it was written, and what was appended after the edit window

Revision ID: 0005_activities
Revises: 0004_hardening
Create Date: 2026-11-27 06:30:00

"""
import sqlalchemy as sa
from alembic import op

import som_flow.extensions

revision = "0005_activities"
down_revision = "0004_hardening"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contact_log_entry") as batch:
        batch.add_column(sa.Column("outcome", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("author_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("created_at", som_flow.extensions.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("addenda", sa.JSON(), nullable=True))
        batch.create_foreign_key(batch.f("fk_contact_log_entry_author_id_user"), "user", ["author_id"], ["id"])
        batch.create_index(batch.f("ix_contact_log_entry_opportunity_id"), ["opportunity_id"], unique=False)


def downgrade():
    with op.batch_alter_table("contact_log_entry") as batch:
        batch.drop_index(batch.f("ix_contact_log_entry_opportunity_id"))
        batch.drop_constraint(batch.f("fk_contact_log_entry_author_id_user"), type_="foreignkey")
        batch.drop_column("addenda")
        batch.drop_column("created_at")
        batch.drop_column("author_id")
        batch.drop_column("outcome")
