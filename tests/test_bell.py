"""The reminder bell on every page (seed 000's "reminders on the status bar"): count, dropdown, mark read."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from som_flow.extensions import db
from som_flow.models import Notification
from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def rep_with_news(app, client, clock):
    rep = make_user("rep@x.test", "rep", timezone="Europe/Oslo")
    other = make_user("other@x.test", "rep")
    make_user("csr@x.test", "csr")
    deal = Api(client, "csr@x.test").post("/opportunities", {
        "title": "Boat sensors", "customer_id": make_customer("Fjord Fisheries").id, "kind": "standard-sale",
        "amount": "1000.00", "sales_rep": rep.id}).json
    at = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 08:00 in Oslo
    for i, title in enumerate(["Follow up: Boat sensors", "Closes on 2026-03-05: Boat sensors", "Task due: Call"]):
        db.session.add(Notification(user_id=rep.id, opportunity_id=deal["id"], title=title, body=deal["number"],
                                    created_at=at + timedelta(minutes=i)))
    db.session.add(Notification(user_id=other.id, title="Not yours", created_at=at))
    db.session.commit()
    login(client, rep)
    return {"rep": rep, "other": other, "deal": deal}


def unread_badge(html: str) -> int:
    return int(re.search(r'id="unread-count" class="count">(\d+)<', html).group(1))


def test_every_page_shows_the_count_and_the_newest_unread_in_the_users_own_time(client, rep_with_news):
    for path in ("/tasks", "/opportunities", "/pipeline"):
        html = client.get(path).get_data(as_text=True)
        assert unread_badge(html) == 3
        menu = html[html.index('class="bell-menu"'):html.index('class="bell-foot"')]
        # newest first, each linked to its deal, at 08:0x Oslo time
        assert [m for m in re.findall(r">([^<>]+: [^<>]+)</a>", menu)] == [
            "Task due: Call", "Closes on 2026-03-05: Boat sensors", "Follow up: Boat sensors"]
        assert f'href="/opportunities/{rep_with_news["deal"]["id"]}"' in menu
        assert "Mon 02 Mar 08:02" in menu
        assert "Not yours" not in html


def test_marking_one_read_from_the_bell_returns_to_the_page_and_lowers_the_count(client, rep_with_news):
    newest = db.session.scalar(select(Notification.id).where(Notification.title == "Task due: Call"))
    r = client.post(f"/notifications/{newest}/read", data={"next": "/pipeline?kind=standard-sale"})
    assert r.status_code == 302 and r.headers["Location"] == "/pipeline?kind=standard-sale"
    html = client.get("/pipeline").get_data(as_text=True)
    assert unread_badge(html) == 2 and "Task due: Call" not in html[html.index('class="bell-menu"'):]
    # on the full list it is still there, shown as read
    listing = client.get("/notifications").get_data(as_text=True)
    assert re.search(r'<li class="read">[^<]*<a [^>]*>Task due: Call</a>', listing)


def test_someone_elses_notification_cannot_be_marked_and_next_cannot_leave_the_site(client, rep_with_news):
    theirs = db.session.scalar(select(Notification.id).where(Notification.title == "Not yours"))
    r = client.post(f"/notifications/{theirs}/read", data={"next": "//evil.example/steal"}, follow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "/notifications"
    assert f"No notification {theirs}" in client.get("/notifications").get_data(as_text=True)
    assert db.session.get(Notification, theirs).read_at is None


def test_mark_all_read_empties_the_bell_for_this_user_only(client, rep_with_news):
    assert client.post("/notifications/read", data={"next": "/tasks"}).headers["Location"] == "/tasks"
    html = client.get("/tasks").get_data(as_text=True)
    assert unread_badge(html) == 0 and "No unread notifications." in html
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.read_at.is_(None))) == 1  # the other rep's stays unread
    # the API sees the same state
    assert Api(client, "rep@x.test").get("/notifications?unread=true").json["total"] == 0


@pytest.mark.parametrize("unread", [0, 7, 8, 9, 20])
def test_the_count_is_every_unread_one_whether_or_not_they_fill_the_bell_or_a_page(client, rep_with_news, unread):
    # the count is read from the page itself when the page is the last one; it must stay right at the edges
    rep = rep_with_news["rep"]
    db.session.execute(Notification.__table__.update().where(Notification.user_id == rep.id)
                       .values(read_at=datetime(2026, 3, 3, tzinfo=UTC)))
    for i in range(unread):
        db.session.add(Notification(user_id=rep.id, title=f"News {i}", created_at=datetime(2026, 3, 4, tzinfo=UTC)
                                    + timedelta(minutes=i)))
    db.session.commit()
    html = client.get("/pipeline").get_data(as_text=True)
    if unread:
        assert unread_badge(html) == unread
        assert html[html.index('class="bell-menu"'):].count(">News ") == min(unread, 8)
    api = Api(client, "rep@x.test")
    for per_page in (3, 8, 9):
        for page in (1, 2, 3, 4, 9):
            r = api.get(f"/notifications?unread=true&per_page={per_page}&page={page}")
            assert r.status_code == 200, r.json
            assert r.json["total"] == unread, (per_page, page)
            assert len(r.json["items"]) == max(0, min(per_page, unread - (page - 1) * per_page))
