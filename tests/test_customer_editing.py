"""Customers and jobs edited in the browser and through the API: each section of the customer page, contacts,
jobs under a customer, the same-name warning; refused forms keep what was typed and name the field."""

from __future__ import annotations

import pytest

from som_flow.extensions import db
from som_flow.schemas.customers import CustomerSchema
from som_flow.services import customers
from tests.helpers import Api, login, make_customer, make_user


@pytest.fixture
def office(app, client):
    """A logged-in CSR's page client, their API client, and a customer."""
    make_user("csr@x.test", "csr")
    acme = make_customer("Acme Inc.", bill_to={"street": "1 Main St", "city": "Springfield"})
    return {"client": login(client, "csr@x.test"), "api": Api(app.test_client(), "csr@x.test"), "acme": acme}


def _html(response, status: int = 200) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    return response.get_data(as_text=True)


def _fresh(customer_id: int) -> dict:
    """The customer as stored now, as the API shows it."""
    db.session.expire_all()
    return CustomerSchema().dump(customers.get_customer(customer_id))


def test_the_office_edits_each_section_of_a_customer(office):
    client, acme = office["client"], office["acme"]
    saved = client.post(f"/customers/{acme.id}/edit/details", data={
        "name": "Acme Incorporated", "kind": "organization", "status": "active", "email": "office@acme.test",
        "phone": "+1 555 0100"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/customers/{acme.id}#details")
    client.post(f"/customers/{acme.id}/edit/addresses", data={
        "bill_to.street": "2 Side St", "bill_to.city": "Shelbyville", "bill_to.zip": "",
        "work_address.street": "9 Farm Rd", "work_address.country": "US"})
    client.post(f"/customers/{acme.id}/edit/payment", data={"payment_terms": "Net 30", "credit_hold": "1"})
    client.post(f"/customers/{acme.id}/edit/popup", data={"popup_notes": "Ring twice", "popup_on_open": "1"})

    now = _fresh(acme.id)
    assert (now["name"], now["status"], now["email"], now["phone"]) == \
        ("Acme Incorporated", "active", "office@acme.test", "+1 555 0100")
    assert now["bill_to"] == {"street": "2 Side St", "city": "Shelbyville"}
    assert now["work_address"] == {"street": "9 Farm Rd", "country": "US"}
    assert (now["payment_terms"], now["credit_hold"], now["popup_notes"], now["popup_on_open"]) == \
        ("Net 30", True, "Ring twice", True)
    page = _html(client.get(f"/customers/{acme.id}"))
    assert "2 Side St, Shelbyville" in page and 'id="credit-hold"' in page and 'id="popup-note"' in page

    # an unticked box clears the setting; a blank e-mail clears the e-mail
    client.post(f"/customers/{acme.id}/edit/payment", data={"payment_terms": "Net 30"})
    client.post(f"/customers/{acme.id}/edit/popup", data={"popup_notes": "Ring twice"})
    client.post(f"/customers/{acme.id}/edit/details", data={"name": "Acme Incorporated", "kind": "organization",
                                                            "status": "active", "email": ""})
    now = _fresh(acme.id)
    assert (now["credit_hold"], now["popup_on_open"], now["email"]) == (False, False, None)
    assert 'id="popup-note"' not in _html(client.get(f"/customers/{acme.id}"))


def test_a_refused_edit_keeps_every_typed_value_and_names_the_field(office):
    client, acme = office["client"], office["acme"]
    refused = client.post(f"/customers/{acme.id}/edit/details", data={
        "name": "Acme Two", "kind": "individual", "status": "inactive", "email": "not-an-address", "phone": "555"})
    page = _html(refused, 422)
    assert 'value="Acme Two"' in page and 'value="not-an-address"' in page and 'value="555"' in page
    assert '<option value="individual" selected>' in page and '<option value="inactive" selected>' in page
    assert 'id="err-email">Give an e-mail address like name@example.com.</span>' in page
    assert '<details class="edit" open><summary>Edit details</summary>' in page

    long_street = "x" * 201
    page = _html(client.post(f"/customers/{acme.id}/edit/addresses", data={
        "bill_to.street": long_street, "bill_to.city": "Typed City", "work_address.zip": "12345"}), 422)
    assert f'value="{long_street}"' in page and 'value="Typed City"' in page and 'value="12345"' in page
    assert 'id="err-bill_to-street">' in page
    page = _html(client.post(f"/customers/{acme.id}/edit/details", data={"name": "", "kind": "organization",
                                                                         "status": "active"}), 422)
    assert 'id="err-name">Fill this in' in page
    assert _fresh(acme.id)["name"] == "Acme Inc." and _fresh(acme.id)["bill_to"]["city"] == "Springfield"


def test_contacts_are_added_edited_and_removed(office):
    client, acme = office["client"], office["acme"]
    added = client.post(f"/customers/{acme.id}/contacts", data={"name": "Kari Nordmann", "role": "Owner",
                                                                "email": "kari@acme.test"})
    assert added.status_code == 302 and added.headers["Location"].endswith("#contacts")
    [kari] = _fresh(acme.id)["contacts"]
    assert (kari["name"], kari["role"], kari["email"]) == ("Kari Nordmann", "Owner", "kari@acme.test")

    client.post(f"/customers/{acme.id}/contacts/{kari['id']}", data={"name": "Kari Hansen", "role": "CFO",
                                                                     "email": "", "phone": "555 0101"})
    [kari] = _fresh(acme.id)["contacts"]
    assert (kari["name"], kari["role"], kari["email"], kari["phone"]) == ("Kari Hansen", "CFO", None, "555 0101")

    page = _html(client.post(f"/customers/{acme.id}/contacts", data={"name": "", "role": "Buyer",
                                                                     "email": "ola@"}), 422)
    assert 'value="Buyer"' in page and 'value="ola@"' in page and 'id="err-name">Fill this in' in page
    page = _html(client.post(f"/customers/{acme.id}/contacts/{kari['id']}", data={"name": "Kari", "email": "k@"}),
                 422)
    assert 'value="k@"' in page and "Give an e-mail address" in page
    assert len(_fresh(acme.id)["contacts"]) == 1

    # a contact is changed through its own customer only: elsewhere the refusal is told on that page
    other = make_customer("Globex")
    wrong = client.post(f"/customers/{other.id}/contacts/{kari['id']}/remove", follow_redirects=True)
    assert f"No contact {kari['id']} of customer {other.id}" in _html(wrong) and len(_fresh(acme.id)["contacts"]) == 1
    removed = client.post(f"/customers/{acme.id}/contacts/{kari['id']}/remove", follow_redirects=True)
    assert "Contact removed." in _html(removed) and _fresh(acme.id)["contacts"] == []


def test_a_job_is_created_under_a_customer_and_a_same_named_job_warns(office):
    client, acme = office["client"], office["acme"]
    made = client.post(f"/customers/{acme.id}/jobs", data={"name": "Furnace 2026", "status": "active"})
    assert made.status_code == 302
    job_id = int(made.headers["Location"].rsplit("/", 1)[1])
    job = _fresh(job_id)
    assert (job["parent_id"], job["full_name"], job["bill_to"]["city"]) == (acme.id, "Acme Inc.:Furnace 2026",
                                                                             "Springfield")
    job_page = _html(client.get(made.headers["Location"]))
    assert ">Acme Inc.</a>" in job_page  # the breadcrumb back to its customer
    assert "Furnace 2026" in _html(client.get(f"/customers/{acme.id}"))

    again = _html(client.post(f"/customers/{acme.id}/jobs", data={"name": " furnace 2026 ", "status": "active"}), 409)
    assert 'id="duplicate-warning"' in again and f'href="/customers/{job_id}"' in again
    assert 'value=" furnace 2026 "' in again and "Create anyway" in again
    anyway = client.post(f"/customers/{acme.id}/jobs", data={"name": "Furnace 2026", "status": "active",
                                                            "allow_duplicate": "1"})
    assert anyway.status_code == 302 and len(_fresh(acme.id)["jobs"]) == 2
    assert _html(client.post(f"/customers/{acme.id}/jobs", data={"name": ""}), 422).count("Fill this in") == 1


def test_a_new_customer_with_an_existing_name_warns_and_links_to_it(office):
    client, api, acme = office["client"], office["api"], office["acme"]
    warned = client.post("/customers", data={"name": "  ACME inc. ", "kind": "individual", "status": "active"})
    page = _html(warned, 409)
    assert 'id="duplicate-warning"' in page and f'href="/customers/{acme.id}">Acme Inc.</a>' in page
    assert 'value="  ACME inc. "' in page and '<option value="individual" selected>' in page
    assert customers.search_customers(name="acme inc.")[1] == 1

    created = client.post("/customers", data={"name": "ACME inc.", "kind": "individual", "status": "active",
                                              "allow_duplicate": "1"})
    assert created.status_code == 302
    # the API: GET ?name= answers "is there one called this?"; POST keeps its contract and creates
    found = api.get("/customers?name=%20acme%20INC.%20").json
    assert found["total"] == 2 and {c["name"] for c in found["items"]} == {"Acme Inc.", "ACME inc."}
    assert api.get("/customers?name=Acme").json["total"] == 0
    assert api.post("/customers", {"kind": "organization", "name": "Acme Inc."}).status_code == 201


def test_ids_that_are_no_numbers_or_unknown_are_4xx_never_500(office):
    client, acme = office["client"], office["acme"]
    for path in ("/customers/abc/edit/details", f"/customers/{acme.id}/edit/bogus", f"/customers/{acme.id}/contacts/x",
                 "/customers/99999/contacts", "/customers/99999/jobs", "/customers/1e3/jobs"):
        assert client.post(path, data={"name": "x"}).status_code == 404, path
    # an unknown contact of a known customer: refused on the customer's page
    unknown = client.post(f"/customers/{acme.id}/contacts/99999", data={"name": "x"}, follow_redirects=True)
    assert "No contact 99999" in _html(unknown)
    assert office["api"].patch(f"/customers/{acme.id}/contacts/abc", {"name": "x"}).status_code == 404
    assert client.get("/customers?page=x").status_code == 422


def test_a_scheduler_reads_a_customer_but_edits_nothing(app, office):
    acme = office["acme"]
    make_user("sched@x.test", "scheduler")
    sched = login(app.test_client(), "sched@x.test")
    page = _html(sched.get(f"/customers/{acme.id}"))
    assert 'id="details-form"' not in page and 'id="contact-form"' not in page and 'id="job-form"' not in page
    refused = sched.post(f"/customers/{acme.id}/edit/payment", data={"credit_hold": "1"}, follow_redirects=True)
    assert "needs one of the roles" in _html(refused)
    sched.post(f"/customers/{acme.id}/jobs", data={"name": "Sneaky job"})
    assert _fresh(acme.id)["credit_hold"] is False and _fresh(acme.id)["jobs"] == []
    api = Api(app.test_client(), "sched@x.test")
    assert api.patch(f"/customers/{acme.id}", {"credit_hold": True}).status_code == 403


def test_the_api_edits_payment_popup_and_contacts(office):
    api, acme = office["api"], office["acme"]
    r = api.patch(f"/customers/{acme.id}", {"payment_terms": "Net 15", "credit_hold": True,
                                            "popup_notes": "Call first", "popup_on_open": True,
                                            "work_address": {"street": "9 Farm Rd"}})
    assert r.status_code == 200, r.json
    assert (r.json["payment_terms"], r.json["credit_hold"], r.json["popup_on_open"]) == ("Net 15", True, True)
    assert api.patch(f"/customers/{acme.id}", {"payment_terms": "x" * 101}).json["errors"].keys() == \
        {"payment_terms"}

    contact = api.post(f"/customers/{acme.id}/contacts", {"name": "Ola", "email": "ola@acme.test"}).json
    changed = api.patch(f"/customers/{acme.id}/contacts/{contact['id']}", {"role": "Buyer"})
    assert changed.status_code == 200 and (changed.json["name"], changed.json["email"], changed.json["role"]) == \
        ("Ola", "ola@acme.test", "Buyer")  # what was left out is kept
    bad = api.patch(f"/customers/{acme.id}/contacts/{contact['id']}", {"email": "nope"})
    assert bad.status_code == 422 and "email" in bad.json["errors"]
    other = api.post("/customers", {"kind": "organization", "name": "Globex"}).json
    assert api.delete(f"/customers/{other['id']}/contacts/{contact['id']}").status_code == 404
    assert api.delete(f"/customers/{acme.id}/contacts/{contact['id']}").status_code == 204
    assert api.get(f"/customers/{acme.id}").json["contacts"] == []
    assert api.delete(f"/customers/{acme.id}/contacts/{contact['id']}").status_code == 404


def test_the_customer_list_pages_in_customer_job_order(office):
    client, api, acme = office["client"], office["api"], office["acme"]
    for n in range(60):
        make_customer(f"Zeta {n:02d}")
    job = customers.create_customer(None, {"kind": "organization", "name": "Boiler", "parent_id": acme.id})
    first = _html(client.get("/customers?per_page=25"))
    assert "62 found" in first and "Page 1 of 3" in first and 'href="/customers?per_page=25&amp;page=2"' in first
    assert first.index("Acme Inc.</a>") < first.index("Acme Inc.:Boiler</a>") < first.index("Zeta 00</a>")
    second = _html(client.get("/customers?per_page=25&page=2"))
    assert "Zeta 23</a>" in second and "Zeta 22</a>" not in second and "Zeta 48</a>" not in second
    pages = [api.get(f"/customers?per_page=25&page={p}").json["items"] for p in (1, 2, 3)]
    names = [c["full_name"] for page in pages for c in page]
    assert names[:2] == ["Acme Inc.", "Acme Inc.:Boiler"] and len(set(names)) == 62 and job.id
