"""A standard kind goes through every stage in order on every path: a process whose stages can be skipped or moved
back is refused for it by the API (version upload and a new kind), the CLI, the upload page and the designer,
naming the stages a deal could skip and saying to use a custom kind; nothing is stored. A custom kind takes it."""

from __future__ import annotations

import re
from html import unescape

import pytest

from som_flow.processes import build_kind_bpmn
from som_flow.services import kinds
from tests.helpers import Api, login, make_user

STAGES = [{"key": "lead", "name": "Lead"}, {"key": "proposal", "name": "Proposal"},
          {"key": "negotiation", "name": "Negotiation"}]
SKIPS = "a deal can skip stages (Lead → Negotiation)"
BACK = "A standard kind never moves back to an earlier stage"
CUSTOM = "use a custom kind"


def _bpmn(**rules) -> str:
    return build_kind_bpmn(key="quick-sale", name="Quick sale", type="custom", stages=STAGES, **rules)


@pytest.fixture
def admin_api(app, client):
    make_user("admin@x.test", "admin")
    return Api(client, "admin@x.test")


def _standard_kind(api: Api) -> None:
    """A standard kind with one in-order version, built in the designer."""
    r = api.post("/kinds", {"key": "quick-sale", "name": "Quick sale", "type": "standard",
                            "stages": ["lead", "proposal", "negotiation"]})
    assert r.status_code == 201, r.json


def test_the_api_refuses_a_skipping_upload_for_a_standard_kind_and_stores_nothing(admin_api):
    _standard_kind(admin_api)
    r = admin_api.put("/kinds/quick-sale/bpmn", _bpmn(allow_skip=True).encode())
    assert r.status_code == 422, r.json
    assert r.mimetype == "application/problem+json"
    [message] = r.json["errors"]["stages"]
    assert SKIPS in message and CUSTOM in message
    assert "Lead → Proposal" not in message  # the next stage is not a skip
    assert admin_api.get("/kinds/quick-sale").json["current_version"] == 1

    r = admin_api.put("/kinds/quick-sale/bpmn", _bpmn(allow_back=True).encode())
    assert r.status_code == 422
    assert BACK in r.json["errors"]["stages"][0] and CUSTOM in r.json["errors"]["stages"][0]

    # the same process in order is a new version; a custom kind takes the skipping one
    assert admin_api.put("/kinds/quick-sale/bpmn", _bpmn().encode()).status_code == 201
    assert admin_api.get("/kinds/quick-sale").json["current_version"] == 2
    assert admin_api.put("/kinds/service-contract/bpmn", _bpmn(allow_skip=True, allow_back=True).encode()
                         ).status_code == 201


def test_the_shipped_custom_kind_uploaded_onto_the_standard_kind_names_each_skip(admin_api):
    xml = kinds.get_kind("service-contract").current_version.bpmn_xml
    r = admin_api.put("/kinds/standard-sale/bpmn", xml.encode())
    assert r.status_code == 422
    skips, back = r.json["errors"]["stages"]
    assert "(Lead → Proposal, Lead → Negotiation, Qualification → Negotiation)" in skips
    assert BACK in back
    assert admin_api.get("/kinds/standard-sale").json["current_version"] == 1


def test_the_cli_refuses_it_alike(app, runner, tmp_path):
    path = tmp_path / "skipping.bpmn"
    path.write_text(_bpmn(allow_skip=True), encoding="utf-8")
    result = runner.invoke(args=["kinds", "import", str(path), "--key", "quick-sale", "--type", "standard"])
    assert result.exit_code == 1
    assert SKIPS in result.output and CUSTOM in result.output
    assert kinds.find_kind("quick-sale") is None  # a refused import creates no kind either

    result = runner.invoke(args=["kinds", "import", str(path), "--key", "quick-sale", "--type", "custom"])
    assert result.exit_code == 0, result.output
    assert "kind quick-sale version 1 stored" in result.output


def _text(response) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def test_the_upload_page_and_the_designer_refuse_it_too(app, client):
    make_user("admin@x.test", "admin")
    login(client, "admin@x.test")
    from io import BytesIO

    r = client.post("/admin/kinds/upload", data={"key": "standard-sale", "file": (BytesIO(
        _bpmn(allow_skip=True).encode()), "skipping.bpmn")}, content_type="multipart/form-data")
    assert r.status_code == 422
    page = _text(r)
    assert "The BPMN was refused; nothing was stored." in page and SKIPS in page and CUSTOM in page
    assert kinds.get_kind("standard-sale").current_version.number == 1

    r = client.post("/admin/kinds/new", data={"key": "quick-sale", "name": "Quick sale", "type": "standard",
                                              "allow_skip": "1", "use.lead": "1", "use.proposal": "1"})
    assert r.status_code == 422
    assert "Use a custom kind to allow skips or backward moves." in _text(r)
    assert kinds.find_kind("quick-sale") is None
