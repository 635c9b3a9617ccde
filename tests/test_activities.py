"""Activities on a deal and on a customer, and the deal's timeline (issue #12, items 1 and 3), through the API."""

from __future__ import annotations

import pytest

from tests.helpers import Api, make_customer, make_user


@pytest.fixture
def people(app):
    return {"csr": make_user("csr@x.test", "csr"), "rep": make_user("rep@x.test", "rep"),
            "other_rep": make_user("other@x.test", "rep"), "manager": make_user("manager@x.test", "manager"),
            "scheduler": make_user("sched@x.test", "scheduler")}


@pytest.fixture
def deal(client, people) -> dict:
    customer = make_customer("Hansen household")
    r = Api(client, "csr@x.test").post("/opportunities", {"title": "New furnace", "customer_id": customer.id,
                                                          "kind": "standard-sale", "sales_rep": people["rep"].id})
    assert r.status_code == 201, r.json
    return r.json


def test_a_rep_logs_a_call_on_the_deal_and_everyone_finds_it_on_the_deal_and_the_customer(client, people, deal, clock):
    rep, scheduler = Api(client, "rep@x.test"), Api(client, "sched@x.test")
    call = rep.post(f"/opportunities/{deal['id']}/activities", {
        "type": "call", "at": "2026-03-01T16:30:00-06:00", "outcome": "Wants a quote",
        "text": "Furnace is 20 years old."})
    assert call.status_code == 201, call.json
    body = call.json
    assert body["at"] == "2026-03-01T22:30:00+00:00" and body["created_at"] == clock.now().isoformat()
    assert (body["type_name"], body["author"], body["user"], body["outcome"]) == ("Call", "Rep", "Rep", "Wants a quote")
    assert body["opportunity_id"] == deal["id"] and body["customer_id"] == deal["customer_id"]
    assert body["editable_until"] == "2026-03-02T09:15:00+00:00" and body["addenda"] == []
    note = rep.post(f"/opportunities/{deal['id']}/activities", {"type": "note", "text": "Prefers mornings"}).json
    assert note["at"] == clock.now().isoformat()

    listed = scheduler.get(f"/opportunities/{deal['id']}/activities")
    assert listed.status_code == 200
    assert listed.json["total"] == 2 and [a["text"] for a in listed.json["items"]] == [
        "Prefers mornings", "Furnace is 20 years old."]
    page_two = scheduler.get(f"/opportunities/{deal['id']}/activities?page=2&per_page=1").json
    assert (page_two["total"], page_two["page"], page_two["per_page"]) == (2, 2, 1)
    assert [a["type"] for a in page_two["items"]] == ["call"]

    # the deal's activities are the customer's too; the contact log (calls, visits...) shows the call, not the note
    on_customer = scheduler.get(f"/customers/{deal['customer_id']}/activities").json
    assert [a["type"] for a in on_customer["items"]] == ["note", "call"]
    contact_log = scheduler.get(f"/customers/{deal['customer_id']}/contact-log").json
    assert [(e["channel"], e["summary"], e["opportunity_id"]) for e in contact_log] == [
        ("call", "Furnace is 20 years old.", deal["id"])]


def test_the_contact_log_and_customer_activities_are_one_list(client, people):
    office = Api(client, "csr@x.test")
    customer = make_customer()
    logged = office.post(f"/customers/{customer.id}/contact-log", {"channel": "visit", "summary": "Measured"})
    assert logged.status_code == 201
    note = office.post(f"/customers/{customer.id}/activities", {"type": "note", "text": "Gate code 1234",
                                                                "user_id": people["rep"].id})
    assert note.status_code == 201, note.json
    assert note.json["opportunity_id"] is None and note.json["user"] == "Rep" and note.json["author"] == "Csr"
    items = office.get(f"/customers/{customer.id}/activities").json["items"]
    assert [(a["type_name"], a["text"]) for a in items] == [("Note", "Gate code 1234"), ("Visit", "Measured")]
    assert Api(client, "sched@x.test").post(f"/customers/{customer.id}/activities",
                                            {"type": "note", "text": "x"}).status_code == 403


def test_who_may_log_on_a_deal_follows_who_may_change_it(client, people, deal):
    body = {"type": "note", "text": "Checked in"}
    path = f"/opportunities/{deal['id']}/activities"
    assert Api(client, "other@x.test").post(path, body).status_code == 403
    assert Api(client, "sched@x.test").post(path, body).status_code == 403
    for who in ("rep@x.test", "csr@x.test", "manager@x.test"):
        assert Api(client, who).post(path, body).status_code == 201, who
    assert Api(client, "rep@x.test").get(path).json["total"] == 3


def test_bad_activities_are_refused_naming_the_field_and_nothing_is_logged(client, people, deal, clock):
    rep = Api(client, "rep@x.test")
    path = f"/opportunities/{deal['id']}/activities"
    for body, field in [
        ({"type": "fax", "text": "x"}, "type"),
        ({"type": "call", "text": ""}, "text"),
        ({"type": "call"}, "text"),
        ({"text": "x"}, "type"),
        ({"type": "call", "text": "x", "at": "2026-03-01T10:00:00"}, "at"),
        ({"type": "call", "text": "x", "at": "2026-03-03T10:00:00+00:00"}, "at"),  # tomorrow has not happened
        ({"type": "call", "text": "x", "user_id": 999}, "user_id"),
        ({"type": "call", "text": "x", "outcome": "y" * 201}, "outcome"),
        ({"type": "call", "text": "x", "mood": "good"}, "mood"),
    ]:
        r = rep.post(path, body)
        assert r.status_code == 422, (body, r.json)
        assert field in r.json["errors"], (body, r.json)
    assert rep.get(path).json["total"] == 0
    assert rep.post("/opportunities/999/activities", {"type": "note", "text": "x"}).status_code == 404
    assert rep.get("/customers/999/activities").status_code == 404
    assert rep.get(f"{path}?per_page=500").status_code == 422


def test_the_author_edits_for_fifteen_minutes_then_only_appends(client, people, deal, clock):
    rep, manager = Api(client, "rep@x.test"), Api(client, "manager@x.test")
    call = rep.post(f"/opportunities/{deal['id']}/activities", {"type": "call", "text": "Left a mesage"}).json

    assert manager.patch(f"/activities/{call['id']}", {"text": "x"}).status_code == 403  # not the author
    clock.advance(minutes=14)
    fixed = rep.patch(f"/activities/{call['id']}", {"text": "Left a message", "outcome": "No answer"})
    assert fixed.status_code == 200, fixed.json
    assert (fixed.json["text"], fixed.json["outcome"]) == ("Left a message", "No answer")
    assert rep.patch(f"/activities/{call['id']}", {"type": "fax"}).json["errors"].keys() == {"type"}

    clock.advance(minutes=2)
    late = rep.patch(f"/activities/{call['id']}", {"text": "Something else"})
    assert late.status_code == 409 and "add to it" in late.json["detail"]
    added = rep.post(f"/activities/{call['id']}/append", {"text": "Called back: she wants a quote"})
    assert added.status_code == 200, added.json
    assert added.json["text"] == "Left a message"  # the original is kept
    assert [(a["author"], a["text"], a["at"]) for a in added.json["addenda"]] == [
        ("Rep", "Called back: she wants a quote", clock.now().isoformat())]
    # whoever may log on the deal may add to it; others may not
    assert manager.post(f"/activities/{call['id']}/append", {"text": "Quote sent"}).status_code == 200
    assert Api(client, "other@x.test").post(f"/activities/{call['id']}/append", {"text": "x"}).status_code == 403
    assert rep.post(f"/activities/{call['id']}/append", {"text": " "}).status_code == 422
    assert rep.post("/activities/999/append", {"text": "x"}).status_code == 404
    listed = rep.get(f"/opportunities/{deal['id']}/activities").json["items"][0]
    assert [a["author"] for a in listed["addenda"]] == ["Rep", "Manager"]


def test_the_timeline_merges_changes_and_activities_newest_first_with_sentences(client, people, deal, clock):
    rep, office = Api(client, "rep@x.test"), Api(client, "csr@x.test")
    opp_id = deal["id"]
    clock.advance(minutes=5)
    rep.post(f"/opportunities/{opp_id}/activities", {"type": "call", "text": "Wants a quote", "outcome": "Interested"})
    clock.advance(minutes=5)
    changed = office.patch(f"/opportunities/{opp_id}", {"amount": "1200.00"})
    assert changed.status_code == 200, changed.json
    clock.advance(minutes=5)
    manager = Api(client, "manager@x.test")
    manager.finish_required_tasks(opp_id)
    clock.advance(minutes=5)
    version = office.get(f"/opportunities/{opp_id}").json["version"]
    moved = office.post(f"/opportunities/{opp_id}/stage", {"stage": "qualification", "version": version})
    assert moved.status_code == 200, moved.json

    everything = office.get(f"/opportunities/{opp_id}/timeline")
    assert everything.status_code == 200, everything.json
    items = everything.json["items"]
    assert everything.json["total"] == len(items) and everything.json["page"] == 1
    ats = [i["at"] for i in items]
    assert ats == sorted(ats, reverse=True)
    texts = [i["text"] for i in items]
    assert "Moved from Lead to Qualification" in texts and "Started in Lead" in texts
    assert "Amount: 0.00 → 1200.00" in texts
    assert "Call (Interested): Wants a quote" in texts
    assert texts.index("Moved from Lead to Qualification") < texts.index("Amount: 0.00 → 1200.00") < texts.index(
        "Call (Interested): Wants a quote") < texts.index("Started in Lead")
    call = next(i for i in items if i["kind"] == "activity")
    assert (call["type"], call["event"], call["actor"], call["data"]["outcome"]) == (
        "activities", "call", "Rep", "Interested")
    assert any(i["type"] == "tasks" and i["text"].startswith("Task completed: ") and i["actor"] == "Manager"
               for i in items)

    def only(kind):
        r = office.get(f"/opportunities/{opp_id}/timeline?type={kind}")
        assert r.status_code == 200, r.json
        return r.json["items"]

    assert [i["text"] for i in only("stage")] == ["Moved from Lead to Qualification", "Started in Lead"]
    assert [i["text"] for i in only("activities")] == ["Call (Interested): Wants a quote"]
    assert {i["type"] for i in only("fields")} == {"fields"} and only("fields")
    assert {i["type"] for i in only("tasks")} == {"tasks"}
    assert only("appointments") == [] and only("documents") == []

    first, second = (office.get(f"/opportunities/{opp_id}/timeline?per_page=2&page={p}").json for p in (1, 2))
    assert [i["text"] for i in first["items"] + second["items"]] == texts[:4]
    assert (first["total"], second["per_page"]) == (len(items), 2)

    assert office.get(f"/opportunities/{opp_id}/timeline?type=gossip").json["errors"].keys() == {"type"}
    assert office.get("/opportunities/999/timeline").status_code == 404
    # the history stays as it was: oldest first, events only
    history = office.history(opp_id)
    assert history[0]["type"] == "created" and all("kind" not in e for e in history)


# -- the pages: the same rules and services ----------------------------------------------------------
def _page(client, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, r.data[:300]
    return r.get_data(as_text=True)


def test_a_rep_logs_a_call_from_the_deal_page_and_finds_it_on_the_timeline(app, people, deal):
    from tests.helpers import login

    client = login(app.test_client(), people["rep"])
    logged = client.post(f"/opportunities/{deal['id']}/activities", data={
        "type": "call", "at": "2026-03-02T08:30", "outcome": "Wants a quote", "text": "Furnace is 20 years old",
        "user_id": str(people["rep"].id)})
    assert logged.status_code == 302 and logged.headers["Location"].endswith(f"/opportunities/{deal['id']}#history")
    page = _page(client, f"/opportunities/{deal['id']}")
    assert "Logged." in page and "Furnace is 20 years old" in page and "(Wants a quote)" in page
    assert "2026-03-02 08:30 UTC" in page and "Started in Lead" in page
    calls_only = _page(client, f"/opportunities/{deal['id']}?type=activities")
    assert "Furnace is 20 years old" in calls_only and "Started in Lead" not in calls_only
    stage_only = _page(client, f"/opportunities/{deal['id']}?type=stage")
    assert "Furnace is 20 years old" not in stage_only and "Started in Lead" in stage_only
    assert "Started in Lead" in _page(client, f"/opportunities/{deal['id']}?type=nonsense")
    # the customer's page shows it too
    assert "Furnace is 20 years old" in _page(client, f"/customers/{deal['customer_id']}")


def test_a_refused_activity_comes_back_as_typed_with_the_reason_beside_the_field(app, people, deal):
    from tests.helpers import login

    client = login(app.test_client(), people["rep"])
    refused = client.post(f"/opportunities/{deal['id']}/activities", data={
        "type": "meeting", "at": "2026-03-09T10:00", "outcome": "Signed", "text": "Met at the site"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="err-at"' in page and "That is in the future" in page
    assert '<option value="meeting" selected>' in page and 'value="Signed"' in page
    assert "Met at the site</textarea>" in page
    assert 'value="2026-03-09T10:00"' in page
    empty = client.post(f"/opportunities/{deal['id']}/activities", data={"type": "note", "text": " "})
    assert empty.status_code == 422 and "Say what was talked about." in empty.get_data(as_text=True)
    assert Api(client, "rep@x.test").get(f"/opportunities/{deal['id']}/activities").json["total"] == 0


def test_the_log_form_is_shown_to_those_who_may_log_and_others_are_refused(app, people, deal):
    from tests.helpers import login

    other = login(app.test_client(), people["other_rep"])
    assert "Log activity</button>" not in _page(other, f"/opportunities/{deal['id']}")
    assert other.post(f"/opportunities/{deal['id']}/activities",
                      data={"type": "note", "text": "x"}).status_code in (302, 403)
    assert Api(app.test_client(), "rep@x.test").get(f"/opportunities/{deal['id']}/activities").json["total"] == 0
    owner = login(app.test_client(), people["rep"])
    assert "Log activity</button>" in _page(owner, f"/opportunities/{deal['id']}")


def test_on_the_customer_page_the_office_logs_edits_and_later_adds_to_a_note(app, people, clock):
    from tests.helpers import login

    customer = make_customer("Fjord Fisheries")
    client = login(app.test_client(), people["csr"])
    assert client.post(f"/customers/{customer.id}/activities", data={"type": "note",
                                                                     "text": "Gate code 1234"}).status_code == 302
    [note] = Api(client, "csr@x.test").get(f"/customers/{customer.id}/activities").json["items"]
    page = _page(client, f"/customers/{customer.id}")
    assert "Gate code 1234" in page and "Edit</summary>" in page
    assert client.post(f"/activities/{note['id']}/edit", data={"type": "note", "text": "Gate code 4321",
                                                               "outcome": ""}).status_code == 302
    clock.advance(minutes=20)
    page = _page(client, f"/customers/{customer.id}")
    assert "Gate code 4321" in page and "Edit</summary>" not in page and "Add to it</summary>" in page
    late = client.post(f"/activities/{note['id']}/edit", data={"type": "note", "text": "x"}, follow_redirects=True)
    assert "add to it instead" in late.get_data(as_text=True)
    assert client.post(f"/activities/{note['id']}/append", data={"text": "Changed again in May"}).status_code == 302
    page = _page(client, f"/customers/{customer.id}")
    assert "Gate code 4321" in page and "Changed again in May" in page and "by Csr" in page


def test_timeline_sentences_name_user_defined_fields_and_questions_by_their_labels(client, people, deal):
    from som_flow.services import catalogs

    catalogs.create_custom_field("roof_type", "Roof type", "text")
    catalogs.create_question("budget", "qualification", "Is the budget confirmed?")
    rep = Api(client, "rep@x.test")
    changed = rep.patch(f"/opportunities/{deal['id']}", {"custom": {"roof_type": "Slate"}, "answers": {"budget": True}})
    assert changed.status_code == 200, changed.json
    texts = [i["text"] for i in rep.get(f"/opportunities/{deal['id']}/timeline?type=fields").json["items"]]
    assert "Roof type: empty → Slate" in texts and "Is the budget confirmed?: empty → yes" in texts


def test_a_call_logged_with_a_next_task_puts_both_on_the_deal_in_one_step(client, people, deal):
    rep = Api(client, "rep@x.test")
    logged = rep.post(f"/opportunities/{deal['id']}/activities", {
        "type": "call", "text": "Wants a quote for two units.",
        "next_task": {"title": "Send the quote", "due_at": "2026-03-04T09:00:00+01:00"}})
    assert logged.status_code == 201, logged.json
    mine = rep.get("/tasks?assignee=me").json["items"]
    task = next(t for t in mine if t["title"] == "Send the quote")
    assert task["id"] == logged.json["next_task_id"] and task["opportunity_id"] == deal["id"]
    assert task["due_at"] == "2026-03-04T08:00:00+00:00" and task["source"] == "person"
    kinds = [(i["kind"], i["type"]) for i in rep.get(f"/opportunities/{deal['id']}/timeline").json["items"][:2]]
    assert ("activity", "activities") in kinds and ("event", "tasks") in kinds

    # a next task that cannot be made keeps the call from being logged too: one action, nothing half-written
    before = rep.get(f"/opportunities/{deal['id']}/activities").json["total"]
    refused = rep.post(f"/opportunities/{deal['id']}/activities", {
        "type": "call", "text": "Second call", "next_task": {"title": "Later", "due_at": "3026-01-01T00:00:00Z"}})
    assert refused.status_code == 422 and "next_task" in str(refused.json["errors"])
    assert rep.get(f"/opportunities/{deal['id']}/activities").json["total"] == before
    no_title = rep.post(f"/opportunities/{deal['id']}/activities", {
        "type": "call", "text": "Third call", "next_task": {"due_at": "2026-03-04T09:00:00Z"}})
    assert no_title.status_code == 422 and "next_task.title" in no_title.json["errors"]


def test_the_timeline_names_catalog_values_and_people_not_their_keys(client, people, deal):
    office = Api(client, "csr@x.test")
    opp_id = deal["id"]
    changed = office.patch(f"/opportunities/{opp_id}", {"department": "installation",
                                                        "employee_lead": people["manager"].id})
    assert changed.status_code == 200, changed.json
    texts = [i["text"] for i in office.get(f"/opportunities/{opp_id}/timeline?type=fields").json["items"]]
    assert "Department: empty → Installation" in texts
    assert "Employee lead: empty → Manager" in texts
    assert not any("installation" in t or "→ " + str(people["manager"].id) in t for t in texts)
