"""README's "Who may do what", copied here as data: for each action and role, the API and a page both allow or
both refuse, as the table says. The copy is checked against the README, so a change to either shows here."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from som_flow.extensions import db
from som_flow.models import Customer, Estimate, Opportunity
from tests.helpers import Api, login, make_customer, make_user

ROLES = ("admin", "manager", "csr", "rep", "scheduler")
ALL, OWN, NONE = "✓", "own", ""

# an independent copy of the README's rows (columns in ROLES order); OWN stands for the rep's "own ... only"
TABLE = {
    "edit / move / win / lose / hold an opportunity": (ALL, ALL, ALL, OWN, NONE),
    "reopen a won or lost opportunity": (ALL, ALL, NONE, OWN, NONE),
    "add a task to an open deal (for oneself or a pool)": (ALL, ALL, ALL, OWN, NONE),
    "assign an opportunity or a task to someone": (ALL, ALL, ALL, NONE, NONE),
    "log activities (notes, calls, e-mails, meetings) on a deal or add to them": (ALL, ALL, ALL, OWN, NONE),
    "bulk-act on every deal a list filter selects (each deal by the row above)": (ALL, ALL, ALL, OWN, NONE),
    "add and edit customers, jobs and contacts": (ALL, ALL, ALL, ALL, NONE),
    "see colleagues' appointments and reminders (`?user=`, the board, the calendar feed)": (ALL, ALL, ALL, OWN, ALL),
    "edit, move, complete or delete an appointment": (ALL, ALL, ALL, OWN, ALL),
    "write, edit or select an estimate": (ALL, ALL, ALL, OWN, NONE),
    "add or remove parties and primary demand lines": (ALL, ALL, ALL, OWN, NONE),
    "archive, unarchive or delete an opportunity made by mistake": (ALL, ALL, NONE, NONE, NONE),
    "read the operators' metrics (`/metrics`; a scraper sends `SOM_FLOW_METRICS_TOKEN` instead)":
        (ALL, NONE, NONE, NONE, NONE),
}
README_CELLS = {ALL: "✓", NONE: "", OWN: ("own deals only", "own only")}


def test_the_copy_agrees_with_the_readme():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    rows = {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip().strip("|").split("|")]
                                               for line in readme.splitlines() if line.startswith("| "))}
    for action, cells in TABLE.items():
        assert action in rows, f"README has no row {action!r}"
        for role, ours, theirs in zip(ROLES, cells, rows[action], strict=True):
            assert theirs in ((README_CELLS[ours],) if ours != OWN else README_CELLS[OWN]), (action, role, theirs)


@pytest.fixture
def world(app):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 1000
    people = {role: make_user(f"{role}@x.test", role) for role in ROLES}
    people["colleague"] = make_user("colleague@x.test", "rep")
    people["customer"] = make_customer("Northwind Traders")
    return people


def _deal(app, world, owner: str, closed: bool = False) -> int:
    api = Api(app.test_client(), "manager@x.test")
    r = api.post("/opportunities", {"title": "CRM licenses", "customer_id": world["customer"].id,
                                    "kind": "standard-sale", "sales_rep": world[owner].id})
    assert r.status_code == 201, r.json
    if closed:
        assert api.post(f"/opportunities/{r.json['id']}/lose", {"reason": "price"}).status_code == 200
    return r.json["id"]


def _page_client(app, role: str):
    client = app.test_client()
    login(client, f"{role}@x.test")
    return client


def _opportunity(opp_id: int) -> Opportunity:
    db.session.expire_all()
    return db.session.get(Opportunity, opp_id)


def _status_allowed(response, created: bool = False) -> bool:
    done = (201, 204) if created else (200,)
    assert response.status_code in (*done, 403), response.get_data(as_text=True)
    return response.status_code in done


def hold(app, world, role, owner) -> tuple[bool, bool]:
    by_api = _deal(app, world, owner)
    api = _status_allowed(Api(app.test_client(), f"{role}@x.test").post(f"/opportunities/{by_api}/hold"))
    by_page = _deal(app, world, owner)
    _page_client(app, role).post(f"/opportunities/{by_page}/hold")
    return api, _opportunity(by_page).status == "on_hold"


def reopen(app, world, role, owner) -> tuple[bool, bool]:
    by_api = _deal(app, world, owner, closed=True)
    api = _status_allowed(Api(app.test_client(), f"{role}@x.test").post(f"/opportunities/{by_api}/reopen"))
    by_page = _deal(app, world, owner, closed=True)
    _page_client(app, role).post(f"/opportunities/{by_page}/reopen")
    return api, not _opportunity(by_page).closed


def add_task(app, world, role, owner) -> tuple[bool, bool]:
    by_api = _deal(app, world, owner)
    api = Api(app.test_client(), f"{role}@x.test").post("/tasks", {"title": "Call back", "opportunity_id": by_api})
    assert api.status_code in (201, 403), api.json
    by_page = _deal(app, world, owner)
    _page_client(app, role).post(f"/opportunities/{by_page}/tasks", data={"title": "Call back", "for": "me"})
    added = Api(app.test_client(), "admin@x.test").get(f"/tasks?opportunity={by_page}&assignee={world[role].id}")
    return api.status_code == 201, any(t["title"] == "Call back" for t in added.json["items"])


def assign(app, world, role, owner) -> tuple[bool, bool]:
    to = world["manager"].id
    by_api = _deal(app, world, owner)
    api = _status_allowed(Api(app.test_client(), f"{role}@x.test").post(f"/opportunities/{by_api}/assign",
                                                                          {"user_id": to}))
    by_page = _deal(app, world, owner)
    _page_client(app, role).post(f"/opportunities/{by_page}/assign", data={"user_id": str(to)})
    return api, _opportunity(by_page).sales_rep_id == to


def bulk_hold(app, world, role, owner) -> tuple[bool, bool]:
    """The API's bulk on the deal's id; the page's "all matching this filter" on a filter selecting one deal."""
    by_api = _deal(app, world, owner)
    r = Api(app.test_client(), f"{role}@x.test").post("/opportunities/bulk", {"ids": [by_api], "action": "hold"})
    api = _status_allowed(r) and r.json["done"] == [by_api]
    by_page = _deal(app, world, owner)
    number = _opportunity(by_page).number
    _page_client(app, role).post(f"/opportunities?q={number}", data={"scope": "filter", "action": "hold"})
    return api, _opportunity(by_page).status == "on_hold"


def edit_customer(app, world, role, owner) -> tuple[bool, bool]:
    customer = world["customer"].id
    api = _status_allowed(Api(app.test_client(), f"{role}@x.test").patch(f"/customers/{customer}",
                                                                          {"payment_terms": f"API {role}"}))
    _page_client(app, role).post(f"/customers/{customer}/edit/payment", data={"payment_terms": f"Page {role}"})
    db.session.expire_all()
    return api, db.session.get(Customer, customer).payment_terms == f"Page {role}"


def see_calendar(app, world, role, owner) -> tuple[bool, bool]:
    whose = world[owner].id
    api_client = Api(app.test_client(), f"{role}@x.test")
    api = _status_allowed(api_client.get(f"/appointments?user={whose}"))
    # the reminder list and the calendar feed answer as the appointment list does
    assert _status_allowed(api_client.get(f"/reminders?user={whose}")) == api
    assert _status_allowed(app.test_client().get(f"/api/v1/calendar/{whose}.ics", headers=api_client.headers)) == api
    return api, _status_allowed(_page_client(app, role).get(f"/schedule?user={whose}"))


def log_activity(app, world, role, owner) -> tuple[bool, bool]:
    from som_flow.services.activities import activities_of_opportunity

    by_api = _deal(app, world, owner)
    r = Api(app.test_client(), f"{role}@x.test").post(f"/opportunities/{by_api}/activities",
                                                        {"type": "call", "text": "Asked for a quote"})
    assert r.status_code in (201, 403), r.json
    by_page = _deal(app, world, owner)
    _page_client(app, role).post(f"/opportunities/{by_page}/activities", data={"type": "call", "text": "Quote"})
    db.session.expire_all()
    return r.status_code == 201, activities_of_opportunity(by_page)[1] == 1


def change_appointment(app, world, role, owner) -> tuple[bool, bool]:
    """An appointment `owner` attends: the API's edit, and the appointment page's delete."""
    from som_flow.models import Appointment

    def book() -> int:
        r = Api(app.test_client(), "manager@x.test").post("/appointments", {
            "title": "Site visit", "attendees": [world[owner].id],
            "start": "2026-03-05T13:00:00+00:00", "end": "2026-03-05T14:00:00+00:00"})
        assert r.status_code == 201, r.json
        return r.json["id"]

    by_api = book()
    api = _status_allowed(Api(app.test_client(), f"{role}@x.test").patch(f"/appointments/{by_api}",
                                                                           {"title": "Moved"}))
    by_page = book()
    _page_client(app, role).post(f"/schedule/appointments/{by_page}/delete")
    db.session.expire_all()
    return api, db.session.get(Appointment, by_page) is None


def _estimates(opp_id: int) -> list[Estimate]:
    db.session.expire_all()
    return list(db.session.scalars(select(Estimate).where(Estimate.opportunity_id == opp_id)))


def write_estimate(app, world, role, owner) -> tuple[bool, bool]:
    line = {"description": "Licenses", "quantity": "10", "price": "99.00"}
    by_api = _deal(app, world, owner)
    api = _status_allowed(Api(app.test_client(), f"{role}@x.test").post(f"/opportunities/{by_api}/estimates",
                                                                          {"lines": [line]}), created=True)
    by_page = _deal(app, world, owner)
    _page_client(app, role).post(f"/opportunities/{by_page}/estimates",
                                 data={f"lines-0-{k}": v for k, v in line.items()})
    return api, len(_estimates(by_page)) == 1


def add_demand(app, world, role, owner) -> tuple[bool, bool]:
    line = {"description": "Licenses", "quantity": "10", "amount": "990.00"}
    by_api = _deal(app, world, owner)
    api = _status_allowed(Api(app.test_client(), f"{role}@x.test").post(f"/opportunities/{by_api}/demand", line),
                          created=True)
    by_page = _deal(app, world, owner)
    _page_client(app, role).post(f"/opportunities/{by_page}/demand", data=line)
    return api, len(_opportunity(by_page).demand_lines) == 1


def archive_or_delete(app, world, role, owner) -> tuple[bool, bool]:
    as_role = Api(app.test_client(), f"{role}@x.test")
    by_api = _deal(app, world, owner)
    api = _status_allowed(as_role.post(f"/opportunities/{by_api}/archive"))
    assert _status_allowed(as_role.delete(f"/opportunities/{_deal(app, world, owner)}"), created=True) == api
    page_client = _page_client(app, role)
    by_page = _deal(app, world, owner)
    page_client.post(f"/opportunities/{by_page}/archive")
    to_delete = _deal(app, world, owner)
    page_client.post(f"/opportunities/{to_delete}/delete")
    assert (_opportunity(to_delete) is None) == (_opportunity(by_page).archived_at is not None)
    return api, _opportunity(by_page).archived_at is not None


def read_metrics(app, world, role, owner) -> tuple[bool, bool]:
    by_token = app.test_client().get("/metrics", headers=Api(app.test_client(), f"{role}@x.test").headers)
    by_session = _page_client(app, role).get("/metrics")
    return _status_allowed(by_token), _status_allowed(by_session)


CHECKS = dict(zip(TABLE, (hold, reopen, add_task, assign, log_activity, bulk_hold, edit_customer, see_calendar,
                          change_appointment, write_estimate, add_demand, archive_or_delete, read_metrics),
                  strict=True))
CASES = [(action, role, owner) for action, cells in TABLE.items() for role, cell in zip(ROLES, cells, strict=True)
         # a rep's "own only" is tried on their own and on a colleague's; everyone else on a colleague's
         for owner in (("rep", "colleague") if cell == OWN else ("colleague",))]


@pytest.mark.parametrize(("action", "role", "owner"), CASES,
                         ids=[f"{a.split(' ')[0]}-{r}-{o}" for a, r, o in CASES])
def test_the_api_and_the_pages_follow_the_readme_table(app, world, action, role, owner):
    cell = TABLE[action][ROLES.index(role)]
    expected = cell == ALL or (cell == OWN and owner == role)
    by_api, by_page = CHECKS[action](app, world, role, owner)
    assert (by_api, by_page) == (expected, expected)


def test_the_reopen_button_is_shown_to_those_who_may_reopen(app, world):
    closed = _deal(app, world, "rep", closed=True)
    pages = {role: _page_client(app, role).get(f"/opportunities/{closed}").get_data(as_text=True)
             for role in ("manager", "csr", "rep")}
    shown = {role: "Yes, reopen</button>" in page for role, page in pages.items()}
    assert shown == {"manager": True, "csr": False, "rep": True}
