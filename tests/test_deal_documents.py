"""Documents on a deal — estimates, parties, primary demand — through the API and the deal page, on both backends."""

from __future__ import annotations

import pytest

from som_flow.services import customers
from tests.helpers import Api, login, make_customer, make_user

LINES = [{"description": "Heat pump", "quantity": "2", "price": "4500.00"},
         {"description": "Installation", "quantity": "1", "price": "1200.00"}]


@pytest.fixture
def world(app, client):
    people = {"rep": make_user("rep@x.test", "rep"), "csr": make_user("csr@x.test", "csr"),
              "other": make_user("other@x.test", "rep"), "sched": make_user("sched@x.test", "scheduler")}
    buyer = make_customer("Northwind Traders")
    csr = Api(client, "csr@x.test")
    deal = csr.post("/opportunities", {"title": "Heat pumps", "customer_id": buyer.id, "kind": "standard-sale",
                                       "sales_rep": people["rep"].id}).json
    return {**people, "buyer": buyer, "deal": deal["id"], "csr_api": csr, "rep_api": Api(client, "rep@x.test")}


def _history(api, opp_id) -> list[str]:
    return [e["type"] for e in api.history(opp_id)]


# -- estimates, API ------------------------------------------------------------------------------------
def test_the_rep_writes_an_estimate_edits_its_lines_and_the_amount_follows_the_selected_one(world):
    rep, deal = world["rep_api"], world["deal"]
    made = rep.post(f"/opportunities/{deal}/estimates", {"lines": LINES})
    assert made.status_code == 201, made.json
    assert (made.json["total"], made.json["status"], made.json["selected"]) == ("10200.00", "draft", False)

    assert rep.post(f"/estimates/{made.json['id']}/select").json["selected"] is True
    assert rep.get(f"/opportunities/{deal}").json["amount"] == "10200.00"

    edited = rep.patch(f"/estimates/{made.json['id']}", {"lines": LINES[:1]})
    assert edited.status_code == 200, edited.json
    assert [line["description"] for line in edited.json["lines"]] == ["Heat pump"]
    assert edited.json["total"] == "9000.00"
    assert rep.get(f"/opportunities/{deal}").json["amount"] == "9000.00"  # the selected estimate: amount follows

    other = rep.post(f"/opportunities/{deal}/estimates", {"lines": LINES[1:]}).json
    rep.patch(f"/estimates/{other['id']}", {"lines": [{**LINES[1], "quantity": "3"}]})
    assert rep.get(f"/opportunities/{deal}").json["amount"] == "9000.00"  # not selected: the amount stays
    listed = rep.get(f"/opportunities/{deal}/estimates").json
    assert [(e["total"], e["selected"]) for e in listed] == [("9000.00", True), ("3600.00", False)]
    assert {"estimate_created", "estimate_edited", "estimate_selected"} <= set(_history(rep, deal))


def test_refused_estimate_edits_name_the_field_and_change_nothing(world):
    rep, deal = world["rep_api"], world["deal"]
    estimate = rep.post(f"/opportunities/{deal}/estimates", {"lines": LINES}).json
    for body, field in (({"lines": []}, "lines"), ({"lines": [{**LINES[0], "price": "-1"}]}, "lines.0.price"),
                        ({"lines": [{"description": "x", "quantity": "0", "price": "1"}]}, "lines.0.quantity")):
        r = rep.patch(f"/estimates/{estimate['id']}", body)
        assert r.status_code == 422 and field in r.json["errors"], (body, r.json)
    assert world["csr_api"].patch("/estimates/999999", {"lines": LINES}).status_code == 404
    other = Api(world["csr_api"].client, "other@x.test")
    assert other.patch(f"/estimates/{estimate['id']}", {"lines": LINES[:1]}).status_code == 403  # not his deal
    assert Api(world["csr_api"].client, "sched@x.test").patch(
        f"/estimates/{estimate['id']}", {"lines": LINES[:1]}).status_code == 403
    assert rep.get(f"/opportunities/{deal}/estimates").json[0]["total"] == "10200.00"

    assert rep.post(f"/opportunities/{deal}/lose", {"reason": "price"}).status_code == 200
    closed = rep.patch(f"/estimates/{estimate['id']}", {"lines": LINES[:1]})
    assert closed.status_code == 409 and "closed" in closed.json["detail"]


def test_an_estimate_whose_total_no_deal_amount_could_be_is_refused(client, world):
    """Its total becomes the deal's amount when selected, so it is bounded as an amount is (999,999,999,999): an
    estimate of 999,999,999 × 999,999,999 was written, and once selected the deal took no edit again."""
    rep, deal = world["rep_api"], world["deal"]
    for line in ({"description": "Units", "quantity": "999999999", "price": "999999999"},
                 {"description": "Units", "quantity": "5000", "price": "999999999"}):
        r = rep.post(f"/opportunities/{deal}/estimates", {"lines": [line]})
        assert r.status_code == 422 and "lines" in r.json["errors"], r.json
        assert "999999999999" in r.json["detail"]
    assert rep.get(f"/opportunities/{deal}/estimates").json == []
    fits = rep.post(f"/opportunities/{deal}/estimates",
                    {"lines": [{"description": "Units", "quantity": "999", "price": "1000000000"}]})
    assert fits.status_code == 201 and fits.json["total"] == "999000000000.00"
    too_big = rep.patch(f"/estimates/{fits.json['id']}", {"lines": [{"description": "Units", "quantity": "1000",
                                                                        "price": "1000000000"}]})
    assert too_big.status_code == 422 and "lines" in too_big.json["errors"]
    assert rep.post(f"/estimates/{fits.json['id']}/select").status_code == 200
    assert rep.get(f"/opportunities/{deal}").json["amount"] == "999000000000.00"
    # on the deal page: refused with what was typed kept
    login(client, "rep@x.test")
    r = client.post(f"/opportunities/{deal}/estimates", data=_form_lines(
        (0, {"description": "Units", "quantity": "999999999", "price": "999999999"})))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'value="999999999"' in page and "is more than a deal&#39;s amount may be" in page
    assert len(rep.get(f"/opportunities/{deal}/estimates").json) == 1


# -- demand lines, API ----------------------------------------------------------------------------------
def test_demand_lines_are_listed_edited_removed_and_shown_in_the_deals_json(world):
    csr, deal = world["csr_api"], world["deal"]
    line = csr.post(f"/opportunities/{deal}/demand", {"description": "Air-to-water pump", "quantity": "2",
                                                       "amount": "9000", "product": "consulting"})
    assert line.status_code == 201, line.json
    csr.post(f"/opportunities/{deal}/demand", {"description": "Service plan", "quantity": "1", "amount": "300"})
    assert [d["description"] for d in csr.get(f"/opportunities/{deal}/demand").json] == [
        "Air-to-water pump", "Service plan"]

    changed = csr.patch(f"/opportunities/{deal}/demand/{line.json['id']}", {"quantity": "3", "comment": "two floors"})
    assert changed.status_code == 200, changed.json
    assert (changed.json["quantity"], changed.json["comment"], changed.json["description"]) == (
        "3.000", "two floors", "Air-to-water pump")
    in_json = csr.get(f"/opportunities/{deal}").json["demand_lines"]
    assert [(d["description"], d["quantity"], d["amount"]) for d in in_json] == [
        ("Air-to-water pump", "3.000", "9000.00"), ("Service plan", "1.000", "300.00")]

    bad = csr.patch(f"/opportunities/{deal}/demand/{line.json['id']}", {"quantity": "-2"})
    assert bad.status_code == 422 and "quantity" in bad.json["errors"]
    unknown = csr.patch(f"/opportunities/{deal}/demand/{line.json['id']}", {"product": "spaceships"})
    assert unknown.status_code == 422 and "product" in unknown.json["errors"]
    assert Api(csr.client, "sched@x.test").delete(f"/opportunities/{deal}/demand/{line.json['id']}").status_code == 403

    assert csr.delete(f"/opportunities/{deal}/demand/{line.json['id']}").status_code == 204
    assert csr.delete(f"/opportunities/{deal}/demand/{line.json['id']}").status_code == 404
    assert [d["description"] for d in csr.get(f"/opportunities/{deal}/demand").json] == ["Service plan"]
    history = _history(csr, deal)
    assert (history.count("demand_added"), history.count("demand_edited"), history.count("demand_removed")) == (
        2, 1, 1)


def test_a_demand_line_of_another_deal_is_not_found_through_this_one(world):
    csr = world["csr_api"]
    other = csr.post("/opportunities", {"title": "Other", "customer_id": world["buyer"].id,
                                        "kind": "standard-sale"}).json
    line = csr.post(f"/opportunities/{other['id']}/demand", {"description": "X", "quantity": "1", "amount": "1"}).json
    assert csr.patch(f"/opportunities/{world['deal']}/demand/{line['id']}", {"quantity": "2"}).status_code == 404
    assert csr.delete(f"/opportunities/{world['deal']}/demand/{line['id']}").status_code == 404


# -- the deal page ----------------------------------------------------------------------------------------
def _form_lines(*rows) -> dict:
    data = {}
    for i, row in rows:
        data.update({f"lines-{i}-{k}": v for k, v in row.items()})
    return data


def test_on_the_deal_page_the_rep_writes_an_estimate_with_two_lines_edits_and_selects_it(client, world):
    deal = world["deal"]
    login(client, "rep@x.test")
    page = client.get(f"/opportunities/{deal}").get_data(as_text=True)
    assert 'aria-label="Description, line 5"' in page  # five blank rows without JavaScript

    r = client.post(f"/opportunities/{deal}/estimates", data=_form_lines((0, LINES[0]), (3, LINES[1])))
    assert r.status_code == 302
    estimate = world["rep_api"].get(f"/opportunities/{deal}/estimates").json[0]
    assert [line["description"] for line in estimate["lines"]] == ["Heat pump", "Installation"]

    client.post(f"/estimates/{estimate['id']}/select")
    page = client.get(f"/opportunities/{deal}").get_data(as_text=True)
    assert '<dd id="amount">$10,200.00</dd>' in page and "(selected)" in page

    client.post(f"/estimates/{estimate['id']}/lines", data=_form_lines((0, {**LINES[0], "quantity": "3"})))
    page = client.get(f"/opportunities/{deal}").get_data(as_text=True)
    assert '<dd id="amount">$13,500.00</dd>' in page  # the amount followed the selected estimate's lines


def test_a_refused_estimate_form_keeps_every_value_beside_its_message(client, world):
    deal = world["deal"]
    login(client, "rep@x.test")
    typed = _form_lines((0, LINES[0]), (2, {"description": "Pipes", "quantity": "lots", "price": "35"}),
                        (6, {"description": "Extra row added by the page", "quantity": "1", "price": "1"}))
    r = client.post(f"/opportunities/{deal}/estimates", data=typed)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    for value in ("Heat pump", "4500.00", "Pipes", "lots", "35", "Extra row added by the page"):
        assert f'value="{value}"' in page, value
    # the message sits beside the third row's quantity, where it was typed, in plain words
    assert 'name="lines-2-quantity" aria-label="Quantity, line 3" value="lots"' in page
    assert '<span class="field-error" id="err-lines-2-quantity">Not a valid number.</span>' in page
    assert "<details class=\"dialog\" data-dialog=\"estimate-new\" open>" in page
    assert world["rep_api"].get(f"/opportunities/{deal}/estimates").json == []

    nothing = client.post(f"/opportunities/{deal}/estimates", data=_form_lines((0, {"description": ""})))
    assert nothing.status_code == 422
    assert "Fill in at least one line" in nothing.get_data(as_text=True)


def test_on_the_deal_page_the_office_adds_and_removes_parties(client, world):
    deal, office = world["deal"], world["csr"]
    partner = make_customer("Installers AS")
    contact = customers.add_contact(office, world["buyer"].id, {"name": "Kari Nordmann", "role": "Buyer"})
    login(client, "csr@x.test")
    page = client.get(f"/opportunities/{deal}").get_data(as_text=True)
    assert 'id="tab-parties"' in page and "Parties &amp; demand" in page
    assert "Kari Nordmann (Buyer)" in page and "Installers AS" in page  # offered in the add forms

    assert client.post(f"/opportunities/{deal}/parties", data={"role": "partner",
                                                               "customer_id": str(partner.id)}).status_code == 302
    assert client.post(f"/opportunities/{deal}/parties", data={"role": "contact",
                                                               "contact_id": str(contact.id)}).status_code == 302
    parties = world["csr_api"].get(f"/opportunities/{deal}/parties").json
    assert [(p["role"], p["name"]) for p in parties] == [("partner", "Installers AS"), ("contact", "Kari Nordmann")]

    refused = client.post(f"/opportunities/{deal}/parties", data={"role": "contact", "name": "  "})
    assert refused.status_code == 422
    assert "Choose one from the list or type a name." in refused.get_data(as_text=True)

    client.post(f"/opportunities/{deal}/parties/{parties[0]['id']}/remove")
    assert [p["name"] for p in world["csr_api"].get(f"/opportunities/{deal}/parties").json] == ["Kari Nordmann"]
    page = client.get(f"/opportunities/{deal}").get_data(as_text=True)
    assert "Contact person</td><td>Kari Nordmann" in page


def test_on_the_deal_page_demand_is_added_edited_and_removed(client, world):
    deal = world["deal"]
    login(client, "rep@x.test")
    row = {"description": "Air-to-water pump", "quantity": "2", "amount": "9000", "product": "consulting",
           "comment": "two floors"}
    assert client.post(f"/opportunities/{deal}/demand", data=row).status_code == 302
    line = world["rep_api"].get(f"/opportunities/{deal}/demand").json[0]

    refused = client.post(f"/opportunities/{deal}/demand/{line['id']}", data={**row, "amount": "a lot"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'value="a lot"' in page and "two floors" in page and "Not a valid number." in page

    # emptying the comment on the form clears it
    assert client.post(f"/opportunities/{deal}/demand/{line['id']}",
                       data={**row, "quantity": "3", "comment": ""}).status_code == 302
    changed = world["rep_api"].get(f"/opportunities/{deal}/demand").json[0]
    assert (changed["quantity"], changed["comment"]) == ("3.000", "")
    client.post(f"/opportunities/{deal}/demand/{line['id']}/remove")
    assert world["rep_api"].get(f"/opportunities/{deal}/demand").json == []


def test_a_rep_cannot_change_the_documents_of_a_colleagues_deal_from_the_page(client, world):
    deal = world["deal"]
    login(client, "other@x.test")
    r = client.post(f"/opportunities/{deal}/demand", data={"description": "X", "quantity": "1", "amount": "1"})
    assert r.status_code in (302, 403)
    assert world["csr_api"].get(f"/opportunities/{deal}/demand").json == []
    client.post(f"/opportunities/{deal}/estimates", data=_form_lines((0, LINES[0])))
    assert world["csr_api"].get(f"/opportunities/{deal}/estimates").json == []
