"""The deal page edits the deal (a form per tab, the same schema and service as PATCH), the office's required
fields are an admin preference the new-deal form shows, and a refused form keeps what was typed."""

from __future__ import annotations

import re

import pytest

from som_flow.services import catalogs, customers
from som_flow.services import opportunities as opps
from tests.helpers import Api, login, make_customer, make_user


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def error_beside(response, name: str) -> str:
    found = re.search(rf'id="err-{re.escape(name)}">([^<]*)<', response.get_data(as_text=True))
    return found.group(1) if found else ""


@pytest.fixture
def office(client):
    """The admin, the office (csr), a rep, a customer with a job, and a deal of the rep's."""
    make_user("admin@x.test", "admin")
    csr = make_user("csr@x.test", "csr")
    rep = make_user("rep@x.test", "rep")
    make_user("other-rep@x.test", "rep")
    customer = make_customer("Northwind Traders")
    job = customers.create_customer(None, {"kind": "organization", "name": "Boiler 2026", "parent_id": customer.id})
    catalogs.create_question("budget", "qualification", "Has a budget?", answer_type="bool", required=True)
    catalogs.create_question("size", "profile", "House size (m²)", answer_type="number")
    catalogs.create_question("visit", "profile", "Last service visit", answer_type="date")
    catalogs.create_question("heating", "profile", "Heating", answer_type="choice", choices=["gas", "oil"])
    catalogs.create_custom_field("roof", "Roof type", "text")
    catalogs.create_custom_field("floors", "Floors", "number")
    deal = opps.create_opportunity(csr, {"title": "New boiler", "customer_id": customer.id, "kind": "standard-sale",
                                         "sales_rep": rep.id, "amount": "1000", "answers": {"size": 90},
                                         "custom": {"roof": "tile"}})
    return {"csr": csr, "rep": rep, "customer": customer, "job": job, "deal_id": deal.id, "client": client}


def _page(client, deal_id):
    return client.get(f"/opportunities/{deal_id}")


def _version(deal_id) -> int:
    return opps.get_opportunity(deal_id).version


def _info_form(deal_id, **changes) -> dict:
    opp = opps.get_opportunity(deal_id)
    form = {"version": str(opp.version), "title": opp.title, "date": opp.opened_on.isoformat(),
            "description": opp.description or "", "customer": f"{opp.customer.full_name} · #{opp.customer_id}",
            "job": "", "address_choice": opp.address_choice, "department": opp.department or "",
            "sales_rep": str(opp.sales_rep_id or ""), "employee_lead": str(opp.employee_lead_id or ""),
            "marketing_channel": "", "marketing_source": "", "financing_activity": "", "timeframe": "",
            "follow_up_date": "", "anticipated_close_date": "", "external_reference": "", "terms_of_sale": ""}
    form.update(changes)
    return form


def test_the_office_edits_the_info_tab_and_sees_it_after_a_reload_and_in_the_history(office):
    client, deal_id = login(office["client"], "csr@x.test"), office["deal_id"]
    r = client.post(f"/opportunities/{deal_id}/edit/info", data=_info_form(
        deal_id, title="New boiler and heat pump", description="Two units", job="Boiler 2026",
        address_choice="work", department="installation", employee_lead=str(office["csr"].id),
        marketing_channel="referral", marketing_source="customer_referral", financing_activity="none_offered",
        timeframe="1_3_months", follow_up_date="2026-03-10", anticipated_close_date="2026-04-30",
        external_reference="PO-77", terms_of_sale="30 days net", date="2026-02-27"))
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/opportunities/{deal_id}#info")
    page = text(_page(client, deal_id))
    for shown in ("New boiler and heat pump", "Two units", "Northwind Traders:Boiler 2026", "work site",
                  "Installation", "Csr", "Referral", "Existing customer", "No Financing Was Offered", "1-3 Months",
                  "2026-03-10", "2026-04-30", "PO-77", "30 days net", "2026-02-27"):
        assert shown in page, shown
    changed = {e["data"]["field"] for e in Api(client, "csr@x.test").history(deal_id)
               if e["type"] == "field_changed"}
    assert {"title", "description", "job_id", "address_choice", "department", "employee_lead_id",
            "marketing_channel", "terms_of_sale", "opened_on", "follow_up_date"} <= changed


def test_a_refused_info_form_keeps_every_typed_value_and_says_why_beside_the_field(office):
    client, deal_id = login(office["client"], "csr@x.test"), office["deal_id"]
    before = _version(deal_id)
    r = client.post(f"/opportunities/{deal_id}/edit/info", data=_info_form(
        deal_id, title="", description="Typed before the mistake", customer="Nobody Inc", job="",
        external_reference="PO-1", follow_up_date="next week"))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="edit-info" open' in html
    assert error_beside(r, "title") == "Required."
    assert error_beside(r, "customer").startswith("Choose a customer from the list")
    assert error_beside(r, "follow_up_date") == "Enter a date (YYYY-MM-DD)."
    assert "Typed before the mistake" in html and 'value="PO-1"' in html and 'value="Nobody Inc"' in html
    assert "Shorter than minimum" not in html and "opened_on" not in html and "Not a valid" not in html
    assert _version(deal_id) == before


def test_the_opportunity_tab_sets_amount_currency_probability_level_and_back_to_the_stage_default(office):
    client, deal_id = login(office["client"], "rep@x.test"), office["deal_id"]
    default = opps.get_opportunity(deal_id).probability
    form = {"product": "furnace", "priority": "high", "amount": "4200.50", "currency": "EUR", "probability": "65",
            "probability_level": ""}
    r = client.post(f"/opportunities/{deal_id}/edit/opportunity", data={"version": _version(deal_id), **form})
    assert r.status_code == 302
    opp = opps.get_opportunity(deal_id)
    assert (opp.product, opp.priority, str(opp.amount), opp.currency, opp.probability, opp.probability_source) == (
        "furnace", "high", "4200.50", "EUR", 65, "manual")
    r = client.post(f"/opportunities/{deal_id}/edit/opportunity", data={
        "version": _version(deal_id), **form, "probability_level": "hot"})
    # a level chosen with the number left as it was: the level's percent
    assert (opps.get_opportunity(deal_id).probability, opps.get_opportunity(deal_id).probability_level) == (80, "hot")
    r = client.post(f"/opportunities/{deal_id}/edit/opportunity", data={
        "version": _version(deal_id), **form, "probability": "80", "probability_level": "hot",
        "probability_default": "1"})
    opp = opps.get_opportunity(deal_id)
    assert (opp.probability, opp.probability_source) == (default, "stage_default")
    assert "€4,200.50" in text(_page(client, deal_id))


def test_typed_answers_are_saved_and_a_wrong_one_is_refused_keeping_the_others_typed(office):
    client, deal_id = login(office["client"], "rep@x.test"), office["deal_id"]
    page = _page(client, deal_id).get_data(as_text=True)
    assert 'name="answers.size" type="number"' in page and 'name="answers.visit" type="date"' in page
    assert '<select name="answers.budget"' in page and '<select name="answers.heating"' in page
    r = client.post(f"/opportunities/{deal_id}/edit/profile", data={
        "version": _version(deal_id), "answers.budget": "yes", "answers.size": "lots", "answers.visit": "2025-10-01",
        "answers.heating": "oil"})
    assert r.status_code == 422
    assert error_beside(r, "answers-size") == "Enter a number."
    assert 'value="lots"' in r.get_data(as_text=True) and 'value="2025-10-01"' in r.get_data(as_text=True)
    assert opps.get_opportunity(deal_id).answers == {"size": 90}
    r = client.post(f"/opportunities/{deal_id}/edit/profile", data={
        "version": _version(deal_id), "answers.budget": "yes", "answers.size": "120", "answers.visit": "2025-10-01",
        "answers.heating": ""})
    assert r.status_code == 302
    assert opps.get_opportunity(deal_id).answers == {"budget": True, "size": 120, "visit": "2025-10-01"}
    assert "Qualified: yes" in text(_page(client, deal_id))


def test_user_defined_values_are_saved_by_type_and_a_blank_one_is_removed(office):
    client, deal_id = login(office["client"], "rep@x.test"), office["deal_id"]
    r = client.post(f"/opportunities/{deal_id}/edit/custom", data={
        "version": _version(deal_id), "custom.roof": "", "custom.floors": "2"})
    assert r.status_code == 302
    assert opps.get_opportunity(deal_id).custom == {"floors": 2}


def test_a_rep_cannot_edit_a_colleagues_deal_from_the_page(office):
    client = login(office["client"], "other-rep@x.test")
    deal_id = office["deal_id"]
    assert 'id="edit-info"' not in _page(client, deal_id).get_data(as_text=True)
    before = _version(deal_id)
    r = client.post(f"/opportunities/{deal_id}/edit/info", data=_info_form(deal_id, title="Mine now"))
    assert r.status_code in (302, 403)
    assert _version(deal_id) == before and opps.get_opportunity(deal_id).title == "New boiler"


@pytest.mark.parametrize(("group", "field", "value"), [
    ("info", "employee_lead", "abc"), ("info", "sales_rep", "x1"), ("info", "version", "abc"),
    ("opportunity", "probability", "ten"), ("profile", "version", "1e9"),
])
def test_a_non_numeric_id_or_number_in_a_deal_form_is_a_4xx_and_changes_nothing(office, group, field, value):
    client, deal_id = login(office["client"], "csr@x.test"), office["deal_id"]
    before = _version(deal_id)
    data = _info_form(deal_id) if group == "info" else {"version": str(before)}
    if group == "opportunity":
        data.update(product="", priority="medium", amount="1000", currency="USD", probability_level="")
    data[field] = value
    r = client.post(f"/opportunities/{deal_id}/edit/{group}", data=data)
    assert 400 <= r.status_code < 500
    assert _version(deal_id) == before


def test_a_job_of_another_customer_is_refused_beside_the_job(office):
    client, deal_id = login(office["client"], "csr@x.test"), office["deal_id"]
    other = make_customer("Contoso")
    customers.create_customer(None, {"kind": "organization", "name": "Contoso job", "parent_id": other.id})
    r = client.post(f"/opportunities/{deal_id}/edit/info", data=_info_form(deal_id, job="Contoso job"))
    assert r.status_code == 422 and error_beside(r, "job").startswith("Choose a job of the customer")


def test_the_picker_suggests_customers_and_the_jobs_of_one(office):
    client = login(office["client"], "rep@x.test")
    assert {"id": office["customer"].id, "label": f"Northwind Traders · #{office['customer'].id}"} in client.get(
        "/lookup/customers?q=north").json
    assert [row["label"] for row in client.get(f"/lookup/customers?parent={office['customer'].id}").json] == [
        f"Northwind Traders:Boiler 2026 · #{office['job'].id}"]


def test_the_office_required_fields_are_an_admin_preference_the_new_deal_form_shows(office, app):
    client = office["client"]
    app.config["REQUIRED_FIELDS_ON_CREATE"] = ["timeframe"]  # SOM_FLOW_REQUIRED_FIELDS seeds the preference
    login(client, "admin@x.test")
    assert 'value="timeframe" checked' in client.get("/admin/required-fields").get_data(as_text=True)
    r = client.post("/admin/required-fields", data={"fields": ["marketing_source", "anticipated_close_date",
                                                               "employee_lead"]})
    assert r.status_code == 302
    assert Api(client, "admin@x.test").get("/preferences/required-fields").json == {
        "fields": ["employee_lead", "marketing_source", "anticipated_close_date"]}
    client.post("/logout")

    login(client, "csr@x.test")
    form = client.get("/opportunities/new").get_data(as_text=True)
    assert re.search(r'<select name="marketing_source" required', form)
    assert re.search(r'<input name="anticipated_close_date" type="date" value="" required', form)
    assert 'name="timeframe"' not in form  # the preference, not the variable, once the admin saved it
    r = client.post("/opportunities/new", data={"title": "Heat pump", "customer": "Northwind Traders",
                                                "kind": "standard-sale", "amount": "900", "marketing_source": "google"})
    assert r.status_code == 422
    assert error_beside(r, "anticipated_close_date") == "Required by the office."
    assert error_beside(r, "employee_lead") == "Required by the office."
    html = r.get_data(as_text=True)
    assert 'value="Heat pump"' in html and 'value="900"' in html and 'value="google" selected' in html
    r = client.post("/opportunities/new", data={
        "title": "Heat pump", "customer": "Northwind Traders", "kind": "standard-sale", "amount": "900",
        "marketing_source": "google", "anticipated_close_date": "2026-05-01", "employee_lead": str(office["csr"].id)})
    assert r.status_code == 302
    deal_id = re.search(r"/opportunities/(\d+)$", r.headers["Location"]).group(1)
    created = Api(client, "csr@x.test").get(f"/opportunities/{deal_id}").json
    assert (created["marketing_source"], created["anticipated_close_date"]) == ("google", "2026-05-01")


def test_only_an_admin_sets_the_required_fields(office):
    client = office["client"]
    csr = Api(client, "csr@x.test")
    assert csr.put("/preferences/required-fields", data="{}").status_code in (403, 415)
    r = client.put("/api/v1/preferences/required-fields", json={"fields": ["product"]}, headers=csr.headers)
    assert r.status_code == 403
    admin = Api(client, "admin@x.test")
    r = client.put("/api/v1/preferences/required-fields", json={"fields": ["colour"]}, headers=admin.headers)
    assert r.status_code == 422 and "fields.0" in r.json["errors"]
    # the API's create refuses a deal without the office's fields, naming them
    client.put("/api/v1/preferences/required-fields", json={"fields": ["product"]}, headers=admin.headers)
    r = csr.post("/opportunities", {"title": "X", "customer_id": office["customer"].id, "kind": "standard-sale"})
    assert r.status_code == 422 and r.json["errors"] == {"product": ["Required by the office."]}


def test_a_deal_page_marks_the_fields_the_office_requires_and_an_edit_cannot_empty_them(office):
    client, deal_id = office["client"], office["deal_id"]
    from som_flow.services.fields import set_required_on_create

    set_required_on_create(["department"])
    opps.update_opportunity(office["csr"], deal_id, {"department": "sales"})
    login(client, "csr@x.test")
    page = _page(client, deal_id).get_data(as_text=True)
    assert re.search(r'Department <abbr class="req"[^>]*>\*</abbr> <select name="department" required', page)
    r = client.post(f"/opportunities/{deal_id}/edit/info", data=_info_form(deal_id, department=""))
    assert r.status_code == 422 and error_beside(r, "department") == "Required by the office."


def test_the_fields_the_stage_needs_before_the_deal_leaves_it_are_marked(office):
    client = office["client"]
    admin = Api(client, "admin@x.test")
    r = admin.post("/kinds", {"key": "rq", "name": "Roofing", "type": "standard", "stages": ["lead", "proposal"],
                              "required_fields": {"lead": ["anticipated_close_date", "roof"]}})
    assert r.status_code == 201, r.json
    deal = opps.create_opportunity(office["csr"], {"title": "Roof", "customer_id": office["customer"].id,
                                                   "kind": "rq"})
    login(client, "csr@x.test")
    page = text(_page(client, deal.id))
    assert "Anticipated close date (needed to leave Lead)" in page
    assert "Roof type (needed to leave Lead)" in page


# -- numbers typed as the page writes them (a user review: a Norwegian page refused "1000,50") --------------------
NB = {"Accept-Language": "nb-NO"}
FORM = {"product": "", "priority": "high", "currency": "USD", "probability": "65", "probability_level": ""}


@pytest.mark.parametrize("language, typed, saved", [
    ("nb", "1 000,50", "1000.50"), ("nb", "1\u00a0000,50", "1000.50"), ("nb", "1000,5", "1000.50"),
    ("nb", "39263.00", "39263.00"), ("en", "1,000.50", "1000.50"), ("en", "1000.50", "1000.50")])
def test_the_deals_amount_is_read_as_the_page_writes_numbers(office, language, typed, saved):
    client, deal_id = login(office["client"], "rep@x.test"), office["deal_id"]
    headers = NB if language == "nb" else {}
    r = client.post(f"/opportunities/{deal_id}/edit/opportunity", headers=headers,
                    data={"version": _version(deal_id), **FORM, "amount": typed})
    assert r.status_code == 302, r.text[:500]
    assert str(opps.get_opportunity(deal_id).amount) == saved


@pytest.mark.parametrize("language, typed", [("nb", "1.000,50"), ("nb", "mye"), ("en", "1000,50")])
def test_a_number_the_language_does_not_write_so_is_refused_beside_the_field_and_kept(office, language, typed):
    client, deal_id = login(office["client"], "rep@x.test"), office["deal_id"]
    r = client.post(f"/opportunities/{deal_id}/edit/opportunity", headers=NB if language == "nb" else {},
                    data={"version": _version(deal_id), **FORM, "amount": typed})
    assert r.status_code == 422
    assert error_beside(r, "amount") == ("Skriv et tall." if language == "nb" else "Enter a number.")
    assert f'value="{typed}"' in r.text
    assert str(opps.get_opportunity(deal_id).amount) == "1000.00"


def test_an_estimates_lines_and_a_new_deals_amount_on_a_norwegian_page(office):
    client, deal_id = login(office["client"], "rep@x.test"), office["deal_id"]
    r = client.post(f"/opportunities/{deal_id}/estimates", headers=NB, data={
        "lines-0-description": "Varmepumpe", "lines-0-quantity": "2,5", "lines-0-price": "4 500,00"})
    assert r.status_code == 302, r.text[:500]
    [estimate] = Api(client, "rep@x.test").get(f"/opportunities/{deal_id}/estimates").json
    assert (estimate["lines"][0]["quantity"], estimate["lines"][0]["price"], estimate["total"]) == (
        "2.500", "4500.00", "11250.00")
    r = client.post("/opportunities/new", headers=NB, data={
        "title": "Ny kjele", "customer_id": str(office["customer"].id), "kind": "standard-sale", "amount": "12,50"})
    assert r.status_code == 302, r.text[:800]
    made = Api(client, "rep@x.test").get("/opportunities?q=Ny kjele").json["items"][0]
    assert made["amount"] == "12.50"


def test_a_typed_number_answer_on_a_norwegian_page(office):
    client, deal_id = login(office["client"], "rep@x.test"), office["deal_id"]
    r = client.post(f"/opportunities/{deal_id}/edit/profile", headers=NB, data={
        "version": _version(deal_id), "answers.size": "90,5"})
    assert r.status_code == 302
    assert opps.get_opportunity(deal_id).answers == {"size": 90.5}
