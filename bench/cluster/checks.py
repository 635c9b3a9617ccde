"""What must hold in the database after a run, whatever was killed during it (run inside an app context).

Torn states — the three records of where a deal stands must agree (DESIGN.md §3: load → act → project → save in
one transaction under the version column): the opportunity row (stage, status), the stored workflow (restored
and read by the engine, as the next request would), and the stage stays (exactly one open stay, in the deal's
stage, while it is open; none once closed). The process's ready user tasks must be the deal's open process tasks.

Reminders — every reminder that fell due before the cutoff was delivered exactly once: none still pending or
claimed (lost), none delivered without its delivery-log row (lost record), no reminder with two delivery rows or
two notifications (doubled).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, select

from som_flow.extensions import db
from som_flow.models import Delivery, Notification, Opportunity, Reminder, StageStay, Task, WorkflowState
from som_flow.services.process_run import engine, load_run


def torn_states() -> list[dict]:
    """One entry per deal whose records disagree, saying which; an empty list when all agree."""
    open_stays: dict[int, list[str]] = {}
    for opp_id, stage in db.session.execute(select(StageStay.opportunity_id, StageStay.stage)
                                            .where(StageStay.left_at.is_(None))):
        open_stays.setdefault(opp_id, []).append(stage)
    open_tasks: dict[int, set[str]] = {}
    for opp_id, task_id in db.session.execute(select(Task.opportunity_id, Task.id).where(
            Task.status == "open", Task.source == "process", Task.job_work_id.is_(None))):
        open_tasks.setdefault(opp_id, set()).add(task_id)
    with_state = set(db.session.scalars(select(WorkflowState.opportunity_id)))
    torn = []
    for opp in db.session.scalars(select(Opportunity).order_by(Opportunity.id)):
        problems = []
        if opp.id not in with_state:
            torn.append({"opportunity": opp.number, "problems": ["no stored workflow"]})
            continue
        snap = engine().snapshot(load_run(opp))
        stays = open_stays.get(opp.id, [])
        if opp.closed:
            if not snap.completed or snap.outcome != opp.status:
                ran = f"ended {snap.outcome}" if snap.completed else "running"
                problems.append(f"deal {opp.status} but workflow {ran}")
            if stays:
                problems.append(f"closed deal has open stays {stays}")
        else:
            if snap.completed:
                problems.append(f"deal {opp.status} but workflow ended {snap.outcome}")
            elif snap.stage != opp.stage:
                problems.append(f"deal in stage {opp.stage} but workflow in {snap.stage}")
            if opp.stage and stays != [opp.stage]:
                problems.append(f"deal in stage {opp.stage} but open stays {stays}")
            ready = {t.id for t in snap.ready_tasks if not t.gate}
            rows = open_tasks.get(opp.id, set())
            if ready != rows:
                problems.append(f"ready tasks {sorted(ready)} but open task rows {sorted(rows)}")
        if problems:
            torn.append({"opportunity": opp.number, "problems": problems})
    db.session.rollback()  # only read
    return torn


def reminder_audit(cutoff: datetime) -> dict:
    """Counts over the reminders due at or before `cutoff` (lost and doubled should be 0)."""
    due = Reminder.due_at <= cutoff
    by_state = dict(db.session.execute(select(Reminder.state, func.count()).where(due).group_by(Reminder.state)).all())
    deliveries = Counter(db.session.scalars(select(Delivery.reminder_id).where(Delivery.reminder_id.is_not(None))))
    notes = Counter(db.session.scalars(select(Notification.reminder_id).where(Notification.reminder_id.is_not(None))))
    delivered = set(db.session.scalars(select(Reminder.id).where(Reminder.state == "delivered")))
    lost = by_state.get("pending", 0) + by_state.get("claimed", 0)
    unrecorded = len(delivered - set(deliveries))
    doubled = sum(1 for n in deliveries.values() if n > 1) + sum(1 for n in notes.values() if n > 1)
    by_owner = dict(db.session.execute(select(Delivery.delivered_by, func.count())
                                       .group_by(Delivery.delivered_by)).all())
    db.session.rollback()
    return {"due": sum(by_state.values()), "by_state": by_state, "lost": lost + unrecorded,
            "delivered_without_log": unrecorded, "doubled": doubled, "deliveries_by_scheduler": by_owner}
