"""The browser modeler (issue #14): an admin draws a three-stage kind in bpmn-js, sets the som_flow properties in the
properties panel, sees the server's check mark a refused shape, fixes it, saves a version and sells with it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Two more stage subprocesses after Lead, each with a start, a user task and an end, chained Lead → 2 → 3 → the
# pipeline's end. Drawn through the modeler's own API: dragging nested shapes from the palette is impractical in a
# test, and what the test is about (the som properties) is then set through the properties panel's inputs.
ADD_TWO_STAGES = """() => {
  const modeler = window.somModeler;
  const registry = modeler.get('elementRegistry'), modeling = modeler.get('modeling');
  const pipeline = registry.get('pipeline'), lead = registry.get('stage_lead');
  const finish = registry.get('pipeline_end'), won = registry.get('end_won');
  const width = lead.width + 60;
  modeling.moveElements([won], {x: 2 * width, y: 0});
  modeling.moveElements([finish], {x: 2 * width, y: 0});
  modeling.resizeShape(pipeline, {x: pipeline.x, y: pipeline.y, width: pipeline.width + 2 * width,
                                  height: pipeline.height});
  modeling.removeElements([registry.get('flow_lead_finish')]);
  const made = [];
  let before = lead;
  for (const n of [1, 2]) {
    const stage = modeling.createShape({type: 'bpmn:SubProcess', isExpanded: true, width: lead.width,
                                        height: lead.height},
                                       {x: lead.x + lead.width / 2 + n * width, y: lead.y + lead.height / 2}, pipeline);
    const start = modeling.createShape({type: 'bpmn:StartEvent'}, {x: stage.x + 40, y: stage.y + 60}, stage);
    const task = modeling.createShape({type: 'bpmn:UserTask'}, {x: stage.x + 150, y: stage.y + 60}, stage);
    const end = modeling.createShape({type: 'bpmn:EndEvent'}, {x: stage.x + 260, y: stage.y + 60}, stage);
    modeling.connect(start, task);
    modeling.connect(task, end);
    modeling.connect(before, stage);
    made.push({stage: stage.id, task: task.id});
    before = stage;
  }
  modeling.connect(before, finish);
  return made;
}"""


def _select(page, element_id: str) -> None:
    page.evaluate("id => window.somModeler.get('selection').select(window.somModeler.get('elementRegistry').get(id))",
                  element_id)
    expect(page.locator("#bio-properties-panel-id")).to_have_value(element_id)  # the panel shows it now


def _open(page, group: str) -> None:
    """Open a group of the properties panel ("general", "som_flow") unless it is open."""
    header = page.locator(f'[data-group-id="group-{group}"] > .bio-properties-panel-group-header')
    if "open" not in (header.get_attribute("class") or "").split():
        header.click()


STORED = """([id, name, value]) => {
  const bo = window.somModeler.get('elementRegistry').get(id).businessObject;
  return ((name === 'name' ? bo.name : window.SomModeler.getSomProperty(bo, name)) || '') === value;
}"""


def _type(page, field, element_id: str, name: str, value: str) -> None:
    """Type into a text field of the panel and wait until the drawing holds it (the panel applies typing after a
    pause; a selection changed before that would bring the old shape back into the panel)."""
    field.fill(value)
    page.wait_for_function(STORED, arg=[element_id, name, value])


def _checked(page):
    """Wait for the server's check of the latest drawing and return the status line."""
    status = page.locator("#draft-status")
    expect(status).not_to_have_attribute("data-state", "pending")
    return status


def test_an_admin_draws_a_three_stage_kind_fixes_a_refused_stage_saves_it_and_sells_with_it(sessions):
    me = sessions.new()
    page = me.login("admin@x.test")
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Draw a new kind in the modeler").click()
    expect(page.get_by_role("heading", name="A new kind in the modeler")).to_be_visible()
    expect(page.locator("#modeler-canvas")).to_have_attribute("data-ready", "true")
    expect(_checked(page)).to_have_attribute("data-state", "valid")
    expect(page.locator("#draft-stages")).to_have_text("Stages: Lead")

    page.get_by_label("Key").fill("site-survey")
    page.get_by_label("Name").fill("Site survey sale")
    page.get_by_label("Type").select_option("standard")

    made = page.evaluate(ADD_TWO_STAGES)
    for (stage_key, stage_name), shapes in zip([("qualification", "Qualification"), ("proposal", "Proposal")], made,
                                           strict=True):
        _select(page, shapes["stage"])
        _open(page, "general")
        _type(page, page.locator("#bio-properties-panel-name"), shapes["stage"], "name", stage_name)
        _open(page, "som_flow")
        page.get_by_label("Stage", exact=True).select_option(label=stage_name)  # the catalog's stages, by name
        _type(page, page.get_by_label("Win probability in this stage (%)"), shapes["stage"], "som.probability",
              "30" if stage_key == "qualification" else "60")
        _select(page, shapes["task"])
        _open(page, "general")
        _type(page, page.locator("#bio-properties-panel-name"), shapes["task"], "name", f"Finish {stage_name}")
        _open(page, "som_flow")
        page.get_by_label("Done by").select_option(label="Sales rep")
        _type(page, page.get_by_label("Due"), shapes["task"], "som.due", "P5D")
        if stage_key == "qualification":
            page.get_by_label("Stage gate: completing it finishes the stage").check()

    # Proposal's task is not its gate yet: the server refuses the drawing and the stage is marked
    expect(_checked(page)).to_have_attribute("data-state", "invalid")
    problem = page.locator("#draft-problems tbody tr", has_text="Proposal")
    expect(problem).to_contain_text("gate")
    stage_id = made[1]["stage"]
    expect(page.locator(f'.djs-element[data-element-id="{stage_id}"]')).to_have_class(re.compile("som-refused"))
    expect(page.locator(".som-refused-badge")).to_have_count(1)
    page.get_by_role("button", name=re.compile(r"^Proposal")).click()  # the row selects the shape
    expect(page.locator(".bio-properties-panel-header-label")).to_have_text("Proposal")

    # saving it anyway is refused by the server: nothing stored, the reasons shown, the drawing and the fields kept
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("#save-refused")).to_contain_text(stage_id)
    expect(page.locator("#save-refused")).to_contain_text("gate")
    expect(page.get_by_label("Key")).to_have_value("site-survey")
    expect(page.get_by_label("Name")).to_have_value("Site survey sale")
    expect(page.locator("#modeler-canvas")).to_have_attribute("data-ready", "true")
    expect(_checked(page)).to_have_attribute("data-state", "invalid")
    expect(page.locator(f'.djs-element[data-element-id="{stage_id}"]')).to_have_class(re.compile("som-refused"))

    _select(page, made[1]["task"])
    _open(page, "som_flow")
    page.get_by_label("Stage gate: completing it finishes the stage").check()
    expect(_checked(page)).to_have_attribute("data-state", "valid")
    expect(page.locator(".som-refused-badge")).to_have_count(0)
    expect(page.locator("#draft-stages")).to_have_text("Stages: Lead → Qualification → Proposal")

    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_role("status").first).to_contain_text("Version 1 of site-survey stored.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Site survey sale")
    expect(page.locator("#version-stages tbody")).to_contain_text("Qualification")
    expect(page.locator("#version-stages tbody tr")).to_have_count(3)

    page.get_by_role("link", name="Opportunities").first.click()
    page.get_by_role("link", name="New opportunity").click()
    page.get_by_label("Title").fill("Warehouse roof survey")
    page.get_by_label("Customer").fill("Northwind Traders")
    page.get_by_label("Kind").select_option(label="Site survey sale")
    page.get_by_label("Sales rep").select_option(label="Rep")
    page.get_by_label("Amount").fill("8000")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Warehouse roof survey")
    expect(page.locator("#stage")).to_have_text("Lead")
    me.assert_no_console_errors(r"status of 422 .* at \S+/admin/kinds/new-model$")  # the refused save, on purpose


def test_on_a_phone_the_modeler_opens_a_shipped_kind_checks_it_and_saves_a_renamed_task(sessions):
    me = sessions.new()
    page = me.login("admin@x.test")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/admin/kinds/standard-sale")
    page.get_by_role("link", name="Open in modeler").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("in the modeler")
    expect(page.locator("#modeler-canvas")).to_have_attribute("data-ready", "true")
    expect(page.locator("#modeler-canvas")).to_be_visible()
    expect(_checked(page)).to_have_attribute("data-state", "valid")
    expect(page.locator("#draft-stages")).to_have_text("Stages: Lead → Qualification → Proposal → Negotiation")
    box = page.locator("#modeler-canvas").bounding_box()
    assert box["width"] <= 390 and box["height"] > 200  # the drawing fits the screen's width, with room to draw

    task = page.evaluate("""() => window.somModeler.get('elementRegistry')
        .filter(e => e.type === 'bpmn:UserTask' && !e.businessObject.extensionElements.values[0].values
          .some(p => p.name === 'som.gate'))[0].id""")
    _select(page, task)
    _open(page, "general")
    _type(page, page.locator("#bio-properties-panel-name"), task, "name", "Call the prospect back")
    expect(_checked(page)).to_have_attribute("data-state", "valid")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_role("status").first).to_contain_text("Version 2 of standard-sale stored.")
    expect(page.locator("#current-version")).to_have_text("2")
    me.assert_no_console_errors()


OPERATOR = ('<spiffworkflow:serviceTaskOperator id="set_probability"><spiffworkflow:parameters>'
            '<spiffworkflow:parameter id="percent" type="int" value="amount // 100"/>'
            "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>")
MESSAGE_VARIABLE = "<spiffworkflow:messageVariable>som_win</spiffworkflow:messageVariable>"
ROUND_TRIP = """async (xml) => {
  const modeler = window.somModeler;
  const imported = await modeler.importXML(xml);
  const saved = await modeler.saveXML({format: false});
  return {warnings: imported.warnings.map(w => w.message), xml: saved.xml};
}"""


def test_the_modeler_keeps_every_spiffworkflow_extension_it_reads(sessions):
    """What the engine reads survives the modeler unchanged: properties, message variables and service task
    operators with their parameters (the moddle extension describes them all)."""
    from som_flow.processes import shipped_bpmn

    me = sessions.new()
    page = me.login("admin@x.test")
    page.goto("/admin/kinds/new-model")
    expect(page.locator("#modeler-canvas")).to_have_attribute("data-ready", "true")
    xml = shipped_bpmn("standard-sale").replace(
        '<bpmn:userTask id="gate_lead"',
        f'<bpmn:serviceTask id="ops"><bpmn:extensionElements>{OPERATOR}</bpmn:extensionElements></bpmn:serviceTask>'
        '<bpmn:userTask id="gate_lead"', 1)
    assert OPERATOR in xml and MESSAGE_VARIABLE in xml
    result = page.evaluate(ROUND_TRIP, xml)
    assert result["warnings"] == []
    saved = result["xml"].replace(" />", "/>")  # bpmn-js writes a space before "/>"
    assert OPERATOR in saved
    assert MESSAGE_VARIABLE in saved
    assert saved.count('<spiffworkflow:property name="som.gate" value="true"/>') == xml.count(
        '<spiffworkflow:property name="som.gate" value="true"/>')
    assert '<spiffworkflow:property name="som.pipeline" value="true"/>' in saved
    me.assert_no_console_errors()
