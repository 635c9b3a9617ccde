// som_flow's BPMN modeler: the bpmn-js Modeler, the standard properties panel (id, name, …) and a "som_flow"
// group for the som.* properties, read and written as spiffworkflow:properties (the engine's format).
// Built by build.mjs into som_flow/web/static/vendor/som-modeler/ as one script exposing window.SomModeler.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';

import spiffworkflow from './spiffworkflow.json';
import SomPropertiesProvider, { getSomProperty, setSomProperty } from './som-properties.js';

const SomPropertiesModule = {
  __init__: ['somPropertiesProvider'],
  somPropertiesProvider: ['type', SomPropertiesProvider]
};

/** A modeler drawing into `container`, its properties panel in `propertiesParent`; `somFlow.stages` (the stage
 * catalog, [{key, name}]) makes the stage a choice by name. */
function create(container, propertiesParent, somFlow) {
  return new BpmnModeler({
    container,
    propertiesPanel: { parent: propertiesParent },
    somFlow: somFlow || {},
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, SomPropertiesModule],
    moddleExtensions: { spiffworkflow }
  });
}

window.SomModeler = { create, getSomProperty, setSomProperty };
