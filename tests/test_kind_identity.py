"""A kind's key and type are checked by one rule (processes.kind_identity_errors) on every path that stores one:
the API upload, the CLI import and the admin page — not only on the page, as before."""

from __future__ import annotations

from som_flow.extensions import db
from som_flow.models import OpportunityKind
from som_flow.processes import shipped_bpmn
from tests.helpers import Api, make_user


def _stored_keys() -> set[str]:
    return set(db.session.scalars(db.select(OpportunityKind.key)))


def test_the_api_refuses_a_kind_key_with_capitals_and_spaces_naming_the_key(client):
    make_user("admin@x.test", "admin")
    before = _stored_keys()
    r = Api(client, "admin@x.test").put("/kinds/Big%20Deals/bpmn", shipped_bpmn("stageless").encode())
    assert r.status_code == 422
    assert "key" in r.json["errors"]
    assert _stored_keys() == before


def test_the_cli_import_refuses_a_bad_key_and_stores_nothing(runner, tmp_path):
    path = tmp_path / "kind.bpmn"
    path.write_text(shipped_bpmn("stageless"), encoding="utf-8")
    before = _stored_keys()
    result = runner.invoke(args=["kinds", "import", str(path), "--key", "Big Deals"])
    assert result.exit_code != 0
    assert "key" in result.output
    assert _stored_keys() == before
