"""Refusals a user review asked for, each told by field with nothing stored and what was typed kept: a local time
the clocks skip (DST gap) on the schedule board, a won/lost date in the future (page and API), and a deal edit
form saved over by someone else meanwhile (stale version) — both backends."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from som_flow.extensions import db
from som_flow.models import Appointment
from som_flow.services import opportunities as opps
from tests.helpers import Api, login, make_customer, make_user
from tests.test_deal_edit import _info_form


@pytest.fixture(autouse=True)
def many_logins(app):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 1000


def _error_beside(html: str, name: str) -> str:
    found = re.search(rf'id="err-{re.escape(name)}">([^<]*)<', html)
    return found.group(1) if found else ""


def _appointments() -> int:
    return db.session.scalar(select(func.count()).select_from(Appointment))


# -- 1. a local time the clocks skip ----------------------------------------------------------------
@pytest.fixture
def chicago(client):
    make_user("csr@x.test", "csr", timezone="America/Chicago")
    return login(client, "csr@x.test")


@pytest.mark.parametrize(("start", "end"), [("2027-03-14T02:15", "2027-03-14T03:00"),
                                            ("2027-03-14T02:30", "2027-03-14T03:30")])
def test_a_booking_at_a_time_the_clocks_skip_is_refused_naming_the_start_and_keeping_what_was_typed(
        chicago, start, end):
    r = chicago.post("/schedule/appointments", data={"title": "Spring visit", "start": start, "end": end,
                                                     "location": "Depot", "view": "week", "date": "2027-03-14"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    typed = start.replace("T", " ")
    said = f"{typed} does not exist in America/Chicago (the clocks move forward an hour); choose another time."
    assert _error_beside(html, "start") == said
    assert re.search(rf"Check start: {re.escape(said)}", html, re.I)  # the summary above the form names the field
    assert not _error_beside(html, "end")  # 03:00 and 03:30 exist
    assert f'value="{start}"' in html and f'value="{end}"' in html and 'value="Spring visit"' in html
    assert 'value="Depot"' in html
    assert _appointments() == 0


def test_times_either_side_of_the_gap_and_a_time_passed_twice_are_booked(chicago):
    r = chicago.post("/schedule/appointments", data={"title": "After the gap", "start": "2027-03-14T03:00",
                                                     "end": "2027-03-14T04:00"})
    assert r.status_code == 302
    r = chicago.post("/schedule/appointments", data={"title": "Fall back", "start": "2026-11-01T01:30",
                                                     "end": "2026-11-01T02:30"})
    assert r.status_code == 302
    booked = {a.title: (a.start_at, a.end_at) for a in db.session.scalars(select(Appointment))}

    def utc(value):
        return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite hands back naive UTC

    assert tuple(map(utc, booked["After the gap"])) == (datetime(2027, 3, 14, 8, tzinfo=UTC),
                                                        datetime(2027, 3, 14, 9, tzinfo=UTC))
    # 01:30 comes twice on 1 November: the first (CDT, UTC-5) is meant, as before
    assert tuple(map(utc, booked["Fall back"])) == (datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
                                                    datetime(2026, 11, 1, 8, 30, tzinfo=UTC))


def test_a_half_hour_gap_is_refused_too_on_another_form_that_reads_a_local_time(client, clock):
    """Lord Howe Island moves its clocks 30 minutes (02:00 → 02:30 on 4 October 2026); the contact log reads
    "When" with the same helper as the schedule board."""
    make_user("csr@x.test", "csr", timezone="Australia/Lord_Howe")
    customer = make_customer("Northwind Traders")
    clock.set(datetime(2026, 10, 5, 9, 0, tzinfo=UTC))
    login(client, "csr@x.test")
    r = client.post(f"/customers/{customer.id}/activities", data={"type": "call", "at": "2026-10-04T02:15",
                                                                  "text": "Asked about the boiler"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert _error_beside(html, "at") == ("2026-10-04 02:15 does not exist in Australia/Lord_Howe (the clocks move "
                                         "forward 30 minutes); choose another time.")
    assert 'value="2026-10-04T02:15"' in html and "Asked about the boiler" in html
    assert Api(client, "csr@x.test").get(f"/customers/{customer.id}/activities").json["total"] == 0
    assert client.post(f"/customers/{customer.id}/activities", data={
        "type": "call", "at": "2026-10-04T02:30", "text": "Asked about the boiler"}).status_code == 302


# -- 2. a won or lost date in the future --------------------------------------------------------------
@pytest.fixture
def outcome_world(app, client, clock):
    rep = make_user("rep@x.test", "rep", timezone="Pacific/Auckland")
    make_user("chicago@x.test", "manager", timezone="America/Chicago")
    buyer = make_customer("Northwind Traders")
    api = Api(client, "rep@x.test")
    clock.set(datetime(2026, 2, 20, 9, 0, tzinfo=UTC))  # the deal is from 20 February
    deal = api.post("/opportunities", {"title": "Heat pumps", "customer_id": buyer.id, "kind": "standard-sale",
                                       "sales_rep": rep.id}).json
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # 22:00 on 2 March in Auckland
    return {"rep": rep, "deal": deal["id"], "api": api}


def _stored(deal_id):
    db.session.expire_all()
    opp = opps.get_opportunity(deal_id)
    return opp.status, opp.closed, opp.resolved_date


@pytest.mark.parametrize("outcome", ["win", "lose"])
def test_the_api_refuses_a_resolved_date_after_today_naming_it(outcome_world, outcome):
    api, deal = outcome_world["api"], outcome_world["deal"]
    body = {"resolved_date": "2099-01-01", **({"reason": "price"} if outcome == "lose" else {})}
    r = api.post(f"/opportunities/{deal}/{outcome}", body)
    assert r.status_code == 422, r.json
    assert r.json["errors"]["resolved_date"] == ["Must be today, 2026-03-02, or earlier."]
    assert "2099-01-01" in r.json["detail"] and "future" in r.json["detail"]
    assert _stored(deal) == ("in_progress", False, None)
    tomorrow = api.post(f"/opportunities/{deal}/{outcome}", {**body, "resolved_date": "2026-03-03"})
    assert tomorrow.status_code == 422 and "resolved_date" in tomorrow.json["errors"]
    # back-dating stays normal: last week
    r = api.post(f"/opportunities/{deal}/{outcome}", {**body, "resolved_date": "2026-02-23"})
    assert r.status_code == 200, r.json
    assert r.json["resolved_date"] == "2026-02-23"


def test_today_is_the_actors_own_day(outcome_world, clock):
    api, deal = outcome_world["api"], outcome_world["deal"]
    clock.set(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))  # 01:00 on 3 March in Auckland, still 2 March in UTC
    assert api.post(f"/opportunities/{deal}/lose", {"reason": "price", "resolved_date": "2026-03-04"}
                    ).status_code == 422
    r = api.post(f"/opportunities/{deal}/lose", {"reason": "price", "resolved_date": "2026-03-03"})
    assert r.status_code == 200 and r.json["resolved_date"] == "2026-03-03"


def test_a_user_behind_utc_may_give_the_utc_day_the_deal_itself_may_carry(client, outcome_world, clock):
    clock.set(datetime(2026, 3, 3, 2, 0, tzinfo=UTC))  # 20:00 on 2 March in Chicago, 3 March in UTC
    api, deal = Api(client, "chicago@x.test"), outcome_world["deal"]
    far = api.post(f"/opportunities/{deal}/lose", {"reason": "price", "resolved_date": "2026-03-04"})
    assert far.status_code == 422 and far.json["errors"]["resolved_date"] == ["Must be today, 2026-03-03, or earlier."]
    r = api.post(f"/opportunities/{deal}/lose", {"reason": "price", "resolved_date": "2026-03-03"})
    assert r.status_code == 200 and r.json["resolved_date"] == "2026-03-03"


def test_the_lost_dialog_refuses_a_future_date_beside_the_field_keeping_what_was_typed(client, outcome_world):
    deal = outcome_world["deal"]
    login(client, "rep@x.test")
    r = client.post(f"/opportunities/{deal}/lose", data={"reason": "price", "explanation": "Went elsewhere",
                                                         "resolved_date": "2099-01-01"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    dialog = html[html.index('data-dialog="lose"'):html.index('data-dialog="hold"')]
    assert 'data-dialog="lose" open' in dialog
    assert _error_beside(dialog, "resolved_date") == "Must be today, 2026-03-02, or earlier."
    assert "Not saved: see the messages beside the fields." in dialog
    assert ">Went elsewhere</textarea>" in dialog and 'value="2099-01-01"' in dialog
    assert '<option value="price" selected>' in dialog
    assert _stored(deal) == ("in_progress", False, None)

    won = client.post(f"/opportunities/{deal}/win", data={"reason": "relationship", "resolved_date": "2099-01-01"})
    assert won.status_code == 422
    dialog = won.get_data(as_text=True)
    dialog = dialog[dialog.index('data-dialog="win"'):dialog.index('data-dialog="lose"')]
    assert _error_beside(dialog, "resolved_date") == "Must be today, 2026-03-02, or earlier."
    assert _stored(deal) == ("in_progress", False, None)

    r = client.post(f"/opportunities/{deal}/lose", data={"reason": "price", "resolved_date": "2026-02-25"})
    assert r.status_code == 302
    assert _stored(deal)[1:] == (True, datetime(2026, 2, 25).date())


# -- 3. a deal edit form someone else saved over ----------------------------------------------------
@pytest.fixture
def office(client):
    csr = make_user("csr@x.test", "csr")
    rep = make_user("rep@x.test", "rep")
    customer = make_customer("Northwind Traders")
    deal = opps.create_opportunity(csr, {"title": "New boiler", "customer_id": customer.id, "kind": "standard-sale",
                                         "sales_rep": rep.id, "amount": "1000"})
    return {"deal_id": deal.id, "client": client}


def test_a_stale_info_form_is_shown_again_as_typed_and_saves_when_sent_again(office):
    client, deal_id = login(office["client"], "csr@x.test"), office["deal_id"]
    loaded = _info_form(deal_id, title="Boiler and heat pump", description="Typed while someone else saved",
                        external_reference="PO-9")
    loaded_version = int(loaded["version"])
    other = Api(client, "rep@x.test").patch(f"/opportunities/{deal_id}", {"title": "Saved by the rep"})
    assert other.status_code == 200, other.json
    now_version = other.json["version"]
    assert now_version > loaded_version

    r = client.post(f"/opportunities/{deal_id}/edit/info", data=loaded)
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    number = opps.get_opportunity(deal_id).number
    assert (f"Not saved: {number} has changed since you loaded it (version {loaded_version}, now {now_version}). "
            "What you typed is kept below") in html
    box = html[html.index('id="edit-info"'):]
    box = box[:box.index("</form>")]
    assert 'id="edit-info" open' in html
    assert f'name="version" value="{now_version}"' in box  # sending it again saves over the newer values
    assert 'value="Boiler and heat pump"' in box and "Typed while someone else saved" in box
    assert 'value="PO-9"' in box
    assert "<dd>Saved by the rep</dd>" in html  # the newer values, above the form
    db.session.expire_all()
    stored = opps.get_opportunity(deal_id)
    assert (stored.title, stored.version, stored.external_reference) == ("Saved by the rep", now_version, None)

    again = client.post(f"/opportunities/{deal_id}/edit/info", data={**loaded, "version": str(now_version)})
    assert again.status_code == 302
    db.session.expire_all()
    assert opps.get_opportunity(deal_id).title == "Boiler and heat pump"
