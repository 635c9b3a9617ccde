"""The job's process is a process like any other (issue #14, item 7): a kind's follow-on process is checked as a
draft (POST /kinds/validate?process=follow_on) and drawn in the same browser modeler as a kind, saving a new
follow-on version through the upload's own service; a refusal stores nothing and keeps the drawing."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import func, select

from som_flow.extensions import db
from som_flow.models import FollowOnVersion
from som_flow.processes import shipped_bpmn, shipped_follow_on_bpmn
from som_flow.services import kinds
from tests.helpers import Api, login, make_user
from tests.test_admin_pages import text

SCRIPT = '<bpmn:scriptTask id="compute" name="Compute"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>'


def _versions() -> int:
    return db.session.scalar(select(func.count()).select_from(FollowOnVersion))


def _with_script(xml: str) -> str:
    """The shipped job order with a script task drawn in its process (refused: no Python in BPMN)."""
    head, sep, tail = xml.partition("</bpmn:process>")
    return head + SCRIPT + sep + tail


def _drawing(response) -> str:
    html, tag = response.get_data(as_text=True), '<textarea id="model-xml" name="bpmn" hidden>'
    start = html.index(tag) + len(tag)
    return unescape(html[start:html.index("</textarea>", start)])


@pytest.fixture
def admin_api(client):
    make_user("admin@x.test", "admin")
    return Api(client, "admin@x.test")


def _check(api: Api, xml: str, query: str):
    return api.client.post(f"/api/v1/kinds/validate{query}", data=xml,
                           headers={**api.headers, "Content-Type": "application/xml"})


def test_a_follow_on_draft_is_checked_as_its_upload_is_and_nothing_is_stored(admin_api):
    before = _versions()
    ok = _check(admin_api, shipped_follow_on_bpmn("job-order"), "?process=follow_on")
    assert ok.status_code == 200 and ok.json["valid"] is True and ok.json["errors"] == {} and ok.json["stages"] == []

    refused = _check(admin_api, _with_script(shipped_follow_on_bpmn("job-order")), "?process=follow_on")
    assert refused.status_code == 200 and refused.json["valid"] is False
    assert "compute" in refused.json["errors"] and "script" in refused.json["errors"]["compute"][0]

    # a sale's process is not a job's: a follow-on has no stages, and the check says so against its element
    sale = _check(admin_api, shipped_bpmn("standard-sale"), "?process=follow_on").json
    assert sale["valid"] is False and sale["errors"]
    # and the same drawing is a valid kind when checked as one
    assert _check(admin_api, shipped_bpmn("standard-sale"), "").json["valid"] is True

    bad = _check(admin_api, shipped_follow_on_bpmn("job-order"), "?process=job")
    assert bad.status_code == 422 and "process" in bad.json["errors"]
    assert _versions() == before


def test_the_kind_page_opens_the_follow_on_in_the_modeler_and_saving_stores_a_new_follow_on_version(client):
    admin = login(client, make_user("admin@x.test", "admin"))
    kind = kinds.get_kind("standard-sale")
    current = kinds.current_follow_on(kind)
    page = admin.get("/admin/kinds/standard-sale").get_data(as_text=True)
    assert 'href="/admin/kinds/standard-sale/follow-on/model" id="follow-on-modeler">Open it in the modeler' in page

    r = admin.get("/admin/kinds/standard-sale/follow-on/model")
    assert r.status_code == 200
    assert "The job's work after a win: Standard sale" in text(r)
    assert _drawing(r) == current.bpmn_xml
    assert 'data-check="/api/v1/kinds/validate?process=follow_on" data-type=""' in r.get_data(as_text=True)

    renamed = current.bpmn_xml.replace('name="Order the materials"', 'name="Order the panels"')
    assert renamed != current.bpmn_xml
    saved = admin.post("/admin/kinds/standard-sale/follow-on/model", data={"bpmn": renamed})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/admin/kinds/standard-sale#follow-on")
    newest = kinds.current_follow_on(kind)
    assert newest.number == current.number + 1 and 'name="Order the panels"' in newest.bpmn_xml
    assert kind.current_version.number == 1  # the sale's own process is untouched


def test_a_refused_follow_on_drawing_stores_nothing_and_comes_back_as_drawn(client):
    admin = login(client, make_user("admin@x.test", "admin"))
    before = _versions()
    drawn = _with_script(shipped_follow_on_bpmn("job-order"))
    r = admin.post("/admin/kinds/standard-sale/follow-on/model", data={"bpmn": drawn})
    assert r.status_code == 422
    assert _drawing(r) == drawn
    shown = text(r)
    assert "Saving was refused; nothing was stored" in shown and "compute" in shown
    assert _versions() == before


def test_a_kind_without_a_follow_on_starts_its_drawing_from_the_shipped_job_order(client):
    admin = login(client, make_user("admin@x.test", "admin"))
    assert kinds.current_follow_on(kinds.get_kind("stageless")) is None
    assert "Draw one in the modeler" in text(admin.get("/admin/kinds/stageless"))
    r = admin.get("/admin/kinds/stageless/follow-on/model")
    assert r.status_code == 200 and _drawing(r) == shipped_follow_on_bpmn("job-order")
    assert "it has none yet" in text(r)


def test_only_admins_draw_the_follow_on(client):
    login(client, make_user("rep@x.test", "rep"))
    before = _versions()
    assert client.get("/admin/kinds/standard-sale/follow-on/model").status_code == 403
    assert client.post("/admin/kinds/standard-sale/follow-on/model",
                       data={"bpmn": shipped_follow_on_bpmn("job-order")}).status_code == 403
    assert _versions() == before
