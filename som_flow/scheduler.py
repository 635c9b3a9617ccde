"""The scheduler process: APScheduler (memory job store, UTC) waking `fire_due_reminders` and the weekly
forecast snapshot.

Correctness lives in the database (leases + delivery log), so any number of these may run at once.
"""

from __future__ import annotations

import logging
import time

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

log = logging.getLogger(__name__)


def _tick(app: Flask, owner: str | None) -> None:
    from som_flow.services.reminders import fire_due_reminders
    from som_flow.services.signals import scheduler_ticked

    started, outcome = time.perf_counter(), "failed"
    with app.app_context():
        try:
            fired = fire_due_reminders(owner=owner)
            if fired:
                log.info("delivered %d reminders", fired)
            outcome = "ok"
        except Exception:  # noqa: BLE001 - the next tick retries; leases keep it exactly once
            log.exception("scheduler tick failed")
        finally:
            scheduler_ticked.send(owner, seconds=time.perf_counter() - started, outcome=outcome)


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


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """This process's Prometheus metrics (its deliveries, failures and ticks) on http://host:port/, for a
    scheduler on a host with no web process to scrape. No login: keep it on loopback or a private network."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=host)
    log.info("scheduler metrics on http://%s:%d/metrics", host, port)


def run_blocking_scheduler(app: Flask, name: str | None = None, metrics_port: int | None = None,
                           metrics_host: str = "127.0.0.1") -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    _configure(scheduler, app, name)
    if metrics_port is not None:
        serve_metrics(metrics_port, metrics_host)
    log.info("scheduler %s started", name or "(host:pid)")
    print("som_flow scheduler running", flush=True)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
