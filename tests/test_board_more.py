"""Issue #17: the board page draws the first 20 cards of each column and a column's "Show more" adds the next 20
(GET /pipeline/cards, written like the first ones); GET /api/v1/board reads a long column on with `stage`, `after`
and `per_column`. Both by the board's own rules: whose deals, which signal, closed and archived deals left out, and
a column's count and totals over all its deals."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from som_flow.services import opportunities
from tests.helpers import Api, login, make_customer, make_user
from tests.test_reads_plan import statements


@pytest.fixture
def lead(app):
    """45 deals in Lead, oldest first: every third is another rep's, every other one overdue (closes 1 March, the
    clock is at 2 March)."""
    make_user("boss@x.test", "manager")
    rep, other = make_user("rep@x.test", "rep"), make_user("other@x.test", "rep")
    csr, customer = make_user("csr@x.test", "csr"), make_customer("Acme")
    ids = []
    for n in range(45):
        ids.append(opportunities.create_opportunity(csr, {
            "title": f"Deal {n:02d}", "customer_id": customer.id, "kind": "standard-sale",
            "amount": Decimal("1000.00"), "sales_rep": (other if n % 3 == 0 else rep).id,
            **({"anticipated_close_date": date(2026, 3, 1)} if n % 2 == 0 else {})}).id)
    return {"ids": ids, "rep": rep, "other": other, "customer": customer}


def lead_column(api: Api, query: str = "") -> dict:
    r = api.get(f"/board?kind=standard-sale&currency=USD{query}")
    assert r.status_code == 200, r.json
    return next(col for col in r.json["columns"] if col["stage"]["key"] == "lead")


def card_ids(html: str) -> list[int]:
    """The deals of the cards an HTML page or fragment shows, in its order."""
    return [int(i) for i in re.findall(r'<article class="card-item"[^>]* data-id="(\d+)"', html)]


def ids_of(column: dict) -> list[int]:
    return [card["id"] for card in column["cards"]]


def test_the_api_reads_a_long_column_on_twenty_at_a_time_while_its_count_and_total_cover_every_deal(client, lead):
    manager, ids = Api(client, "boss@x.test"), lead["ids"]
    assert ids_of(lead_column(manager)) == ids  # 50 a column by default: all 45
    assert ids_of(lead_column(manager, "&per_column=20")) == ids[:20]
    r = manager.get(f"/board?kind=standard-sale&currency=USD&stage=lead&after={ids[19]}&per_column=20")
    assert r.status_code == 200, r.json
    (column,) = r.json["columns"]  # only the column asked for
    assert ids_of(column) == ids[20:40]
    assert (column["count"], column["total"]) == (45, "45000.00")
    rest = lead_column(manager, f"&stage=lead&after={ids[39]}&per_column=20")
    assert ids_of(rest) == ids[40:] and (rest["count"], rest["total"]) == (45, "45000.00")
    assert lead_column(manager, f"&stage=lead&after={ids[-1]}")["cards"] == []


def test_a_rep_reading_on_sees_only_their_own_deals_and_the_signal_they_asked_for(client, lead):
    rep, ids = Api(client, "rep@x.test"), lead["ids"]
    own = [i for n, i in enumerate(ids) if n % 3]  # 30 of the 45
    first = lead_column(rep, "&per_column=20")
    assert ids_of(first) == own[:20] and first["count"] == 30
    assert ids_of(lead_column(rep, f"&stage=lead&after={own[19]}&per_column=20")) == own[20:]
    # asking after another rep's deal still gives only the rep's own
    assert ids_of(lead_column(rep, f"&who=mine&stage=lead&after={ids[0]}&per_column=5")) == own[:5]
    overdue = [i for n, i in enumerate(ids) if n % 3 and n % 2 == 0]
    column = lead_column(rep, f"&only=overdue&stage=lead&after={overdue[4]}&per_column=20")
    assert ids_of(column) == overdue[5:] and column["count"] == len(overdue)

    login(client, "rep@x.test")
    more = client.get(f"/pipeline/cards?kind=standard-sale&stage=lead&after={own[19]}")
    assert more.status_code == 200
    assert card_ids(more.get_data(as_text=True)) == own[20:]  # "mine" by default: never another rep's deal


@pytest.mark.parametrize(("query", "field"), [
    ("per_column=0", "per_column"), ("per_column=51", "per_column"), ("per_column=x", "per_column"),
    ("after=-1", "after"), ("after=x", "after"), ("after=99999999999", "after"), ("stage=nowhere", "stage"),
    ("stage=won", "stage"),
])
def test_a_bad_paging_argument_is_a_422_naming_it_on_the_api_and_a_4xx_on_the_page(app, client, query, field):
    make_user("boss@x.test", "manager")
    r = Api(client, "boss@x.test").get(f"/board?kind=standard-sale&{query}")
    assert r.status_code == 422, r.json
    assert r.headers["Content-Type"] == "application/problem+json"
    assert field in r.json["errors"]
    if field != "per_column":  # the page's "Show more" takes no per_column (it adds 20)
        login(client, "boss@x.test")
        assert client.get(f"/pipeline/cards?kind=standard-sale&{query}").status_code in (400, 422)


def test_a_stageless_kind_has_no_stage_to_ask_for_and_a_column_of_a_staged_kind_must_be_named(app, client):
    make_user("boss@x.test", "manager")
    r = Api(client, "boss@x.test").get("/board?kind=stageless&stage=lead")
    assert r.status_code == 422 and "stage" in r.json["errors"]
    login(client, "boss@x.test")
    assert client.get("/pipeline/cards?kind=standard-sale&after=1").status_code == 422
    page = client.get("/pipeline/cards?kind=stageless")
    assert page.status_code == 200 and 'data-more="false"' in page.get_data(as_text=True)


def test_the_page_draws_twenty_cards_a_column_and_show_more_brings_the_next_ones(client, lead):
    ids = lead["ids"]
    login(client, "boss@x.test")
    html = client.get("/pipeline?kind=standard-sale&currency=USD").get_data(as_text=True)
    column = html[html.index('data-stage="lead"'):]
    column = column[:column.index("</section>")]
    assert column.count('class="card-item"') == 20
    assert re.search(r'<span class="count">45</span> · \$45,000.00', column)
    assert ">25 more in the list</a>" in column  # the way on without scripts
    button = re.search(r"<button [^>]*show-more[^>]*>", column).group(0)
    assert " hidden " in button  # pipeline.js shows it
    assert f'data-stage="lead" data-after="{ids[19]}"' in button
    url = re.search(r'data-url="([^"]+)"', button).group(1).replace("&amp;", "&")
    assert url.startswith("/pipeline/cards?") and "kind=standard-sale" in url and "who=all" in url

    def more(after: int) -> str:
        r = client.get(f"{url}&stage=lead&after={after}")
        assert r.status_code == 200 and r.content_type.startswith("text/html")
        return r.get_data(as_text=True)

    batch = more(ids[19])
    assert card_ids(batch) == ids[20:40]
    assert f'data-after="{ids[39]}" data-more="true"' in batch
    assert batch.count('class="move-open"') == 20  # a manager may move every one
    last = more(ids[39])
    assert card_ids(last) == ids[40:]
    assert f'data-after="{ids[-1]}" data-more="false"' in last
    assert 'data-more="false"' in more(ids[-1])


def test_show_more_writes_text_as_text_and_offers_move_to_only_on_the_viewers_own_deals(app, client, lead):
    csr = make_user("csr2@x.test", "csr")
    hostile = opportunities.create_opportunity(csr, {
        "title": '<script>alert("t")</script>', "customer_id": lead["customer"].id, "kind": "standard-sale",
        "amount": Decimal("1000.00"), "sales_rep": lead["rep"].id}).id
    login(client, "rep@x.test")
    batch = client.get(f"/pipeline/cards?kind=standard-sale&who=all&stage=lead&after={lead['ids'][39]}")
    html = batch.get_data(as_text=True)
    assert "<script>" not in html and "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in html
    assert set(card_ids(html)) == {*lead["ids"][40:], hostile}
    for card in re.findall(r"<article .*?</article>", html, re.S):
        opp_id = int(re.search(r'data-id="(\d+)"', card).group(1))
        mine = opp_id == hostile or lead["ids"].index(opp_id) % 3 != 0
        assert ('class="move-open"' in card) == mine, card
        if mine:  # without scripts the link leads to the deal page's Move to and back to the board, not here
            assert "?next=/pipeline%3Fkind%3Dstandard-sale" in card and "pipeline/cards" not in card


def test_show_more_sends_as_many_statements_for_twenty_cards_as_for_two(app, client, lead):
    ids = lead["ids"]
    login(client, "boss@x.test")
    few = statements(lambda: client.get(f"/pipeline/cards?kind=standard-sale&stage=lead&after={ids[42]}"))
    many = statements(lambda: client.get(f"/pipeline/cards?kind=standard-sale&stage=lead&after={ids[19]}"))
    assert many == few


def test_a_stageless_kinds_list_shows_twenty_and_shows_more_without_a_stage(app, client):
    make_user("boss@x.test", "manager")
    csr, customer = make_user("csr@x.test", "csr"), make_customer("Acme")
    ids = [opportunities.create_opportunity(csr, {"title": f"Call {n:02d}", "customer_id": customer.id,
                                                  "kind": "stageless", "amount": Decimal("10.00")}).id
           for n in range(22)]
    login(client, "boss@x.test")
    html = client.get("/pipeline?kind=stageless").get_data(as_text=True)
    assert card_ids(html) == ids[:20] and ">2 more in the list</a>" in html
    button = re.search(r"<button [^>]*show-more[^>]*>", html).group(0)
    assert f'data-stage="" data-after="{ids[19]}"' in button
    url = re.search(r'data-url="([^"]+)"', button).group(1).replace("&amp;", "&")
    batch = client.get(f"{url}&after={ids[19]}").get_data(as_text=True)
    assert card_ids(batch) == ids[20:] and 'data-more="false"' in batch


def test_show_more_leaves_out_archived_and_lost_deals_as_the_board_does(client, lead):
    ids, manager = lead["ids"], Api(client, "boss@x.test")
    assert manager.post(f"/opportunities/{ids[25]}/archive").status_code == 200
    assert manager.post(f"/opportunities/{ids[30]}/lose", {"reason": "price"}).status_code == 200
    later = [i for i in ids[20:] if i not in (ids[25], ids[30])]
    column = lead_column(manager, f"&stage=lead&after={ids[19]}")
    assert ids_of(column) == later and column["count"] == 43
    login(client, "boss@x.test")
    batch = client.get(f"/pipeline/cards?kind=standard-sale&stage=lead&after={ids[19]}").get_data(as_text=True)
    assert card_ids(batch) == later[:20] and 'data-more="true"' in batch
