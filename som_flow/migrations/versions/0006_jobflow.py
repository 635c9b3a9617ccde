"""jobflow: a kind's follow-on process (the job's own work after a win with a job), its runs, and the tasks
they hand out

Revision ID: 0006_jobflow
Revises: 0005_activities
Create Date: 2026-11-27 07:00:00

"""
import sqlalchemy as sa
from alembic import op

import som_flow.extensions

revision = "0006_jobflow"
down_revision = "0005_activities"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "follow_on_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("bpmn_xml", sa.Text(), nullable=False),
        sa.Column("created_at", som_flow.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name=op.f("fk_follow_on_version_created_by_id_user")),
        sa.ForeignKeyConstraint(["kind_id"], ["opportunity_kind.id"],
                                name=op.f("fk_follow_on_version_kind_id_opportunity_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_on_version")),
        sa.UniqueConstraint("kind_id", "number", name="uq_follow_on_version_kind_number"),
    )
    op.create_index(op.f("ix_follow_on_version_kind_id"), "follow_on_version", ["kind_id"], unique=False)
    op.create_table(
        "job_work",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("follow_on_version_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("started_at", som_flow.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", som_flow.extensions.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["follow_on_version_id"], ["follow_on_version.id"],
                                name=op.f("fk_job_work_follow_on_version_id_follow_on_version")),
        sa.ForeignKeyConstraint(["job_id"], ["customer.id"], name=op.f("fk_job_work_job_id_customer")),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunity.id"],
                                name=op.f("fk_job_work_opportunity_id_opportunity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_work")),
    )
    op.create_index(op.f("ix_job_work_job_id"), "job_work", ["job_id"], unique=False)
    op.create_index("ix_job_work_opportunity_status", "job_work", ["opportunity_id", "status"], unique=False)
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("job_work_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_task_job_work_id"), ["job_work_id"], unique=False)
        batch.create_foreign_key(batch.f("fk_task_job_work_id_job_work"), "job_work", ["job_work_id"], ["id"])


def downgrade():
    with op.batch_alter_table("task") as batch:
        batch.drop_constraint(batch.f("fk_task_job_work_id_job_work"), type_="foreignkey")
        batch.drop_index(batch.f("ix_task_job_work_id"))
        batch.drop_column("job_work_id")
    op.drop_index("ix_job_work_opportunity_status", table_name="job_work")
    op.drop_index(op.f("ix_job_work_job_id"), table_name="job_work")
    op.drop_table("job_work")
    op.drop_index(op.f("ix_follow_on_version_kind_id"), table_name="follow_on_version")
    op.drop_table("follow_on_version")
