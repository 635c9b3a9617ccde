"""Browser journey: an operator checks a running som_flow: the probes, the metrics as an admin sees them after using
the site, a rep refused them, and the request id every page carries."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_an_admin_reads_the_probes_and_the_metrics_after_using_the_site(sessions, viewport):
    admin = sessions.new()
    if viewport:
        admin.page.set_viewport_size(viewport)
    page = admin.page

    alive = page.goto("/healthz")
    assert alive.status == 200 and json.loads(page.inner_text("body")) == {"status": "ok"}
    ready = page.goto("/readyz")  # the test database is built without Alembic: not ready, and says why
    assert ready.status == 503 and "no migrations applied" in page.inner_text("body")
    assert "set-cookie" not in alive.all_headers() and "set-cookie" not in ready.all_headers()  # probes set none

    admin.login("admin@x.test")
    if viewport:  # a phone folds the header's links behind "Menu"
        page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin", exact=True)).to_be_visible()
    first = page.goto("/opportunities")
    second = page.goto("/opportunities")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and ids[0] != ids[1]

    metrics = page.goto("/metrics")
    assert metrics.status == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = page.inner_text("body")
    # the list page was served (twice) under its endpoint's name, never its raw path
    assert re.search(r'endpoint="pages\.opportunit[a-z_]*",method="GET",status="200"\} [2-9]', text)
    assert "som_flow_reminders_due" in text and "som_flow_reminder_lag_seconds" in text
    assert 'endpoint="/opportunities"' not in text
    admin.assert_no_console_errors(r"/favicon\.ico", r"503 .* at .*/readyz")  # the browser reports both


def test_a_rep_is_refused_the_metrics_with_a_reason(sessions):
    rep = sessions.new()
    rep.login("rep@x.test")
    refused = rep.page.goto("/metrics")
    assert refused.status == 403
    body = json.loads(rep.page.inner_text("body"))
    assert body["status"] == 403 and "admins" in body["detail"]
    assert "som_flow_" not in rep.page.inner_text("body")
