"""The Prometheus metrics, all of them in this one module: what they measure, how they are fed, how they are read.

Fed by the request hooks (`web.observability` calls `observe_request`) and by the services' signals
(`services.signals`: the services know nothing of Prometheus); the reminder backlog and lag are read from the
database at scrape time, one query. With PROMETHEUS_MULTIPROC_DIR set (gunicorn's workers), prometheus-client
keeps each process's values in files there and a scrape adds them up, so any worker answers for all of them.
"""

from __future__ import annotations

import logging

from flask import Response, current_app
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from som_flow.services.reminders import due_backlog
from som_flow.services.signals import reminder_failed, reminders_delivered, scheduler_ticked, service_finished

log = logging.getLogger(__name__)
UNMATCHED = "unmatched"  # the endpoint label of a request no route matched (a 404, a 405)

# 5 ms .. 10 s: a page or an API call should sit in the lower half; the tail shows a lock or a slow query
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "som_flow_http_request_duration_seconds", "Time to answer an HTTP request, by Flask endpoint, method and status",
    ["endpoint", "method", "status"], buckets=_LATENCY_BUCKETS)
STAGE_MOVE_SECONDS = Histogram(
    "som_flow_stage_move_duration_seconds",
    "Time of a stage move through the service (load, engine, projection, commit); outcome ok, refused or error",
    ["outcome"], buckets=_LATENCY_BUCKETS)
REMINDERS_DELIVERED = Counter(
    "som_flow_reminder_deliveries", "Reminders delivered (people reminders and process timers)")
REMINDER_FAILURES = Counter(
    "som_flow_reminder_failures", "Reminder deliveries that failed (retried, and dead after REMINDER_MAX_ATTEMPTS)")

SCHEDULER_TICK_SECONDS = Histogram(
    "som_flow_scheduler_tick_duration_seconds",
    "Time of one scheduler tick (claim and deliver everything due); outcome ok or failed", ["outcome"],
    buckets=_LATENCY_BUCKETS + (30.0, 60.0))


def _service_finished(name: str, *, seconds: float, outcome: str) -> None:
    if name == "move_to_stage":
        STAGE_MOVE_SECONDS.labels(outcome).observe(seconds)


def _reminders_delivered(_owner: str, *, count: int) -> None:
    REMINDERS_DELIVERED.inc(count)


def _reminder_failed(_owner: str, *, reminder_id: int) -> None:
    REMINDER_FAILURES.inc()


def _scheduler_ticked(_owner: str | None, *, seconds: float, outcome: str) -> None:
    SCHEDULER_TICK_SECONDS.labels(outcome).observe(seconds)


class ReminderBacklog:
    """`som_flow_reminders_due` and `som_flow_reminder_lag_seconds`, read when scraped (the database is the one
    schedule, shared by every process, so any process can tell)."""

    def collect(self):
        try:
            count, lag = due_backlog()
        except Exception as exc:  # noqa: BLE001 - the other metrics still answer while the database is away
            log.warning("metrics: cannot read the reminder backlog: %s", str(exc).strip().splitlines()[0])
            return
        yield GaugeMetricFamily("som_flow_reminders_due", "Reminders due now and not yet delivered", value=count)
        yield GaugeMetricFamily("som_flow_reminder_lag_seconds",
                                "How long the oldest due reminder has waited past its due time (0 when none)",
                                value=lag)


def exposition() -> Response:
    """The metrics in Prometheus's text format: this process's (or, multi-process, every worker's) and the
    backlog read now."""
    directory = current_app.config.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry = REGISTRY
    live = CollectorRegistry(auto_describe=False)
    live.register(ReminderBacklog())
    return Response(generate_latest(registry) + generate_latest(live), mimetype=None,
                    content_type=CONTENT_TYPE_LATEST)


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    """One answered request; `endpoint` is the Flask endpoint name (None when no route matched), never the raw
    path, so ids in URLs cannot grow the number of series."""
    REQUEST_SECONDS.labels(endpoint or UNMATCHED, method, str(status)).observe(seconds)


def install_metrics() -> None:
    """Listen to the services' signals (blinker keeps one connection per receiver, whatever the number of apps)."""
    service_finished.connect(_service_finished)
    reminders_delivered.connect(_reminders_delivered)
    reminder_failed.connect(_reminder_failed)
    scheduler_ticked.connect(_scheduler_ticked)
