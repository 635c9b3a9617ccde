// The "som_flow" group of the properties panel: the som.* properties the engine reads (engine/profile.py),
// stored as <spiffworkflow:properties><spiffworkflow:property name=… value=…/>, so an admin never writes XML.
import { h } from '@bpmn-io/properties-panel/preact';
import {
  CheckboxEntry, SelectEntry, TextFieldEntry,
  isCheckboxEntryEdited, isSelectEntryEdited, isTextFieldEntryEdited
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { is } from 'bpmn-js/lib/util/ModelUtil';

export const ROLES = [
  ['', '(the lane’s, else sales rep)'], ['rep', 'Sales rep'], ['csr', 'Customer service'], ['office', 'Office'],
  ['manager', 'Manager'], ['scheduler', 'Scheduler']
];
export const ACTIONS = [['', 'None'], ['schedule_appointment', 'Book an appointment']];
export const DONE_BY = [['', 'Someone marks it done'], ['assignment', 'The deal gets a sales rep']];
export const OUTCOMES = [['', 'None (not an end of the deal)'], ['won', 'Won'], ['lost', 'Lost']];

function propertyList(bo) {
  const values = (bo.extensionElements && bo.extensionElements.values) || [];
  return values.find((v) => is(v, 'spiffworkflow:Properties'));
}

/** The value of som property `name` on a business object, or '' when unset. */
export function getSomProperty(bo, name) {
  const list = propertyList(bo);
  const found = list && (list.values || []).find((p) => p.name === name);
  return (found && found.value) || '';
}

/** Set (or, with an empty value, remove) som property `name` through the command stack, so undo works. */
export function setSomProperty(element, name, value, { bpmnFactory, commandStack }) {
  const bo = element.businessObject;
  value = (value || '').trim();
  const commands = [];
  let extensions = bo.extensionElements;
  if (!extensions) {
    if (!value) { return; }
    extensions = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    extensions.$parent = bo;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: bo, properties: { extensionElements: extensions } } });
  }
  let list = propertyList(bo);
  if (!list) {
    if (!value) { return; }
    list = bpmnFactory.create('spiffworkflow:Properties', { values: [] });
    list.$parent = extensions;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: extensions, properties: { values: [...(extensions.values || []), list] } } });
  }
  const existing = (list.values || []).find((p) => p.name === name);
  let values;
  if (!value) {
    values = (list.values || []).filter((p) => p !== existing);
  } else if (existing) {
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: existing, properties: { value } } });
  } else {
    const property = bpmnFactory.create('spiffworkflow:Property', { name, value });
    property.$parent = list;
    values = [...(list.values || []), property];
  }
  if (values) {
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: list, properties: { values } } });
  }
  // one undo step for the whole change
  commandStack.execute('properties-panel.multi-command-executor', commands);
}

function useSetter(element, name) {
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  return (value) => setSomProperty(element, name, value, { bpmnFactory, commandStack });
}

function textEntry(name, label, description) {
  return function SomTextEntry({ element, id }) {
    const debounce = useService('debounceInput');
    return h(TextFieldEntry, {
      element, id, label, description, debounce,
      getValue: () => getSomProperty(element.businessObject, name),
      setValue: useSetter(element, name)
    });
  };
}

function selectEntry(name, label, choices, description) {
  return function SomSelectEntry({ element, id }) {
    return h(SelectEntry, {
      element, id, label, description,
      getValue: () => getSomProperty(element.businessObject, name),
      setValue: useSetter(element, name),
      getOptions: () => choices.map(([value, text]) => ({ value, label: text }))
    });
  };
}

function checkboxEntry(name, label, description) {
  return function SomCheckboxEntry({ element, id }) {
    const set = useSetter(element, name);
    return h(CheckboxEntry, {
      element, id, label, description,
      getValue: () => getSomProperty(element.businessObject, name) === 'true',
      setValue: (checked) => set(checked ? 'true' : '')
    });
  };
}

const text = (name, label, description) => ({ name, component: textEntry(name, label, description),
  isEdited: isTextFieldEntryEdited });
const select = (name, label, choices, description) => ({ name,
  component: selectEntry(name, label, choices, description), isEdited: isSelectEntryEdited });
const checkbox = (name, label, description) => ({ name, component: checkboxEntry(name, label, description),
  isEdited: isCheckboxEntryEdited });

const SUBPROCESS = [
  checkbox('som.pipeline', 'This is the sales pipeline (holds the stages)'),
  text('som.stage', 'Stage key', 'A stage of the stage catalog, e.g. lead. Leave empty for a plain subprocess.'),
  text('som.probability', 'Win probability in this stage (%)', 'A whole number from 0 to 100.'),
  text('som.required', 'Fields required to leave the stage', 'Comma-separated, e.g. amount, close_date.'),
  text('som.sla', 'Time allowed in the stage', 'A duration, e.g. P14D for fourteen days.'),
  checkbox('som.allow_back', 'Deals may move back to earlier stages (pipeline only)')
];
const USER_TASK = [
  checkbox('som.gate', 'Stage gate: completing it finishes the stage'),
  select('som.role', 'Done by', ROLES),
  select('som.done_by', 'Done when', DONE_BY),
  text('som.due', 'Due', 'How long after it opens, e.g. P3D for three days or PT4H for four hours.'),
  text('som.form', 'Form fields', 'e.g. qualified:yesno, budget:number, next_step:choice(call|visit)'),
  text('som.instructions', 'Instructions for whoever does it'),
  select('som.action', 'Action', ACTIONS)
];
const END_EVENT = [select('som.outcome', 'Outcome of the deal', OUTCOMES)];

// With the stage catalog (the page passes it as the modeler's `somFlow.stages` option) the stage is chosen by name;
// a key that is not in the catalog stays listed, so opening a drawing never changes it.
function stageSelect(stages) {
  return {
    name: 'som.stage', isEdited: isSelectEntryEdited,
    component: function SomStageEntry({ element, id }) {
      const current = getSomProperty(element.businessObject, 'som.stage');
      const choices = [['', '(not a stage: a plain subprocess)']].concat(stages.map((s) => [s.key, s.name]));
      if (current && !stages.some((s) => s.key === current)) {
        choices.push([current, current + ' (not in the stage catalog)']);
      }
      return h(SelectEntry, {
        element, id, label: 'Stage',
        getValue: () => getSomProperty(element.businessObject, 'som.stage'),
        setValue: useSetter(element, 'som.stage'),
        getOptions: () => choices.map(([value, text]) => ({ value, label: text }))
      });
    }
  };
}

function entriesFor(element, stages) {
  if (is(element, 'bpmn:SubProcess') && stages) {
    return SUBPROCESS.map((entry) => (entry.name === 'som.stage' ? stageSelect(stages) : entry));
  }
  if (is(element, 'bpmn:SubProcess')) { return SUBPROCESS; }
  if (is(element, 'bpmn:UserTask')) { return USER_TASK; }
  if (is(element, 'bpmn:EndEvent')) { return END_EVENT; }
  return [];
}

export default function SomPropertiesProvider(propertiesPanel, options) {
  const stages = (options && options.stages) || null;
  this.getGroups = function (element) {
    return function (groups) {
      const entries = entriesFor(element, stages);
      if (entries.length) {
        groups.splice(Math.min(1, groups.length), 0, {
          id: 'som_flow', label: 'som_flow',
          entries: entries.map((entry) => ({
            id: 'som-' + entry.name.slice(4).replace(/_/g, '-'), element,
            component: entry.component, isEdited: entry.isEdited
          }))
        });
      }
      return groups;
    };
  };
  propertiesPanel.registerProvider(500, this);
}
SomPropertiesProvider.$inject = ['propertiesPanel', 'config.somFlow'];
