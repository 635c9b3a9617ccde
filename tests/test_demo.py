"""`som-flow demo` makes every page look alive: the forecast totals in one currency, the board, the report."""

from __future__ import annotations

import re
from decimal import Decimal

from som_flow import create_app
from som_flow.clock import FixedClock
from som_flow.extensions import db
from tests.conftest import _config


def test_the_demo_data_fills_the_forecast_and_board_and_loads_once(tmp_path):
    app = create_app(_config(f"sqlite:///{tmp_path / 'demo.sqlite'}", tmp_path), clock=FixedClock())
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init"]).exit_code == 0
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "manager@example.com" in first.output
    assert runner.invoke(args=["demo"]).exit_code == 0  # idempotent

    client = app.test_client()
    r = client.post("/login", data={"email": "manager@example.com", "password": "demo-password"})
    assert r.status_code == 302
    page = client.get("/forecast?group_by=stage")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    weighted = re.search(r'id="weighted-total">\$([0-9,.]+)<', html)
    assert weighted and Decimal(weighted.group(1).replace(",", "")) > 0
    assert "Forecast vs actual" in html
    board = client.get("/pipeline").get_data(as_text=True)
    assert "Column totals need exchange rates" not in board
    assert board.count('class="card-item"') > 10
    # the reps report to the demo's managers, so "My team" is a board too (Rita and Ravi are Mona's)
    team = client.get("/pipeline?who=team").get_data(as_text=True)
    assert team.count('class="card-item"') > 5 and "Rita Rep" in team and "Rosa Rep" not in team
    with app.app_context():
        from sqlalchemy import func, select

        from som_flow.models import ForecastSnapshot, Opportunity

        assert db.session.scalar(select(func.count()).select_from(Opportunity)) >= 100
        assert db.session.scalar(select(func.count()).select_from(ForecastSnapshot)) >= 52  # weekly, a year back
        db.engine.dispose()
