"""`som-flow demo` builds a year that looks lived in: the reports a manager opens first show real figures (time in
stage, cycle length, the funnel, forecast vs actual), deals were opened and moved on their own past dates, won and
lost with reasons, the scheduler took a forecast snapshot every Monday, and every appointment sits in the working
hours of each attendee's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from som_flow import create_app
from som_flow.clock import FixedClock
from som_flow.extensions import db
from som_flow.models import Appointment, ForecastSnapshot, Opportunity, StageStay
from tests.conftest import _config
from tests.helpers import Api

TODAY = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # a Friday


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    app = create_app(_config(f"sqlite:///{tmp / 'demo.sqlite'}", tmp), clock=FixedClock(TODAY))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init"]).exit_code == 0
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_pipeline_report_shows_time_in_stage_cycle_length_win_rate_and_lost_reasons(demo):
    report = Api(demo.test_client(), "manager@example.com").get("/reports/pipeline").json
    assert report["won"] >= 20 and report["lost"] >= 20
    assert 0.2 < report["win_rate"] < 0.8
    assert report["average_cycle_days"] > 7  # deals took weeks, not the seconds the demo ran for
    assert report["average_won_amount"] != "0.00"
    assert len(report["lost_reasons"]) >= 3 and all(r["reason"] for r in report["lost_reasons"])
    funnel = {row["stage"]: row for row in report["funnel"]}
    for stage in ("lead", "qualification", "proposal", "negotiation"):
        assert funnel[stage]["entered"] > 10, stage
        assert funnel[stage]["advanced"] > 0, stage
        assert funnel[stage]["average_days_in_stage"] >= 2, stage  # time in stage in days, not zero
    assert funnel["lead"]["entered"] > funnel["negotiation"]["entered"]  # a funnel narrows


def test_forecast_vs_actual_has_a_snapshot_and_wins_for_each_past_quarter(demo):
    rows = Api(demo.test_client(), "manager@example.com").get("/forecast/compare?period=quarter&periods=3").json
    assert [r["period"] for r in rows] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    for row in rows:
        assert row["snapshot_taken_at"] is not None, row["period"]
        assert float(row["forecast_amount"]) > 0 and float(row["forecast_weighted"]) > 0, row["period"]
        assert float(row["won"]) > 0, row["period"]


def test_the_history_is_spread_over_a_year_of_past_dates(demo):
    opened = sorted(db.session.scalars(select(Opportunity.opened_on)))
    assert opened[0] <= (TODAY - timedelta(days=330)).date() and opened[-1] <= TODAY.date()
    assert len({d.strftime("%Y-%m") for d in opened}) >= 12  # deals opened in every month
    resolved = [d for d in db.session.scalars(select(Opportunity.resolved_date)) if d]
    assert len({d.strftime("%Y-%m") for d in resolved}) >= 9 and max(resolved) < TODAY.date()
    stays = db.session.scalars(select(StageStay.entered_at)).all()
    assert len({s.strftime("%Y-%m") for s in stays}) >= 11
    # the rep still works the open ones: some are in each stage today
    open_stages = {s for s in db.session.scalars(select(Opportunity.stage).where(Opportunity.closed.is_(False)))}
    assert {"lead", "qualification", "proposal", "negotiation"} <= open_stages


def test_a_forecast_snapshot_was_taken_every_monday(demo):
    taken = [s.taken_at for s in db.session.scalars(select(ForecastSnapshot).order_by(ForecastSnapshot.taken_at))]
    mondays = [t for t in taken if t.date() < TODAY.date()]
    assert len(mondays) >= 52
    assert all(t.weekday() == 0 for t in mondays)
    assert all(b - a == timedelta(days=7) for a, b in zip(mondays, mondays[1:], strict=False))
    assert sum(1 for s in db.session.scalars(select(ForecastSnapshot)) if s.weighted_total > 0) >= 50


def test_appointments_fall_in_working_hours_of_each_attendees_zone(demo):
    appointments = db.session.scalars(select(Appointment)).all()
    upcoming = [a for a in appointments if a.start_at > TODAY]
    assert len(appointments) >= 50 and len(upcoming) >= 5
    zones = set()
    for appt in appointments:
        for person in appt.attendees:
            zone = ZoneInfo(person.timezone)
            start, end = appt.start_at.astimezone(zone), appt.end_at.astimezone(zone)
            zones.add(person.timezone)
            assert start.weekday() < 5, (appt.title, person.email, start)
            assert 8 <= start.hour and (end.hour, end.minute) <= (17, 0), (appt.title, person.email, start)
    assert len(zones) == 3  # the reps of Chicago, Oslo and New York each see visits in their own day


def test_a_second_run_changes_nothing(demo):
    before = [_count(m) for m in (Opportunity, Appointment, ForecastSnapshot, StageStay)]
    result = demo.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert [_count(m) for m in (Opportunity, Appointment, ForecastSnapshot, StageStay)] == before
