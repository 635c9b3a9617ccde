"""Parties on an opportunity (seed 002): a partner company and contact persons, kept in the history."""

from __future__ import annotations

from som_flow.services import customers
from tests.helpers import Api, make_customer, make_user


def test_a_partner_and_a_contact_join_a_deal_and_leave_it_again(app, client):
    office = make_user("csr@x.test", "csr")
    make_user("sched@x.test", "scheduler")
    buyer = make_customer("Northwind Traders")
    partner = make_customer("Installers AS")
    csr = Api(client, "csr@x.test")
    contact = customers.add_contact(office, buyer.id, {"name": "Kari Nordmann", "role": "Buyer"})
    deal = csr.post("/opportunities", {"title": "Heat pumps", "customer_id": buyer.id, "kind": "standard-sale"}).json

    r = csr.post(f"/opportunities/{deal['id']}/parties", {"role": "partner", "customer_id": partner.id})
    assert r.status_code == 201, r.json
    assert (r.json["name"], r.json["role"]) == ("Installers AS", "partner")
    assert csr.post(f"/opportunities/{deal['id']}/parties",
                    {"role": "contact", "contact_id": contact.id}).json["name"] == "Kari Nordmann"
    listed = csr.get(f"/opportunities/{deal['id']}/parties").json
    assert [(p["role"], p["name"]) for p in listed] == [("partner", "Installers AS"), ("contact", "Kari Nordmann")]

    bad = csr.post(f"/opportunities/{deal['id']}/parties", {"role": "partner", "customer_id": 999})
    assert bad.status_code == 422 and "customer_id" in bad.json["errors"]
    assert csr.post(f"/opportunities/{deal['id']}/parties", {"role": "friend", "name": "X"}).status_code == 422
    assert Api(client, "sched@x.test").post(f"/opportunities/{deal['id']}/parties",
                                            {"role": "contact", "name": "Y"}).status_code == 403
    assert len(csr.get(f"/opportunities/{deal['id']}/parties").json) == 2  # nothing written by the refusals

    assert csr.delete(f"/opportunities/{deal['id']}/parties/{listed[0]['id']}").status_code == 204
    history = [e["type"] for e in csr.history(deal['id'])]
    assert history.count("party_added") == 2 and history.count("party_removed") == 1
    assert [p["name"] for p in csr.get(f"/opportunities/{deal['id']}/parties").json] == ["Kari Nordmann"]
