"""reminder keys: the moment in a task's, an appointment's or a process timer's reminder key written in UTC. A due
time given in a person's zone made a key with that zone's offset, and the same time read back from the database
(in UTC) another, so a reminder already delivered under the first was delivered again under the second
(services/reminder_schedule._instant). Each key is rewritten in UTC; where a reminder already has a row under its
UTC key, the delivered row keeps the key and the other is cancelled (a pair both delivered stays as it is).

Revision ID: 0018_reminder_keys
Revises: 0017_reference_version
Create Date: 2026-11-28 15:05:00

"""
import re
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0018_reminder_keys"
down_revision = "0017_reference_version"
branch_labels = None
depends_on = None

MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?[+-]\d{2}:\d{2}")
SETTLED = ("claimed", "delivered", "dead")
reminder = sa.table("reminder", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                    sa.column("state", sa.String), sa.column("idempotency_key", sa.String))


def in_utc(key: str) -> str:
    return MOMENT.sub(lambda m: datetime.fromisoformat(m.group(0)).astimezone(UTC).isoformat(), key)


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.select(reminder.c.id, reminder.c.state, reminder.c.idempotency_key)
                        .where(reminder.c.kind.in_(("task_due", "appointment", "process_timer")))).all()
    by_key = {row.idempotency_key: row for row in rows}
    for row in rows:
        key = in_utc(row.idempotency_key)
        if key == row.idempotency_key:
            continue
        other = by_key.get(key)
        if other is None:
            conn.execute(reminder.update().where(reminder.c.id == row.id).values(idempotency_key=key))
            by_key[key] = row
        elif row.state in SETTLED and other.state not in SETTLED:
            # the delivered one takes the key, so the reminder is never delivered again; the other is cancelled
            conn.execute(reminder.update().where(reminder.c.id == other.id)
                         .values(idempotency_key=f"{key}#{other.id}"[:200], state="cancelled"))
            conn.execute(reminder.update().where(reminder.c.id == row.id).values(idempotency_key=key))
            by_key[key] = row
        elif row.state not in SETTLED and row.state != "cancelled":
            conn.execute(reminder.update().where(reminder.c.id == row.id).values(state="cancelled"))


def downgrade():
    pass  # the UTC keys are as valid as the old ones
