"""Customer pages: the list, one customer's page with its contact log, and the credit-hold warning."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from som_flow.services import contact_log, customers, opportunities
from tests.helpers import login, make_customer, make_user


@pytest.fixture
def office(app):
    """A logged-in CSR (Chicago time) and the page client."""
    user = make_user("csr@x.test", "csr", timezone="America/Chicago")
    return user, login(app.test_client(), user)


def _html(response) -> str:
    assert response.status_code == 200, response.data[:500]
    return response.get_data(as_text=True)


def test_the_office_finds_customers_by_name_and_status(office):
    _, client = office
    hansen = make_customer("Hansen household", status="active", credit_hold=True)
    make_customer("Acme Inc.")
    customers.create_customer(None, {"kind": "individual", "name": "Furnace 2026", "parent_id": hansen.id})

    page = _html(client.get("/customers"))
    assert ">Customers</a>" in page  # the top bar link
    assert "Acme Inc." in page
    assert page.index("Hansen household</a>") < page.index("Hansen household:Furnace 2026</a>"), "jobs after parents"
    found = _html(client.get("/customers?q=HANSEN"))
    assert "Hansen household" in found and "Acme Inc." not in found and "credit hold" in found
    prospects = _html(client.get("/customers?status=prospect"))
    assert "Acme Inc." in prospects and "Hansen household</a>" not in prospects


def test_the_customer_page_shows_addresses_jobs_contacts_hold_note_and_deals(office):
    user, client = office
    hansen = make_customer("Hansen household", kind="individual", credit_hold=True, payment_terms="Net 30",
                           popup_notes="Dog in the yard", popup_on_open=True,
                           bill_to={"street": "1 Main St", "city": "Springfield"},
                           work_address={"street": "9 Farm Rd", "city": "Shelbyville"})
    job = customers.create_customer(None, {"kind": "individual", "name": "Furnace 2026", "parent_id": hansen.id})
    customers.create_customer(None, {"kind": "individual", "name": "Ducts", "parent_id": job.id})
    customers.add_contact(user, hansen.id, {"name": "Kari Hansen", "role": "Owner", "email": "kari@example.com"})
    deal = opportunities.create_opportunity(user, {"title": "New furnace", "customer_id": hansen.id,
                                                   "kind": "stageless"})
    on_job = opportunities.create_opportunity(user, {"title": "Duct cleaning", "customer_id": job.id,
                                                     "kind": "stageless"})
    contact_log.log_contact(user, hansen.id, channel="call", summary="Wants a quote",
                            at=datetime(2026, 3, 1, 16, 30, tzinfo=UTC))

    page = _html(client.get(f"/customers/{hansen.id}"))
    assert 'id="credit-hold"' in page and "Net 30" in page
    assert 'id="popup-note"' in page and "Dog in the yard" in page
    assert "1 Main St, Springfield" in page and "9 Farm Rd, Shelbyville" in page
    # the job tree: the sub-job sits inside the job's list
    assert page.index("Furnace 2026") < page.index("Ducts") < page.index('id="contacts"')
    assert "Kari Hansen" in page and "Owner" in page
    assert "2026-03-01 10:30 CST" in page and "Wants a quote" in page and "Create opportunity" in page
    assert deal.number in page and on_job.number in page

    job_page = _html(client.get(f"/customers/{job.id}"))
    assert ">Hansen household</a>" in job_page and 'id="credit-hold"' not in job_page
    assert client.get("/customers/999").status_code == 404


def test_a_csr_logs_a_call_and_turns_it_into_an_opportunity(office):
    user, client = office
    hansen = make_customer("Hansen household", credit_hold=True)
    logged = client.post(f"/customers/{hansen.id}/contact-log", data={
        "channel": "call", "at": "2026-03-01T10:30", "user_id": str(user.id),
        "summary": "New furnace\nThe old one is 20 years old."}, follow_redirects=True)
    assert "Logged." in _html(logged)
    [entry] = contact_log.list_entries(hansen.id)
    assert entry.at == datetime(2026, 3, 1, 16, 30, tzinfo=UTC) and entry.user_id == user.id

    made = client.post(f"/customers/{hansen.id}/contact-log/{entry.id}/opportunity",
                       data={"kind": "standard-sale"})
    assert made.status_code == 302
    opp = opportunities.get_opportunity(int(made.headers["Location"].rsplit("/", 1)[1]))
    assert opp.customer_id == hansen.id and opp.title == "New furnace"
    shown = _html(client.get(made.headers["Location"]))
    assert "created from the interaction" in shown and "is on credit hold" in shown
    assert contact_log.get_entry(hansen.id, entry.id).opportunity_id == opp.id

    page = _html(client.get(f"/customers/{hansen.id}"))
    assert "Opportunity created from this" in page and "Create opportunity" not in page
    again = client.post(f"/customers/{hansen.id}/contact-log/{entry.id}/opportunity",
                        data={"kind": "standard-sale"}, follow_redirects=True)
    assert "already led to" in _html(again)


def test_a_bad_log_entry_is_refused_with_the_reason(office):
    _, client = office
    acme = make_customer()
    empty = client.post(f"/customers/{acme.id}/contact-log", data={"channel": "call", "summary": " "},
                        follow_redirects=True)
    assert "summary" in _html(empty)
    bad_time = client.post(f"/customers/{acme.id}/contact-log", data={"channel": "visit", "summary": "x",
                                                                      "at": "yesterday"}, follow_redirects=True)
    assert "YYYY-MM-DD HH:MM" in _html(bad_time)
    assert contact_log.list_entries(acme.id) == []


def test_a_scheduler_reads_customers_but_writes_nothing(app):
    scheduler = make_user("sched@x.test", "scheduler")
    client = login(app.test_client(), scheduler)
    acme = make_customer()
    page = _html(client.get(f"/customers/{acme.id}"))
    assert 'id="log-form"' not in page and 'id="new-customer"' not in _html(client.get("/customers"))
    refused = client.post(f"/customers/{acme.id}/contact-log", data={"channel": "call", "summary": "x"},
                          follow_redirects=True)
    assert "needs one of the roles" in _html(refused)
    client.post("/customers", data={"name": "Sneaky Ltd", "kind": "organization", "status": "prospect"})
    assert contact_log.list_entries(acme.id) == [] and customers.search_customers("sneaky")[1] == 0


def test_the_office_adds_a_customer_from_the_list(office):
    _, client = office
    added = client.post("/customers", data={"name": "Globex", "kind": "organization", "status": "active"})
    assert added.status_code == 302
    [globex], _ = customers.search_customers("globex")
    assert globex.status == "active" and added.headers["Location"].endswith(f"/customers/{globex.id}")
    # refused: the form is shown again with what was typed and the reason beside the field
    nameless = client.post("/customers", data={"name": " ", "kind": "individual", "status": "inactive"})
    assert nameless.status_code == 422
    page = nameless.get_data(as_text=True)
    assert '<span class="field-error" id="err-name">Fill this in' in page
    assert '<option value="individual" selected>' in page and '<option value="inactive" selected>' in page


def test_anonymous_visitors_are_sent_to_log_in(client):
    assert client.get("/customers").status_code == 302
    assert "/login" in client.get("/customers/1").headers["Location"]


def test_the_new_opportunity_form_warns_when_the_customer_is_on_credit_hold(office):
    _, client = office
    held = make_customer("Late Payer Ltd", credit_hold=True)
    fine = make_customer("Good Payer Ltd")
    form = _html(client.get(f"/opportunities/new?customer_id={held.id}"))
    assert 'id="credit-hold"' in form and f'#{held.id}"' in form  # the customer picker holds it
    assert "Late Payer Ltd (credit hold)" in form
    assert 'id="credit-hold"' not in _html(client.get(f"/opportunities/new?customer_id={fine.id}"))
    created = client.post("/opportunities/new", data={"title": "Boiler", "customer_id": str(held.id),
                                                      "kind": "standard-sale", "amount": "1200.50"},
                          follow_redirects=True)
    page = _html(created)
    assert "Late Payer Ltd is on credit hold." in page and "1200.50" in page
