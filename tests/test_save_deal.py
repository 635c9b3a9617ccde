"""The deal's UPDATE under its version (`guards.save_deal`), its statement built once per set of changed columns
(issue #17 item 1, fifth pass): each edit writes what it changed and moves the version on, a value cleared is SQL
NULL, and a writer behind the version is refused."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from som_flow.errors import StaleVersion
from som_flow.extensions import db
from som_flow.models import Opportunity
from som_flow.services import opportunities
from som_flow.services.guards import save_deal
from som_flow.services.unit_of_work import transaction
from tests.helpers import make_customer, make_user


def _row(opp_id: int):
    return db.session.execute(text("SELECT follow_up_date, probability, version FROM opportunity WHERE id = :id"),
                              {"id": opp_id}).one()


def test_each_edit_writes_its_columns_and_moves_the_version_once(app):
    manager = make_user("m@x.test", "manager")
    opp_id = opportunities.create_opportunity(manager, {"title": "Saved", "customer_id": make_customer().id,
                                                        "kind": "service-contract"}).id
    db.session.commit()
    versions = [_row(opp_id).version]

    opportunities.update_opportunity(manager, opp_id, {"follow_up_date": date(2026, 4, 1)})
    versions.append(_row(opp_id).version)
    assert str(_row(opp_id).follow_up_date).startswith("2026-04-01")
    opportunities.update_opportunity(manager, opp_id, {"probability": 35})  # another set of columns
    versions.append(_row(opp_id).version)
    opportunities.update_opportunity(manager, opp_id, {"follow_up_date": None})  # the first set again, cleared
    versions.append(_row(opp_id).version)
    row = _row(opp_id)
    assert (row.follow_up_date, row.probability) == (None, 35)
    assert versions == sorted(set(versions))  # every edit moved it on


def test_a_save_behind_the_version_is_refused(app):
    manager = make_user("m@x.test", "manager")
    opp_id = opportunities.create_opportunity(manager, {"title": "Behind", "customer_id": make_customer().id,
                                                        "kind": "service-contract"}).id
    db.session.commit()
    with pytest.raises(StaleVersion):
        with transaction():
            opp = db.session.get(Opportunity, opp_id)
            # another writer moves the version after this one read the deal
            db.session.execute(text("UPDATE opportunity SET version = version + 1 WHERE id = :id"), {"id": opp_id})
            opp.title = "Mine"
            save_deal(opp)
    assert db.session.get(Opportunity, opp_id).title == "Behind"
