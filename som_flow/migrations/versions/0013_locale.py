"""locale: a person's language (user.locale, "en"|"nb"; NULL follows the browser) and the Norwegian names of
the stages and catalog entries (name_nb; NULL shows `name` in every language)

Revision ID: 0013_locale
Revises: 0012_reads
Create Date: 2026-11-27 13:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0013_locale"
down_revision = "0012_reads"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=8), nullable=True))
    with op.batch_alter_table("stage") as batch:
        batch.add_column(sa.Column("name_nb", sa.String(length=120), nullable=True))
    with op.batch_alter_table("catalog_entry") as batch:
        batch.add_column(sa.Column("name_nb", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("catalog_entry") as batch:
        batch.drop_column("name_nb")
    with op.batch_alter_table("stage") as batch:
        batch.drop_column("name_nb")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("locale")
