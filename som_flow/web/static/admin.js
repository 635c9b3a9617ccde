// Admin pages: draw the kind's BPMN with the bpmn-js viewer (vendored under vendor/bpmn-js, no network),
// and show only the designer sections that apply to the chosen kind type.
(function () {
  "use strict";

  function drawDiagram(box) {
    var status = document.getElementById("diagram-status");
    function say(text, isError) {
      if (status) { status.textContent = text; status.classList.toggle("error", !!isError); }
    }
    if (!window.BpmnJS) { say("The diagram viewer is missing (run `make assets`).", true); return; }
    var viewer = new window.BpmnJS({ container: box });
    fetch(box.dataset.src, { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) { throw new Error("the server answered " + r.status); }
        return r.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        viewer.get("canvas").zoom("fit-viewport");
        box.dataset.rendered = "true";
        say("");
      })
      .catch(function (err) { say("The diagram could not be drawn: " + err.message, true); });
  }

  function followKindType(form) {
    var type = form.querySelector("select[name=type], input[name=type]");
    var stages = document.getElementById("stage-rows");
    var stageless = document.getElementById("stageless-note");
    if (!type || !stages || !stageless) { return; }
    function sync() {
      var none = type.value === "stageless";
      stages.hidden = none;
      stageless.hidden = !none;
    }
    type.addEventListener("change", sync);
    sync();
  }

  var box = document.getElementById("diagram");
  if (box) { drawDiagram(box); }
  var designer = document.getElementById("designer");
  if (designer) { followKindType(designer); }
})();
