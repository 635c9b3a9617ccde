"""Required fields have one owner: the services check them on the opportunity, the engine never again.

Issue #16's stranded deal: a kind requiring a custom field and the close date before leaving Lead refused every
move even with both filled, because the engine re-checked them against only the fields the service passed it.
"""

from __future__ import annotations

import pytest

from tests.helpers import Api, make_customer, make_user


@pytest.fixture
def roofing(client):
    """A kind requiring a custom field (roof) and the close date before leaving Lead; the admin and a rep."""
    make_user("admin@x.test", "admin")
    rep_user = make_user("rep@x.test", "rep")
    admin, rep = Api(client, "admin@x.test"), Api(client, "rep@x.test")
    r = admin.post("/custom-fields", {"key": "roof", "label": "Roof type", "type": "text"})
    assert r.status_code == 201, r.json
    r = admin.post("/kinds", {"key": "rq", "name": "Roofing", "type": "standard",
                              "stages": ["lead", "qualification", "proposal"],
                              "required_fields": {"lead": ["anticipated_close_date", "roof"]}})
    assert r.status_code == 201, r.json

    def new_deal(**fields) -> dict:
        """A deal of the kind, dated, with the stage's required tasks done: only the fields stand in its way."""
        r = rep.post("/opportunities", {"title": "New roof", "customer_id": make_customer().id, "kind": "rq",
                                        "sales_rep": rep_user.id, "anticipated_close_date": "2027-01-01", **fields})
        assert r.status_code == 201, r.json
        admin.finish_required_tasks(r.json["id"])
        return r.json

    return rep, new_deal


def test_a_deal_with_its_required_custom_field_and_close_date_filled_moves_on(roofing):
    rep, new_deal = roofing
    deal = new_deal(custom={"roof": "tile"})
    r = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"})
    assert r.status_code == 200, r.json
    assert r.json["stage"] == "qualification"


def test_a_deal_missing_a_required_field_is_refused_naming_only_what_is_missing(roofing):
    rep, new_deal = roofing
    deal = new_deal()
    r = rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"})
    assert r.status_code == 422
    assert set(r.json["errors"]) == {"roof"}
    assert rep.get(f"/opportunities/{deal['id']}").json["stage"] == "lead"
    r = rep.patch(f"/opportunities/{deal['id']}", {"custom": {"roof": "slate"}})
    assert r.status_code == 200, r.json
    assert rep.post(f"/opportunities/{deal['id']}/stage", {"stage": "qualification"}).status_code == 200
