"""stage stays: one row per visit of an opportunity to a stage, backfilled from the Event history

Revision ID: 0002_stage_stays
Revises: eb59f8aadd79
Create Date: 2026-11-23 10:30:00

"""
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op

import som_flow.extensions

revision = "0002_stage_stays"
down_revision = "eb59f8aadd79"
branch_labels = None
depends_on = None


def upgrade():
    stay = op.create_table(
        "stage_stay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("entered_at", som_flow.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.Column("left_at", som_flow.extensions.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunity.id"],
                                name=op.f("fk_stage_stay_opportunity_id_opportunity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_stay")),
    )
    op.create_index("ix_stage_stay_opportunity_left", "stage_stay", ["opportunity_id", "left_at"], unique=False)
    op.create_index("ix_stage_stay_report", "stage_stay",
                    ["stage", "entered_at", "opportunity_id", "outcome", "left_at"], unique=False)
    _backfill(stay)


def _backfill(stay):
    """Replay each opportunity's stage_changed / won / lost / reopened events into stays."""
    bind = op.get_bind()
    event = sa.table("event", sa.column("id"), sa.column("opportunity_id"), sa.column("at", sa.DateTime()),
                     sa.column("type"), sa.column("data", sa.Text()))
    kinds = sa.table("kind_version", sa.column("id"), sa.column("stages", sa.Text()))
    opps = sa.table("opportunity", sa.column("id"), sa.column("kind_version_id"))
    order = {}
    for version_id, stages in bind.execute(sa.select(kinds.c.id, kinds.c.stages)):
        stages = json.loads(stages) if isinstance(stages, str) else stages or []
        order[version_id] = {s["key"]: i for i, s in enumerate(stages)}
    version_of = dict(bind.execute(sa.select(opps.c.id, opps.c.kind_version_id)).all())
    rows, open_stay = [], {}
    for opp_id, at, type_, data in bind.execute(
            sa.select(event.c.opportunity_id, event.c.at, event.c.type, event.c.data)
            .where(event.c.type.in_(("stage_changed", "won", "lost")))
            .order_by(event.c.opportunity_id, event.c.at, event.c.id)):
        data = json.loads(data) if isinstance(data, str) else data or {}
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
        positions = order.get(version_of.get(opp_id), {})
        current = open_stay.pop(opp_id, None)
        if current is not None:
            current["left_at"] = at
            if type_ == "stage_changed":
                ahead = positions.get(data.get("to"), -1) > positions.get(current["stage"], -1)
                current["outcome"] = "advanced" if ahead else "back"
            else:
                current["outcome"] = type_
        if type_ == "stage_changed" and data.get("to"):
            open_stay[opp_id] = {"opportunity_id": opp_id, "stage": data["to"], "entered_at": at,
                                 "left_at": None, "outcome": None}
            rows.append(open_stay[opp_id])
    if rows:
        op.bulk_insert(stay, rows)


def downgrade():
    op.drop_index("ix_stage_stay_report", table_name="stage_stay")
    op.drop_index("ix_stage_stay_opportunity_left", table_name="stage_stay")
    op.drop_table("stage_stay")
