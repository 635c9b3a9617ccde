"""Issue #13 item 3: a board that signals. Each card says whether its deal is on hold, overdue (its close date passed,
by the viewer's calendar), stale (longer in its stage than the stage's SLA) or has no next activity; the board shows
mine / my team / all; a stageless kind shows its deals as one list. The page and GET /api/v1/board agree."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from som_flow.services import catalogs
from tests.helpers import Api, login, make_customer, make_user
from tests.test_reads_plan import statements


@pytest.fixture
def world(app):
    manager = make_user("boss@x.test", "manager")
    return {
        "manager": manager,
        "rep": make_user("rep@x.test", "rep", timezone="Europe/Oslo"),
        "customer": make_customer("Acme"),
        "office": Api(app.test_client(), make_user("csr@x.test", "csr").email),
    }


def deal(world, title: str, rep, **extra) -> dict:
    r = world["office"].post("/opportunities", {"title": title, "customer_id": world["customer"].id,
                                                "kind": extra.pop("kind", "standard-sale"), "sales_rep": rep.id,
                                                "amount": "1000.00", **extra})
    assert r.status_code == 201, r.json
    return r.json


def cards(api: Api, query: str = "") -> dict[str, dict]:
    """The board's cards by title, each with the stage of its column."""
    r = api.get(f"/board?kind=standard-sale&currency=USD{query}")
    assert r.status_code == 200, r.json
    return {c["title"]: {**c, "stage": col["stage"]["key"]} for col in r.json["columns"] for c in col["cards"]}


def test_a_card_is_overdue_once_its_close_date_has_passed_on_the_viewers_calendar(app, client, clock, world):
    clock.set(datetime(2026, 3, 2, 22, 30, tzinfo=UTC))  # 23:30 in Oslo, 22:30 in London
    deal(world, "Roof", world["rep"], anticipated_close_date="2026-03-02")
    deal(world, "Fence", world["rep"], anticipated_close_date="2026-03-01")
    rep = Api(client, "rep@x.test")
    assert "overdue" not in cards(rep)["Roof"]["signals"]  # due today: not yet overdue
    assert "overdue" in cards(rep)["Fence"]["signals"]
    clock.advance(hours=1)  # past midnight in Oslo (the rep's zone), still 2 March in UTC
    assert "overdue" in cards(rep)["Roof"]["signals"]
    manager = Api(client, "boss@x.test")  # a UTC viewer's day has not turned yet
    assert "overdue" not in cards(manager)["Roof"]["signals"]


def test_a_card_is_stale_after_longer_in_its_stage_than_the_stage_sla_and_never_without_one(app, client, clock,
                                                                                              world):
    deal(world, "Roof", world["rep"])
    rep = Api(client, "rep@x.test")
    clock.advance(days=30)
    assert "stale" not in cards(rep)["Roof"]["signals"]  # Lead has no SLA: never stale
    catalogs.update_stage("lead", {"sla_days": 7})
    clock.set(clock.now() - timedelta(days=24))  # 6 days in Lead
    assert "stale" not in cards(rep)["Roof"]["signals"]
    clock.advance(days=2)  # 8 days in Lead, the SLA is 7
    assert "stale" in cards(rep)["Roof"]["signals"]
    r = rep.post(f"/opportunities/{cards(rep)['Roof']['id']}/hold")
    assert r.status_code == 200, r.json
    assert cards(rep)["Roof"]["signals"][:1] == ["on_hold"]  # on hold is its own signal, not stale
    assert "stale" not in cards(rep)["Roof"]["signals"]


def test_a_card_has_no_next_activity_when_no_task_is_open_and_no_appointment_is_to_come(app, client, clock, world):
    roof = deal(world, "Roof", world["rep"])
    rep = Api(client, "rep@x.test")
    assert "no_next_activity" not in cards(rep)["Roof"]["signals"]  # Lead's generated tasks are open
    for task in rep.get(f"/tasks?opportunity={roof['id']}").json["items"]:
        assert rep.post(f"/tasks/{task['id']}/complete", {"data": {f: "yes" for f in task["form"]}}).status_code == 200
    assert "no_next_activity" in cards(rep)["Roof"]["signals"]
    start = clock.now() + timedelta(days=1)
    booked = rep.post("/appointments", {"title": "Site visit", "opportunity_id": roof["id"],
                                        "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()})
    assert booked.status_code == 201, booked.json
    assert "no_next_activity" not in cards(rep)["Roof"]["signals"]
    clock.advance(days=2)  # the visit is over
    assert "no_next_activity" in cards(rep)["Roof"]["signals"]


def test_show_only_one_signal_narrows_the_cards_and_the_column_counts(app, client, clock, world):
    deal(world, "Roof", world["rep"], anticipated_close_date="2026-03-01")
    deal(world, "Fence", world["rep"], anticipated_close_date="2026-04-01")
    manager = Api(client, "boss@x.test")
    r = manager.get("/board?kind=standard-sale&currency=USD&only=overdue")
    assert r.status_code == 200
    lead = r.json["columns"][0]
    assert [c["title"] for c in lead["cards"]] == ["Roof"]
    assert (lead["count"], lead["total"]) == (1, "1000.00")
    assert r.json["only"] == "overdue"


def test_a_rep_sees_their_own_deals_by_default_and_a_manager_all(app, client, world):
    other = make_user("other@x.test", "rep")
    deal(world, "Mine", world["rep"])
    deal(world, "Theirs", other)
    rep, manager = Api(client, "rep@x.test"), Api(client, "boss@x.test")
    assert rep.get("/board?kind=standard-sale").json["who"] == "mine"
    assert set(cards(rep)) == {"Mine"}
    assert set(cards(rep, "&who=all")) == {"Mine", "Theirs"}
    assert manager.get("/board?kind=standard-sale").json["who"] == "all"
    assert set(cards(manager)) == {"Mine", "Theirs"}
    lead = manager.get("/board?kind=standard-sale&currency=USD&who=mine").json["columns"][0]
    assert (lead["cards"], lead["count"], lead["total"]) == ([], 0, "0.00")


def test_a_team_is_who_reports_to_the_manager_and_a_reps_colleagues_under_the_same_manager(app, client, world):
    admin = Api(client, make_user("admin@x.test", "admin").email)
    made = {}
    for name, manager in [("ann", world["manager"].id), ("bob", world["manager"].id), ("eve", None)]:
        r = admin.post("/users", {"email": f"{name}@x.test", "name": name.title(), "roles": ["rep"],
                                  "manager_id": manager, "password": "secret-password"})
        assert r.status_code == 201, r.json
        assert r.json["manager_id"] == manager
        made[name] = r.json["id"]
    from som_flow.services.users import get_user
    for name in made:
        deal(world, f"{name.title()}'s deal", get_user(made[name]))
    team = {"Ann's deal", "Bob's deal"}
    assert set(cards(Api(client, "boss@x.test"), "&who=team")) == team
    assert set(cards(Api(client, "ann@x.test"), "&who=team")) == team  # a colleague's too, not Eve's
    assert set(cards(Api(client, "eve@x.test"), "&who=team")) == {"Eve's deal"}  # reports to nobody: just hers

    unknown = admin.post("/users", {"email": "x@x.test", "name": "X", "roles": ["rep"], "manager_id": 9999})
    assert unknown.status_code == 422
    assert "manager_id" in unknown.json["errors"]

    # Eve joins the team; Bob now reports to nobody
    for name, manager in [("eve", world["manager"].id), ("bob", None)]:
        r = admin.client.put(f"/api/v1/users/{made[name]}/manager", json={"manager_id": manager},
                             headers=admin.headers)
        assert r.status_code == 200, r.json
        assert r.json["manager_id"] == manager
    assert set(cards(Api(client, "boss@x.test"), "&who=team")) == {"Ann's deal", "Eve's deal"}
    itself = admin.client.put(f"/api/v1/users/{made['ann']}/manager", json={"manager_id": made["ann"]},
                              headers=admin.headers)
    assert itself.status_code == 422 and "manager_id" in itself.json["errors"]
    # Ann reports to Boss: Boss reporting to Ann would be a circle
    circle = admin.client.put(f"/api/v1/users/{world['manager'].id}/manager", json={"manager_id": made["ann"]},
                              headers=admin.headers)
    assert circle.status_code == 422 and "manager_id" in circle.json["errors"], circle.json
    rep = Api(client, "ann@x.test")
    assert rep.client.put(f"/api/v1/users/{made['ann']}/manager", json={"manager_id": None},
                          headers=rep.headers).status_code == 403


def test_a_bad_who_or_signal_is_a_422_naming_it_on_the_api_and_the_page(app, client, world):
    manager = Api(client, "boss@x.test")
    for name in ("who", "only"):
        r = manager.get(f"/board?kind=standard-sale&{name}=everyone")
        assert r.status_code == 422
        assert name in r.json["errors"]
    login(client, "boss@x.test")
    page = client.get("/pipeline?who=everyone")
    assert page.status_code in (400, 422)


def test_a_card_lists_the_stages_its_process_allows_and_the_page_offers_them_to_move_to(app, client, world):
    deal(world, "Roof", world["rep"])
    rep = Api(client, "rep@x.test")
    assert cards(rep)["Roof"]["move_to"] == ["qualification"]  # a standard kind: no skipping
    login(client, "rep@x.test")
    html = client.get("/pipeline?kind=standard-sale").get_data(as_text=True)
    roof = html[html.index('data-name="'):]
    roof = roof[:roof.index("</article>")]
    assert 'data-moves="qualification"' in roof  # what the shared dialog offers for this card
    assert "Move to…" in roof and "Roof</span></a>" in roof
    # one "Move to" form for the whole board, offering the kind's stages (pipeline.js keeps the card's own)
    assert html.count('<dialog id="move-dialog"') == 1 and html.count('name="stage"') == 1
    assert '<option value="qualification">Qualification</option>' in html


def test_without_scripts_move_to_is_a_link_to_the_deal_pages_move_which_comes_back_to_the_board(app, client, world):
    roof = deal(world, "Roof", world["rep"])
    login(client, "rep@x.test")
    html = client.get("/pipeline?kind=standard-sale&who=mine").get_data(as_text=True)
    link = re.search(r'<a class="move-open" href="([^"]+)"', html).group(1)
    assert link == f"/opportunities/{roof['id']}?next=/pipeline%3Fkind%3Dstandard-sale%26who%3Dmine#stage-move"
    deal_page = client.get(link.split("#")[0]).get_data(as_text=True)
    form = deal_page[deal_page.index('id="stage-move"'):]
    form = form[:form.index("</form>")]
    assert '<input type="hidden" name="next" value="/pipeline?kind=standard-sale&amp;who=mine">' in form
    assert form.count('name="next"') == 1


def test_the_page_shows_signals_as_words_with_a_legend_and_keeps_who_in_the_links(app, client, clock, world):
    deal(world, "Roof", world["rep"], anticipated_close_date="2026-03-01")
    login(client, "boss@x.test")
    html = client.get("/pipeline?kind=standard-sale&who=all").get_data(as_text=True)
    roof = html[html.index("Roof"):]
    roof = roof[:roof.index("</article>")]
    assert ">Overdue</li>" in roof
    assert '<article class="card-item" data-signals="overdue"' in html  # the card's mark beside the words
    assert "What the signals mean" in html and "Its anticipated close date has passed." in html
    assert 'who=team' in html and 'who=mine' in html
    assert 'aria-current="true">All</a>' in html


def test_a_stageless_kind_shows_its_deals_as_a_list(app, client, world):
    deal(world, "Service call", world["rep"], kind="stageless")
    manager = Api(client, "boss@x.test")
    r = manager.get("/board?kind=stageless&currency=USD")
    assert r.status_code == 200, r.json
    (column,) = r.json["columns"]
    assert column["stage"] is None and column["count"] == 1
    assert [c["title"] for c in column["cards"]] == ["Service call"]
    login(client, "boss@x.test")
    html = client.get("/pipeline?kind=stageless").get_data(as_text=True)
    assert "open deals without stages" in html and "Service call" in html


def test_the_board_sends_as_many_statements_for_many_cards_as_for_two(app, client, world):
    login(client, "boss@x.test")
    for n in range(2):
        deal(world, f"Deal {n}", world["rep"], anticipated_close_date="2026-03-01")
    few = statements(lambda: client.get("/pipeline?kind=standard-sale"))
    for n in range(2, 14):
        deal(world, f"Deal {n}", make_user(f"rep{n}@x.test", "rep"), anticipated_close_date="2026-03-01")
    assert statements(lambda: client.get("/pipeline?kind=standard-sale")) == few


def test_without_scripts_move_to_posts_the_form_and_comes_back_to_the_board(app, client, world):
    roof = deal(world, "Roof", world["rep"])
    for task in Api(client, "rep@x.test").get(f"/tasks?opportunity={roof['id']}").json["items"]:
        if task["required"] and not task["gate"]:
            Api(client, "rep@x.test").post(f"/tasks/{task['id']}/complete",
                                           {"data": {f: "yes" for f in task["form"]}})
    login(client, "rep@x.test")
    r = client.post(f"/opportunities/{roof['id']}/stage", data={
        "stage": "qualification", "version": Api(client, "rep@x.test").get(f"/opportunities/{roof['id']}").json[
            "version"], "next": "/pipeline?kind=standard-sale&who=mine"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/pipeline?kind=standard-sale&who=mine")
    assert cards(Api(client, "rep@x.test"))["Roof"]["stage"] == "qualification"


def test_the_board_speaks_norwegian_to_a_norwegian_browser(app, client, world):
    deal(world, "Tak", world["rep"], anticipated_close_date="2026-03-01")
    login(client, "rep@x.test")
    html = client.get("/pipeline?kind=standard-sale", headers={"Accept-Language": "nb-NO"}).get_data(as_text=True)
    assert ">Forfalt</li>" in html and "Hva varslene betyr" in html and "Flytt til" in html
    assert 'data-refused="Kunne ikke flytte {deal} til {stage}: {reason}"' in html
    assert ">Mine</a>" in html and ">Mitt team</a>" in html


def test_a_cards_text_from_people_is_shown_as_text_never_as_markup(app, client, world):
    # the cards are written in Python (web/ui/board_cards.py), not by Jinja's autoescaping: every value escaped
    title, customer = '<script>alert("t")</script>', '<img src=x onerror="alert(1)"> & Sons\''
    r = world["office"].post("/opportunities", {"title": title, "customer_id": make_customer(customer).id,
                                                "kind": "standard-sale", "sales_rep": world["rep"].id,
                                                "amount": "1000.00"})
    assert r.status_code == 201, r.json
    login(client, "boss@x.test")
    page = client.get("/pipeline?kind=standard-sale&who=all").get_data(as_text=True)

    class Card(HTMLParser):  # what a browser makes of the card: its tags, their attributes and its text
        def __init__(self):
            super().__init__()
            self.tags, self.texts, self.attrs = [], [], {}

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            self.attrs.setdefault(tag, dict(attrs))

        def handle_data(self, data):
            self.texts.append(data)

    card = Card()
    start = page.rindex("<article", 0, page.index(f'data-id="{r.json["id"]}"'))
    card.feed(page[start:page.index("</article>", start)])
    assert "script" not in card.tags and "img" not in card.tags
    assert title in card.texts and customer in card.texts
    assert card.attrs["article"]["data-name"] == f"{r.json['number']} {title}"
    assert f" {r.json['number']} {title}" in card.texts  # the Move to link's name
