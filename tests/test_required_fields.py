"""Required fields have one owner: the services check them on the opportunity, the engine never again.

Issue #16's stranded deal: a kind requiring a custom field and the close date before leaving Lead refused every
move even with both filled, because the engine re-checked them against only the fields the service passed it.
"""

from __future__ import annotations

from tests.helpers import Api, make_customer, make_user


def _kind_requiring_roof_and_close_date(admin: Api) -> None:
    r = admin.post("/custom-fields", {"key": "roof", "label": "Roof type", "type": "text"})
    assert r.status_code == 201, r.json
    r = admin.post("/kinds", {"key": "rq", "name": "Roofing", "type": "standard",
                              "stages": ["lead", "qualification", "proposal"],
                              "required_fields": {"lead": ["anticipated_close_date", "roof"]}})
    assert r.status_code == 201, r.json


def test_a_deal_with_its_required_custom_field_and_close_date_filled_moves_on(client):
    make_user("admin@x.test", "admin")
    rep_user = make_user("rep@x.test", "rep")
    admin, rep = Api(client, "admin@x.test"), Api(client, "rep@x.test")
    _kind_requiring_roof_and_close_date(admin)
    customer = make_customer()
    r = rep.post("/opportunities", {"title": "New roof", "customer_id": customer.id, "kind": "rq",
                                    "sales_rep": rep_user.id, "anticipated_close_date": "2027-01-01",
                                    "custom": {"roof": "tile"}})
    assert r.status_code == 201, r.json
    deal = r.json
    Api(client, "admin@x.test").finish_required_tasks(deal["id"])
    r = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"})
    assert r.status_code == 200, r.json
    assert r.json["stage"] == "qualification"


def test_a_deal_missing_a_required_field_is_refused_naming_only_what_is_missing(client):
    make_user("admin@x.test", "admin")
    rep_user = make_user("rep@x.test", "rep")
    admin, rep = Api(client, "admin@x.test"), Api(client, "rep@x.test")
    _kind_requiring_roof_and_close_date(admin)
    customer = make_customer()
    r = rep.post("/opportunities", {"title": "New roof", "customer_id": customer.id, "kind": "rq",
                                    "sales_rep": rep_user.id, "anticipated_close_date": "2027-01-01"})
    deal = r.json
    admin.finish_required_tasks(deal["id"])
    r = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"})
    assert r.status_code == 422
    assert set(r.json["errors"]) == {"roof"}
    assert rep.get(f"/opportunities/{deal['id']}").json["stage"] == "lead"
    r = rep.patch(f"/opportunities/{deal['id']}", {"custom": {"roof": "slate"}})
    assert r.status_code == 200, r.json
    assert rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"}).status_code == 200
