"""Browser journey: a kind som_flow drew survives an ordinary edit in the bpmn-js Modeler.

For each shipped kind and a designer-built one, the admin's browser opens the kind's BPMN in the vendored bpmn-js
Modeler (served by the live app), adds a user task inside the first stage (connected before the stage's gate, as
a person would draw it), moves an existing task, saves the XML and uploads it. The upload must be a new version,
and a deal created on it must run: the added task is handed out and the deal makes its first move."""

from __future__ import annotations

import json

import pytest
from lxml import etree
from playwright.sync_api import expect

from som_flow.engine import profile as p

pytestmark = pytest.mark.browser

NS = {"bpmn": p.BPMN_NS, "spiffworkflow": p.SPIFF_NS, "bpmndi": p.BPMNDI_NS, "dc": p.DC_NS}
MODELER = "/assets/vendor/bpmn-js"
PAGE = f"""<!doctype html><html><head><meta charset="utf-8"><title>Modeler</title>
<link rel="stylesheet" href="{MODELER}/diagram-js.css"><link rel="stylesheet" href="{MODELER}/bpmn-js.css">
<link rel="stylesheet" href="{MODELER}/bpmn-embedded.css"></head>
<body><div id="canvas" style="width:1280px;height:720px"></div>
<script src="{MODELER}/bpmn-modeler.production.min.js"></script></body></html>"""

# In the page: import the XML, add "Check the budget" between the stage's last step and its gate (or, in a
# stageless kind, before "Record outcome"), move another task, and give back the saved XML and what changed.
EDIT = """async ({xml, container, gate, moved}) => {
  const modeler = new BpmnJS({container: '#canvas'});
  const {warnings} = await modeler.importXML(xml);
  const registry = modeler.get('elementRegistry');
  const modeling = modeler.get('modeling');
  const factory = modeler.get('elementFactory');
  const parent = registry.get(container);
  const gateShape = registry.get(gate);
  const incoming = gateShape.incoming[0];
  const task = factory.createShape({type: 'bpmn:UserTask'});
  // below the gate, at the stage's bottom edge: bpmn-js grows the stage and the pipeline around it
  const added = modeling.createShape(task, {x: gateShape.x + 50, y: parent.y + parent.height - 20}, parent);
  modeling.updateLabel(added, 'Check the budget');
  modeling.reconnectEnd(incoming, added, {x: added.x, y: added.y + added.height / 2});
  modeling.connect(added, gateShape);
  modeling.moveElements([registry.get(moved)], {x: 0, y: 40});
  const saved = await modeler.saveXML({format: true});
  return {xml: saved.xml, warnings: warnings.map(w => w.message), added: added.id};
}"""

# In the page: one API call with the admin's session and its CSRF token, as the app's own scripts call it.
CALL = """async ({method, url, body, type, csrf}) => {
  const response = await fetch(url, {method, headers: {'Content-Type': type || 'application/json', 'X-CSRFToken': csrf},
                                     body: body === null ? undefined : body});
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { json = null; }
  return {status: response.status, json, text};
}"""

DESIGNED = {
    "key": "field-visit", "name": "Field visit", "type": "custom", "allow_skip": True, "allow_back": True,
    "stages": ["lead", "qualification", "proposal"],
    "stage_tasks": {
        "lead": [{"title": "Assign a sales rep", "role": "csr"}, {"title": "Call the prospect", "role": "rep"},
                 {"title": "Send a brochure", "role": "csr", "required": False}],
        "qualification": [{"title": "Approve the discount", "role": "manager"}],
    },
    "stage_sla": {"lead": "P3D"},
}
# (kind, the element holding the first stage's work, its gate-like last task, a task to move, first move)
CASES = {
    "standard-sale": ("stage_lead", "gate_lead", "task_lead_2", "qualification"),
    "service-contract": ("stage_lead", "gate_lead", "gate_qualification", "proposal"),
    "stageless": ("pipeline", "record_outcome", "task_1", None),
    "field-visit": ("stage_lead", "gate_lead", "task_lead_1", "qualification"),
}


def _modeler_page(page, base_url: str) -> None:
    """Open a blank page of the app's origin that loads the vendored Modeler; keep the session's CSRF token."""
    page.csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    page.route(f"{base_url}/__modeler", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
    page.goto("/__modeler")
    page.wait_for_function("() => typeof window.BpmnJS === 'function'")


def _api(page, method: str, url: str, body=None, type: str | None = None) -> dict:
    payload = body if isinstance(body, str) or body is None else json.dumps(body)
    return page.evaluate(CALL, {"method": method, "url": f"/api/v1{url}", "body": payload, "type": type,
                                "csrf": page.csrf})


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_kind_edited_in_the_modeler_uploads_as_a_new_version_that_runs(sessions, live_server, kind):
    _, base_url, people = live_server
    admin = sessions.new()
    page = admin.login("admin@x.test")
    expect(page.get_by_role("heading", name="Opportunities")).to_be_visible()
    _modeler_page(page, base_url)
    if kind == "field-visit":
        made = _api(page, "POST", "/kinds", DESIGNED)
        assert made["status"] == 201, made["text"]
    before = _api(page, "GET", f"/kinds/{kind}")["json"]["current_version"]
    original = _api(page, "GET", f"/kinds/{kind}/bpmn")["text"]

    container, gate, moved, first_move = CASES[kind]
    moved_title = etree.fromstring(original.encode()).find(f".//*[@id='{moved}']").get("name")
    edited = page.evaluate(EDIT, {"xml": original, "container": container, "gate": gate, "moved": moved})
    assert edited["warnings"] == []
    assert "Check the budget" in edited["xml"]
    # bpmn-js drops a task inside a subprocess from its lane when it is moved (lanes hold top-level nodes for it),
    # which is why roles come from som.role alone; the picture still shows the moved task in its role's lane.
    role = _role(original, moved)
    assert _centre(edited["xml"], moved) in _bounds(edited["xml"], f"lane_{role}")

    uploaded = _api(page, "PUT", f"/kinds/{kind}/bpmn", edited["xml"], type="application/xml")
    assert uploaded["status"] == 201, uploaded["text"]
    assert uploaded["json"]["number"] == before + 1
    assert _api(page, "GET", f"/kinds/{kind}")["json"]["current_version"] == before + 1
    assert edited["added"] in _api(page, "GET", f"/kinds/{kind}/bpmn")["text"]

    customer_id = _api(page, "GET", "/customers?q=Northwind")["json"]["items"][0]["id"]
    deal = _api(page, "POST", "/opportunities", {"title": f"Round trip {kind}", "customer_id": customer_id,
                                                 "kind": kind, "sales_rep": people["rep"], "amount": "1200.00"})
    assert deal["status"] == 201, deal["text"]
    deal_id = deal["json"]["id"]

    # Work the first stage as its people would, up to and including the added task: it has no som.role, so it
    # is the rep's whatever lane the modeler left it in.
    for _ in range(5):
        tasks = [t for t in _open_tasks(page, deal_id) if not t.get("action")]
        assert tasks, "the added task never came up"
        task = next((t for t in tasks if t["title"] == "Check the budget"), tasks[0])
        if task["title"] == moved_title:
            assert task["role"] == role  # its lane reference is gone, its role is not
        done = _api(page, "POST", f"/tasks/{task['id']}/complete", {"data": {f: "yes" for f in task["form"]}})
        assert done["status"] == 200, done["text"]
        if task["title"] == "Check the budget":
            assert task["role"] == "rep"
            break
    if first_move is None:
        won = _api(page, "POST", f"/opportunities/{deal_id}/win", {"reason": "price"})
        assert won["status"] == 200, won["text"]
        assert won["json"]["status"] == "won"
    else:
        moved_on = _api(page, "POST", f"/opportunities/{deal_id}/stage", {"stage": first_move})
        assert moved_on["status"] == 200, moved_on["text"]
        assert moved_on["json"]["stage"] == first_move
    admin.assert_no_console_errors()


def _open_tasks(page, deal_id: int) -> list[dict]:
    return _api(page, "GET", f"/tasks?opportunity={deal_id}&status=open")["json"]["items"]


class _Box:
    def __init__(self, x: float, y: float, width: float, height: float):
        self.x, self.y, self.w, self.h = x, y, width, height

    def __contains__(self, point: tuple[float, float]) -> bool:
        return self.x < point[0] < self.x + self.w and self.y < point[1] < self.y + self.h


def _bounds(xml: str, element_id: str) -> _Box:
    root = etree.fromstring(xml.encode())
    b = root.find(f".//bpmndi:BPMNShape[@bpmnElement='{element_id}']/dc:Bounds", NS)
    return _Box(*(float(b.get(k)) for k in ("x", "y", "width", "height")))


def _centre(xml: str, element_id: str) -> tuple[float, float]:
    box = _bounds(xml, element_id)
    return box.x + box.w / 2, box.y + box.h / 2


def _role(xml: str, task_id: str) -> str:
    root = etree.fromstring(xml.encode())
    return root.find(f".//bpmn:userTask[@id='{task_id}']//spiffworkflow:property[@name='som.role']", NS).get("value")


def test_on_a_phone_the_kind_page_draws_each_task_inside_its_roles_lane(sessions, live_server):
    """The picture a person reads: bpmn-js draws the shipped standard sale with every task in its role's lane
    ("Assign a sales rep" in the csr lane, "Review stalled Proposal" in the manager's)."""
    from som_flow.processes import shipped_bpmn

    admin = sessions.new()
    admin.page.set_viewport_size({"width": 390, "height": 844})
    page = admin.login("admin@x.test")
    page.goto("/admin/kinds/standard-sale")
    expect(page.locator("#diagram")).to_have_attribute("data-rendered", "true")
    xml = shipped_bpmn("standard-sale")
    tasks = etree.fromstring(xml.encode()).findall(".//bpmn:userTask", NS)
    assert len(tasks) == 11
    for task in tasks:
        lane = _drawn(page, f"lane_{_role(xml, task.get('id'))}")
        drawn = _drawn(page, task.get("id"))
        assert (drawn["x"] + drawn["width"] / 2, drawn["y"] + drawn["height"] / 2) in _Box(**lane), task.get("name")
    admin.assert_no_console_errors()


def _drawn(page, element_id: str) -> dict:
    """Where bpmn-js drew an element on the screen (its visual's rectangle, not its hit area or label)."""
    return page.locator(f'#diagram [data-element-id="{element_id}"] > .djs-visual > rect').first.bounding_box()


def test_the_jobs_process_edited_in_the_modeler_replaces_the_follow_on_and_runs(sessions, live_server):
    """The job's process is a process like any other here: the same edit, uploaded as the kind's follow-on, is the
    work a deal won with a job now starts, the added task included."""
    _, base_url, people = live_server
    admin = sessions.new()
    page = admin.login("admin@x.test")
    expect(page.get_by_role("heading", name="Opportunities")).to_be_visible()
    _modeler_page(page, base_url)
    before = _api(page, "GET", "/kinds/standard-sale")["json"]["follow_on"]["number"]
    original = _api(page, "GET", "/kinds/standard-sale/follow-on")["text"]
    edited = page.evaluate(EDIT, {"xml": original, "container": "pool", "gate": "task_2", "moved": "task_3"})
    assert edited["warnings"] == []

    uploaded = _api(page, "PUT", "/kinds/standard-sale/follow-on", edited["xml"], type="application/xml")
    assert uploaded["status"] == 201, uploaded["text"]
    assert uploaded["json"]["number"] == before + 1

    customer_id = _api(page, "GET", "/customers?q=Northwind")["json"]["items"][0]["id"]
    deal = _api(page, "POST", "/opportunities", {"title": "Round trip job", "customer_id": customer_id,
                                                 "kind": "standard-sale", "sales_rep": people["rep"]})
    assert deal["status"] == 201, deal["text"]
    deal_id = deal["json"]["id"]
    won = _api(page, "POST", f"/opportunities/{deal_id}/win", {"reason": "price", "create_job": True})
    assert won["status"] == 200, won["text"]
    titles = []
    for _ in range(3):
        task = next(t for t in _open_tasks(page, deal_id) if t["title"] in ("Order the materials", "Check the budget"))
        titles.append(task["title"])
        done = _api(page, "POST", f"/tasks/{task['id']}/complete", {"data": {f: "yes" for f in task["form"]}})
        assert done["status"] == 200, done["text"]
        if task["title"] == "Check the budget":
            assert task["role"] == "rep"  # no som.role: the default, whatever lane bpmn-js put it in
            break
    assert titles == ["Order the materials", "Check the budget"]
    admin.assert_no_console_errors()
