"""The kind modeler pages (/admin/kinds/<key>/model, /admin/kinds/new-model): admins only; the drawing is saved through
the upload service as a new version; a refusal stores nothing, shows the reasons by element and keeps the drawing
and every typed value."""

from __future__ import annotations

from html import unescape

import pytest

from som_flow.models import KindVersion, OpportunityKind
from som_flow.processes import shipped_bpmn
from som_flow.services import kinds
from tests.helpers import login, make_user
from tests.test_admin_pages import count, field_error, text

GATE = '<spiffworkflow:property name="som.gate" value="true"/>'


@pytest.fixture
def admin(client):
    return login(client, make_user("admin@x.test", "admin"))


def _drawing(response) -> str:
    """The BPMN the page hands the modeler (the form's hidden field)."""
    html, tag = response.get_data(as_text=True), '<textarea id="model-xml" name="bpmn" hidden>'
    start = html.index(tag) + len(tag)
    return unescape(html[start:html.index("</textarea>", start)])


def test_the_kind_page_links_to_the_modeler_which_opens_the_current_version(admin):
    assert "/admin/kinds/standard-sale/model" in admin.get("/admin/kinds/standard-sale").get_data(as_text=True)
    r = admin.get("/admin/kinds/standard-sale/model")
    assert r.status_code == 200
    assert "Standard sale standard-sale in the modeler" in text(r)
    assert _drawing(r) == kinds.get_kind("standard-sale").current_version.bpmn_xml
    assert 'data-check="/api/v1/kinds/validate"' in r.get_data(as_text=True)


def test_a_new_kind_starts_from_a_small_valid_drawing_without_lanes(admin):
    r = admin.get("/admin/kinds/new-model")
    assert r.status_code == 200
    xml = _drawing(r)
    result = kinds.check_draft(xml, "standard")
    assert result["valid"], result["errors"]
    assert [s["key"] for s in result["stages"]] == ["lead"]
    assert "laneSet" not in xml and "lane_" not in xml


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_only_admins_open_the_modeler(client, role):
    login(client, make_user(f"{role}@x.test", role))
    assert client.get("/admin/kinds/standard-sale/model").status_code == 403
    assert client.get("/admin/kinds/new-model").status_code == 403
    r = client.post("/admin/kinds/standard-sale/model", data={"bpmn": shipped_bpmn("standard-sale")})
    assert r.status_code == 403


def test_saving_a_drawing_stores_a_new_version(admin):
    before = kinds.get_kind("standard-sale").current_version.number
    r = admin.post("/admin/kinds/standard-sale/model", data={"bpmn": shipped_bpmn("standard-sale")})
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/admin/kinds/standard-sale")
    assert kinds.get_kind("standard-sale").current_version.number == before + 1
    assert f"Version {before + 1} of standard-sale stored." in text(admin.get("/admin/kinds/standard-sale"))


def test_a_refused_drawing_stores_nothing_names_the_element_and_keeps_the_drawing(admin):
    versions = count(KindVersion)
    refused = shipped_bpmn("standard-sale").replace(GATE, "", 1)
    r = admin.post("/admin/kinds/standard-sale/model", data={"bpmn": refused})
    assert r.status_code == 422
    assert count(KindVersion) == versions
    page = text(r)
    assert "Saving was refused; nothing was stored" in page
    assert "stage_lead" in page and "gate" in page
    assert _drawing(r) == refused


def test_a_new_kind_is_saved_with_its_key_name_and_type(admin):
    xml = _drawing(admin.get("/admin/kinds/new-model"))
    r = admin.post("/admin/kinds/new-model", data={"key": "roof-survey", "name": "Roof survey", "type": "standard",
                                                   "bpmn": xml})
    assert r.status_code == 302, text(r)[:500]
    kind = kinds.get_kind("roof-survey")
    assert (kind.name, kind.type, kind.current_version.number) == ("Roof survey", "standard", 1)
    assert [s["key"] for s in kind.current_version.stages] == ["lead"]


@pytest.mark.parametrize(("form", "field", "words"), [
    ({"key": "standard-sale"}, "key", "A kind with this key exists"),
    ({"key": "Roof Survey"}, "key", "lower-case letters"),
    ({"name": "x" * 121}, "name", "At most 120 characters"),
    ({"type": "huge"}, "type", "Choose one of"),
])
def test_a_new_kind_with_a_bad_field_is_refused_beside_the_field_keeping_every_value(admin, form, field, words):
    xml = _drawing(admin.get("/admin/kinds/new-model"))
    kinds_before = count(OpportunityKind)
    data = {"key": "roof-survey", "name": "Roof survey", "type": "standard", "bpmn": xml, **form}
    r = admin.post("/admin/kinds/new-model", data=data)
    assert r.status_code == 422
    assert words in field_error(r, field)
    assert count(OpportunityKind) == kinds_before
    html = r.get_data(as_text=True)
    assert f'value="{data["key"]}"' in html and f'value="{data["name"]}"' in html
    assert _drawing(r) == xml


def test_a_drawing_that_does_not_fit_the_chosen_type_says_so(admin):
    xml = _drawing(admin.get("/admin/kinds/new-model"))
    r = admin.post("/admin/kinds/new-model", data={"key": "roof-survey", "name": "Roof", "type": "stageless",
                                                   "bpmn": xml})
    assert r.status_code == 422
    assert "A stageless kind has no stages" in text(r)
    assert "<code>stages</code>" not in r.get_data(as_text=True)  # words, not the field's key
    assert kinds.find_kind("roof-survey") is None
    assert _drawing(r) == xml


def test_a_drawing_with_stages_for_a_stageless_kind_says_so_and_stores_nothing(admin):
    before = kinds.get_kind("stageless").current_version.number
    r = admin.post("/admin/kinds/stageless/model", data={"bpmn": shipped_bpmn("standard-sale")})
    assert r.status_code == 422
    assert "A stageless kind has no stages: remove the stage subprocesses." in text(r)
    assert kinds.get_kind("stageless").current_version.number == before
