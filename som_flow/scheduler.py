"""The scheduler process: APScheduler (memory job store, UTC) waking `fire_due_reminders` and the weekly
forecast snapshot.

Correctness lives in the database (leases + delivery log), so any number of these may run at once.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

log = logging.getLogger(__name__)


def _tick(app: Flask, owner: str | None) -> None:
    from som_flow.services.reminders import fire_due_reminders

    with app.app_context():
        try:
            fired = fire_due_reminders(owner=owner)
            if fired:
                log.info("delivered %d reminders", fired)
        except Exception:  # noqa: BLE001 - the next tick retries; leases keep it exactly once
            log.exception("scheduler tick failed")


def _snapshot(app: Flask) -> None:
    from som_flow.services.forecast import take_snapshot

    with app.app_context():
        try:
            if take_snapshot() is not None:
                log.info("took this week's forecast snapshot")
        except Exception:  # noqa: BLE001 - retried next hour; a missing exchange rate must not stop reminders
            log.exception("forecast snapshot failed")


def _configure(scheduler, app: Flask, owner: str | None) -> None:
    """Raises ValidationFailed at start for a name the lease column cannot hold (not on every tick)."""
    from som_flow.services.reminders import check_owner

    if owner is not None:
        check_owner(owner)
    # coalesce + a generous misfire grace: a late tick still runs; the rows decide what is due
    scheduler.add_job(_tick, "interval", seconds=app.config["SCHEDULER_INTERVAL_SECONDS"], args=[app, owner],
                      id="fire_due_reminders", coalesce=True, max_instances=1, misfire_grace_time=3600)
    scheduler.add_job(_tick, "date", args=[app, owner], id="fire_on_start", misfire_grace_time=3600)
    # hourly and on start; take_snapshot itself keeps it to one per week
    scheduler.add_job(_snapshot, "interval", hours=1, args=[app], id="forecast_snapshot", coalesce=True,
                      max_instances=1)
    scheduler.add_job(_snapshot, "date", args=[app], id="forecast_snapshot_on_start", misfire_grace_time=3600)


def start_background_scheduler(app: Flask, owner: str | None = None) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    _configure(scheduler, app, owner)
    scheduler.start()
    return scheduler


def run_blocking_scheduler(app: Flask, name: str | None = None) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    _configure(scheduler, app, name)
    log.info("scheduler %s started", name or "(host:pid)")
    print("som_flow scheduler running", flush=True)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
