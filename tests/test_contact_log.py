"""The customer contact log, and an opportunity created from an interaction (seeds 002 and 003)."""

from __future__ import annotations

from tests.helpers import Api, make_customer, make_user


def _log(api: Api, customer_id: int, **body):
    return api.post(f"/customers/{customer_id}/contact-log", body)


def test_the_office_logs_calls_and_visits_and_everyone_reads_them_newest_first(app, client, clock):
    make_user("csr@x.test", "csr")
    rep_user = make_user("rep@x.test", "rep")
    make_user("sched@x.test", "scheduler")
    office, rep, scheduler = Api(client, "csr@x.test"), Api(client, "rep@x.test"), Api(client, "sched@x.test")
    customer = make_customer("Hansen household")

    call = _log(office, customer.id, channel="call", summary="Furnace is 20 years old\nWants a quote",
                at="2026-03-01T16:30:00-06:00")
    assert call.status_code == 201, call.json
    assert call.json["at"] == "2026-03-01T22:30:00+00:00"
    assert call.json["user"] == "Csr" and call.json["opportunity_id"] is None
    visit = _log(rep, customer.id, channel="visit", summary="Measured the house")
    assert visit.status_code == 201, visit.json
    assert visit.json["at"] == clock.now().isoformat() and visit.json["user_id"] == rep_user.id

    entries = scheduler.get(f"/customers/{customer.id}/contact-log")
    assert entries.status_code == 200
    assert [(e["channel"], e["user"]) for e in entries.json] == [("visit", "Rep"), ("call", "Csr")]
    assert _log(scheduler, customer.id, channel="call", summary="x").status_code == 403
    assert len(office.get(f"/customers/{customer.id}/contact-log").json) == 2


def test_an_entry_names_who_talked_to_the_customer(app, client):
    make_user("csr@x.test", "csr")
    rep_user = make_user("rep@x.test", "rep")
    office = Api(client, "csr@x.test")
    customer = make_customer()
    entry = _log(office, customer.id, channel="meeting", summary="Trade show chat", user_id=rep_user.id)
    assert entry.status_code == 201, entry.json
    assert entry.json["user"] == "Rep"


def test_bad_entries_are_refused_naming_the_field_and_nothing_is_logged(app, client):
    make_user("csr@x.test", "csr")
    office = Api(client, "csr@x.test")
    customer = make_customer()
    for body, field in [
        ({"channel": "fax", "summary": "x"}, "channel"),
        ({"channel": "call", "summary": ""}, "summary"),
        ({"channel": "call"}, "summary"),
        ({"channel": "call", "summary": "x", "at": "2026-03-01T10:00:00"}, "at"),
        ({"channel": "call", "summary": "x", "user_id": 999}, "user_id"),
        ({"channel": "call", "summary": "x", "mood": "good"}, "mood"),
    ]:
        r = _log(office, customer.id, **body)
        assert r.status_code == 422, (body, r.json)
        assert field in r.json["errors"], (body, r.json)
    assert office.get(f"/customers/{customer.id}/contact-log").json == []
    assert _log(office, 999, channel="call", summary="x").status_code == 404
    assert office.get("/customers/999/contact-log").status_code == 404


def test_an_opportunity_created_from_a_call_takes_the_customer_title_and_notes_and_keeps_the_link(app, client):
    make_user("csr@x.test", "csr")
    rep_user = make_user("rep@x.test", "rep")
    office = Api(client, "csr@x.test")
    customer = make_customer("Hansen household", credit_hold=True)
    other = make_customer("Someone else")
    entry = _log(office, customer.id, channel="call",
                 summary="Furnace replacement\nCaller says the furnace is 20 years old.").json

    created = office.post(f"/customers/{customer.id}/contact-log/{entry['id']}/opportunity",
                          {"kind": "standard-sale", "sales_rep": rep_user.id, "amount": "1200.50"})
    assert created.status_code == 201, created.json
    opp = created.json
    assert opp["customer_id"] == customer.id and opp["title"] == "Furnace replacement"
    assert opp["description"] == "Furnace replacement\nCaller says the furnace is 20 years old."
    assert opp["sales_rep"] == rep_user.id and opp["amount"] == "1200.50"

    history = office.history(opp['id'])
    linked = [e for e in history if e["type"] == "created_from_interaction"]
    assert linked and linked[0]["data"]["entry_id"] == entry["id"] and linked[0]["data"]["channel"] == "call"
    assert any(e["type"] == "warning" and "credit hold" in e["data"]["message"] for e in history)
    assert office.get(f"/customers/{customer.id}/contact-log").json[0]["opportunity_id"] == opp["id"]

    again = office.post(f"/customers/{customer.id}/contact-log/{entry['id']}/opportunity", {"kind": "standard-sale"})
    assert again.status_code == 409 and opp["number"] in again.json["detail"]
    wrong_customer = office.post(f"/customers/{other.id}/contact-log/{entry['id']}/opportunity",
                                 {"kind": "standard-sale"})
    assert wrong_customer.status_code == 404


def test_the_caller_may_retitle_the_opportunity_and_a_bad_one_leaves_the_entry_free(app, client):
    make_user("rep@x.test", "rep")
    make_user("sched@x.test", "scheduler")
    rep, scheduler = Api(client, "rep@x.test"), Api(client, "sched@x.test")
    customer = make_customer()
    entry = _log(rep, customer.id, channel="email", summary="Asked for a price list").json
    path = f"/customers/{customer.id}/contact-log/{entry['id']}/opportunity"

    assert scheduler.post(path, {"kind": "standard-sale"}).status_code == 403
    bad = rep.post(path, {"kind": "standard-sale", "amount": "-1"})
    assert bad.status_code == 422 and "amount" in bad.json["errors"]
    assert rep.post(path, {"kind": "no-such-kind"}).json["errors"].keys() == {"kind"}
    assert rep.get(f"/customers/{customer.id}/contact-log").json[0]["opportunity_id"] is None
    assert rep.get("/opportunities").json["total"] == 0

    made = rep.post(path, {"kind": "standard-sale", "title": "Price list follow-up"})
    assert made.status_code == 201, made.json
    assert made.json["title"] == "Price list follow-up" and made.json["description"] == "Asked for a price list"
    # a rep entering a lead works it
    assert made.json["sales_rep_name"] == "Rep"
