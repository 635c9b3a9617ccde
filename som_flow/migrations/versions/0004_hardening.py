"""hardening: a task remembers the idempotency key of its completion; browser sessions are rows, so logout
and a password change end them; a notification's e-mail is claimed for a while, so the mailer can talk to the
SMTP server outside a transaction

Revision ID: 0004_hardening
Revises: 0003_report_speed
Create Date: 2026-11-27 03:45:00

"""
import sqlalchemy as sa
from alembic import op

import som_flow.extensions

revision = "0004_hardening"
down_revision = "0003_report_speed"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("completion_key", sa.String(length=64), nullable=True))
    with op.batch_alter_table("notification") as batch:
        batch.add_column(sa.Column("email_claimed_until", som_flow.extensions.UTCDateTime(timezone=True),
                                   nullable=True))
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", som_flow.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_user_session_user_id_user"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_session_token_hash")),
    )
    op.create_index(op.f("ix_user_session_user_id"), "user_session", ["user_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_user_session_user_id"), table_name="user_session")
    op.drop_table("user_session")
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("email_claimed_until")
    with op.batch_alter_table("task") as batch:
        batch.drop_column("completion_key")
