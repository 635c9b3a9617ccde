"""The opportunity list's row menus: each row's actions are buttons of one shared form that name their own address
and value, "Mark lost" opens one shared dialog (or, without scripts, the deal page's own form), and every action
comes back to the list it was chosen on. The rows name a deal's customer as Customer:Job, however deep the job."""

from __future__ import annotations

import re
from html import unescape

import pytest

from som_flow.services import opportunities
from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def office(app, client):
    csr = make_user("csr@x.test", "csr")
    rep = make_user("rep@x.test", "rep")
    manager = make_user("boss@x.test", "manager")
    return {"csr": csr, "rep": rep, "manager": manager, "customer": make_customer("Northwind Traders"),
            "client": client}


def _deal(office, title: str, **extra) -> int:
    return opportunities.create_opportunity(office["csr"], {
        "title": title, "customer_id": office["customer"].id, "kind": "standard-sale", **extra}).id


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def _row(html: str, deal: int) -> str:
    start = html.index(f'<tr data-id="{deal}"')
    return html[start:html.index("</tr>", start)]


def _buttons(row: str) -> dict[str, dict[str, str]]:
    """The row menu's buttons by their text: each one's attributes."""
    found = {}
    for attrs, text in re.findall(r"<button([^>]*)>([^<]*)</button>", row):
        found[unescape(text)] = {k: unescape(v) for k, v in re.findall(r'(\w+)="([^"]*)"', attrs)}
    return found


def test_each_row_offers_its_actions_as_buttons_of_the_one_shared_form(office):
    deal = _deal(office, "Boat", sales_rep=office["rep"].id)
    client = login(office["client"], "rep@x.test")
    html = _page(client, "/opportunities?q=boat")
    opp = opportunities.get_opportunity(deal)
    row = _row(html, deal)

    assert f'aria-label="Actions for {opp.number}"' in row
    buttons = _buttons(row)
    assert set(buttons) == {"Move to Qualification", "Hold"}
    assert buttons["Hold"] == {"form": "row-action", "formaction": f"/opportunities/{deal}/hold"}
    assert buttons["Move to Qualification"] == {
        "form": "row-action", "formaction": f"/opportunities/{deal}/stage?version={opp.version}",
        "name": "stage", "value": "qualification"}
    # "Mark lost": the deal page's own form without scripts, which comes back to this list
    assert (f'<a class="lose-open" href="/opportunities/{deal}?open=lose&amp;next=/opportunities%3Fq%3Dboat">'
            "Mark lost</a>") in row
    assert "<form" not in row and "csrf_token" not in row and "<select" not in row

    # the page carries the shared form and the one "Mark lost" dialog, each once, with the list as their return
    assert html.count('<form method="post" id="row-action">') == 1
    shared = html[html.index('<form method="post" id="row-action">'):]
    assert 'name="csrf_token"' in shared[:shared.index("</form>")]
    assert '<input type="hidden" name="next" value="/opportunities?q=boat">' in shared[:shared.index("</form>")]
    dialog = html[html.index('<dialog id="lose-dialog"'):html.index("</dialog>")]
    assert 'data-title="Mark {number} lost"' in dialog and 'data-action="/opportunities/{id}/lose"' in dialog
    assert '<option value="price">Price</option>' in dialog and html.count('<option value="price">') == 2  # + bulk


def test_a_free_deal_is_claimed_and_anothers_assigned_from_the_row(office):
    free = _deal(office, "Boat free")
    theirs = _deal(office, "Boat theirs", sales_rep=office["rep"].id)
    rep = login(office["client"], "rep@x.test")
    assert _buttons(_row(_page(rep, "/opportunities?q=boat"), free))["Assign to me"] == {
        "form": "row-action", "formaction": f"/opportunities/{free}/claim"}

    manager = login(office["client"].application.test_client(), "boss@x.test")
    offered = _buttons(_row(_page(manager, "/opportunities?q=boat"), theirs))["Assign to me"]
    assert offered == {"form": "row-action", "formaction": f"/opportunities/{theirs}/assign",
                       "name": "user_id", "value": str(office["manager"].id)}
    # what the browser sends for that button: the shared form's fields and the button's own name and value
    done = manager.post(f"/opportunities/{theirs}/assign", data={"user_id": offered["value"],
                                                                  "next": "/opportunities?q=boat"})
    assert done.status_code == 302 and done.headers["Location"] == "/opportunities?q=boat"
    assert opportunities.get_opportunity(theirs).sales_rep_id == office["manager"].id


def test_the_rows_move_carries_the_deals_version_in_its_address(office):
    deal = _deal(office, "Boat", sales_rep=office["rep"].id)
    client = login(office["client"], "rep@x.test")
    api = Api(client, "rep@x.test")
    [contact] = [t for t in api.get(f"/tasks?opportunity={deal}").json["items"] if t["title"] == "Contact the prospect"]
    assert api.post(f"/tasks/{contact['id']}/complete", {"data": {}}).status_code == 200
    move = _buttons(_row(_page(client, "/opportunities?q=boat"), deal))["Move to Qualification"]

    moved = client.post(move["formaction"], data={"stage": move["value"], "next": "/opportunities?q=boat"})
    assert moved.status_code == 302 and moved.headers["Location"] == "/opportunities?q=boat"
    assert opportunities.get_opportunity(deal).stage == "qualification"
    assert "Saved." in _page(client, "/opportunities?q=boat")

    # the same button pressed again on a page shown before the move: the deal has changed since, nothing moves
    again = client.post(move["formaction"], data={"stage": move["value"], "next": "/opportunities?q=boat"})
    assert again.status_code == 302 and again.headers["Location"] == "/opportunities?q=boat"
    opp = opportunities.get_opportunity(deal)
    assert opp.stage == "qualification" and opp.version > int(move["formaction"].rsplit("=", 1)[1])
    shown = _page(client, "/opportunities?q=boat")
    assert "Saved." not in shown and "has changed since you loaded it" in shown


def test_without_scripts_mark_lost_is_the_deal_pages_own_form_and_comes_back_to_the_list(office):
    deal = _deal(office, "Boat", sales_rep=office["rep"].id)
    client = login(office["client"], "rep@x.test")
    row = _row(_page(client, "/opportunities?q=boat"), deal)
    link = unescape(re.search(r'<a class="lose-open" href="([^"]*)"', row).group(1))

    deal_page = _page(client, link)
    lose = deal_page[deal_page.index('<details class="dialog" data-dialog="lose"'):]
    lose = lose[:lose.index("</details>")]
    assert lose.startswith('<details class="dialog" data-dialog="lose" open>')
    assert '<input type="hidden" name="next" value="/opportunities?q=boat">' in lose

    # refused (no reason): shown again, still on its way back to the list
    refused = client.post(f"/opportunities/{deal}/lose", data={"next": "/opportunities?q=boat", "reason": "nope"})
    assert refused.status_code == 422
    assert '<input type="hidden" name="next" value="/opportunities?q=boat">' in refused.get_data(as_text=True)
    lost = client.post(f"/opportunities/{deal}/lose", data={"next": "/opportunities?q=boat", "reason": "price"})
    assert lost.status_code == 302 and lost.headers["Location"] == "/opportunities?q=boat"
    opp = opportunities.get_opportunity(deal)
    assert opp.status == "lost" and opp.reason == "price"
    # a closed deal's row offers nothing but Open
    row = _row(_page(client, "/opportunities?q=boat"), deal)
    assert _buttons(row) == {} and "Mark lost" not in row and ">Open</a>" in row


def test_the_rows_name_the_customer_and_its_jobs_and_the_rep(office):
    top = office["customer"]
    job = make_customer("Harbour", parent_id=top.id)
    site = make_customer("Pier 4", parent_id=job.id)
    crane = make_customer("Crane", parent_id=site.id)
    ids = {c.full_name: _deal(office, f"Boat {n}", customer_id=c.id, **({"sales_rep": office["rep"].id} if n else {}))
           for n, c in enumerate((top, job, site, crane))}
    assert "Northwind Traders:Harbour:Pier 4:Crane" in ids
    html = _page(login(office["client"], "csr@x.test"), "/opportunities?q=boat")
    for full_name, deal in ids.items():
        cells = re.findall(r"<td>([^<]*)</td>", _row(html, deal))
        assert full_name in cells, (full_name, cells)
        assert ("Rep" if full_name != "Northwind Traders" else "unassigned") in cells
