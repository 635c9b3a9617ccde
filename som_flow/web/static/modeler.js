// The kind modeler page (templates/admin/modeler.html): draw with bpmn-js (vendor/som-modeler, built from
// assets/modeler), have the server check each change (POST /api/v1/kinds/validate, the upload's own checks),
// mark every refused shape, and save by posting the drawn XML with the form (CSRF-protected, one new version).
(function () {
  "use strict";
  var form = document.getElementById("model-form");
  if (!form) { return; }
  var status = document.getElementById("draft-status");
  var table = document.getElementById("draft-problems");
  var stagesLine = document.getElementById("draft-stages");
  var xmlField = document.getElementById("model-xml");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var CHECK_DELAY_MS = 500;

  function say(text, state) {
    status.textContent = text;
    status.dataset.state = state;
    status.classList.toggle("error", state === "invalid" || state === "failed");
    status.classList.toggle("ok", state === "valid");
  }

  if (!window.SomModeler) { say("The modeler is missing (run `make assets`).", "failed"); return; }
  var container = document.getElementById("modeler-canvas");
  var modeler = window.SomModeler.create(container, document.getElementById("modeler-properties"),
    { stages: JSON.parse(form.dataset.stages || "[]") });
  window.somModeler = modeler;  // for the browser console (and the browser tests)
  var canvas = modeler.get("canvas");
  var overlays = modeler.get("overlays");
  var registry = modeler.get("elementRegistry");
  var marked = [];

  function kindType() {
    var field = form.querySelector("[name=type]");
    return field ? field.value : form.dataset.type;
  }

  function label(element, id) {
    var name = element && element.businessObject && element.businessObject.name;
    return name ? name + " (" + id + ")" : id;
  }

  // The shape that shows a refused id: the element itself, else the pool of a refused process or the event
  // holding a refused event definition (those have no shape of their own).
  function shapeOf(id) {
    return registry.get(id) || registry.find(function (element) {
      var bo = element.businessObject || {};
      return (bo.processRef && bo.processRef.id === id) ||
        (bo.eventDefinitions || []).some(function (definition) { return definition.id === id; });
    });
  }

  function unmark() {
    marked.forEach(function (id) { canvas.removeMarker(id, "som-refused"); });
    overlays.remove({ type: "som-refused" });
    marked = [];
  }

  function mark(element, reasons) {
    if (marked.indexOf(element.id) >= 0) { return; }  // two ids on one shape: one mark
    canvas.addMarker(element.id, "som-refused");
    var badge = document.createElement("div");
    badge.className = "som-refused-badge";
    badge.textContent = "Problem";
    badge.title = reasons.join(" ");
    overlays.add(element.id, "som-refused", { position: { top: -10, left: -10 }, html: badge });
    marked.push(element.id);
  }

  function show(result) {
    unmark();
    var body = table.querySelector("tbody");
    body.textContent = "";
    var ids = Object.keys(result.errors || {});
    ids.forEach(function (id) {
      var reasons = result.errors[id];
      var element = shapeOf(id);
      var row = body.insertRow();
      row.dataset.element = id;
      var head = document.createElement("th");
      head.scope = "row";
      if (element) {
        mark(element, reasons);
        var button = document.createElement("button");
        button.type = "button";
        button.className = "link";
        button.textContent = label(element, id);
        button.addEventListener("click", function () {
          modeler.get("selection").select(element);
          canvas.scrollToElement(element);
        });
        head.appendChild(button);
      } else {
        head.textContent = id;  // the document, or a field such as the kind's type
      }
      row.appendChild(head);
      row.insertCell().textContent = reasons.join(" ");
    });
    table.hidden = ids.length === 0;
    var stages = (result.stages || []).map(function (s) { return s.name || s.key; });
    stagesLine.hidden = stages.length === 0;
    stagesLine.textContent = stages.length ? "Stages: " + stages.join(" → ") : "";
    if (result.valid) {
      say("No problems: this drawing can be saved.", "valid");
    } else {
      say(ids.length === 1 ? "1 problem: the shape is marked in the drawing." :
        ids.length + " problems: the shapes are marked in the drawing.", "invalid");
    }
  }

  var timer = null;
  var sent = 0;
  function check() {
    var mine = ++sent;
    var type = kindType();
    modeler.saveXML({ format: false })
      .then(function (saved) {
        return fetch(form.dataset.check + (type ? "?type=" + encodeURIComponent(type) : ""), {
          method: "POST", credentials: "same-origin", body: saved.xml,
          headers: { "Content-Type": "application/xml", "Accept": "application/json", "X-CSRFToken": csrf }
        });
      })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (answer) {
        if (mine !== sent) { return; }  // a later check is on its way; it alone counts
        if (!answer.ok) { say(answer.body.detail || "The drawing could not be checked.", "failed"); return; }
        show(answer.body);
      })
      .catch(function (err) {
        if (mine === sent) { say("The drawing could not be checked: " + err.message, "failed"); }
      });
  }

  function checkSoon() {
    clearTimeout(timer);
    say("Checking the drawing…", "pending");
    timer = setTimeout(check, CHECK_DELAY_MS);
  }

  modeler.importXML(xmlField.value)
    .then(function () {
      canvas.zoom("fit-viewport");
      container.dataset.ready = "true";
      modeler.on("commandStack.changed", checkSoon);
      var type = form.querySelector("[name=type]");
      if (type) { type.addEventListener("change", checkSoon); }
      check();
    })
    .catch(function (err) { say("The drawing could not be opened: " + err.message, "failed"); });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!container.dataset.ready) { return; }
    modeler.saveXML({ format: true }).then(function (saved) {
      xmlField.value = saved.xml;
      form.submit();
    }).catch(function (err) { say("The drawing could not be saved: " + err.message, "failed"); });
  });
})();
