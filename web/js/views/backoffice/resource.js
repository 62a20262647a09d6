// resource.js: the generic back-office section for a catalog or staff collection
// (`GET/POST /<key>`, `PATCH /<key>/<id>`): a filterable list, and a form to create
// or edit one item. A collection is described once (see catalog.js, users.js):
//   {key, title: 'Products', item: 'Product', fields: [{name, label, type, ...}], columns: [field names]}
// Field kinds are in fields.js; `fixedOnEdit` fields are shown read-only on edit,
// `requiredOnCreate` passwords must be given on create; passwords and PINs are
// secrets, sent only when typed (an untouched one stays as it is),
// and a field with `onlyWhen: '<checkbox field>'` means nothing unless that box is
// ticked: its cell is blank and its input disabled (on hand without stock tracking).
// An `editOnly` field is left out of the create form (a new user is always active).

import { h, replace } from '../../dom.js';
import { formatMoney } from '../../money.js';
import { parseQty, formatQty } from '../../quantity.js';
import { toast } from '../ui.js';
import { fieldInput, readField, normalizeForCompare, sameValue } from './fields.js';
import { sectionHead, errorLine, linkRow, listTable, emptyRow } from './layout.js';

const NUMERIC_TYPES = new Set(['money', 'qty']);

/** A back-office section (see shell.js) for the collection `def`. */
export function resourceSection(def) {
  return { key: def.key, title: def.title, mount: (ctx, id) => mountResource(ctx, def, id) };
}

function fieldOf(def, name) {
  return def.fields.find((f) => f.name === name) || null;
}

/** The text of one list cell of `row`. */
function cellText(def, lookups, column, row) {
  const value = row[column];
  if (value === null || value === undefined) return '';
  const f = fieldOf(def, column);
  if (f && f.onlyWhen && !row[f.onlyWhen]) return '';
  switch (f ? f.type : typeof value === 'boolean' ? 'checkbox' : 'text') {
    case 'money': return formatMoney(value);
    case 'qty': return formatQty(parseQty(value) ?? 0);
    case 'percent': return `${value}%`;
    case 'select': return lookups.name(f.options, value);
    case 'multi': return (value || []).map((v) => lookups.name(f.options, v)).join(', ');
    case 'checkbox': return value ? 'yes' : 'no';
    default: return String(value);
  }
}

/** A column's heading: the field's short `column` label, else its form label. */
function columnLabel(def, column) {
  const f = fieldOf(def, column);
  return f ? f.column || f.label : (def.columnLabels && def.columnLabels[column]) || column;
}

function numericClass(def, column) {
  const f = fieldOf(def, column);
  return f && NUMERIC_TYPES.has(f.type) ? 'num' : null;
}

async function mountResource(ctx, def, id) {
  const optionLists = [...new Set(def.fields.filter((f) => f.options).map((f) => f.options))];
  await ctx.lookups.load([def.key, ...optionLists]);
  const rows = ctx.lookups.get(def.key);

  if (id) {
    const existing = id === 'new' ? null : rows.find((r) => String(r.id) === id);
    if (id !== 'new' && !existing) throw new Error(`No ${def.item.toLowerCase()} #${id}`);
    replace(ctx.content, sectionHead(existing ? `${def.item}: ${existing.name || existing.login}` : `New ${def.item.toLowerCase()}`),
      resourceForm(ctx, def, existing));
    return;
  }

  let filter = '';
  const tbody = h('tbody', {});
  const renderRows = () => {
    const f = filter.toLowerCase();
    const shown = rows.filter((r) => !f || def.columns.some((c) => cellText(def, ctx.lookups, c, r).toLowerCase().includes(f)));
    replace(tbody, shown.length
      ? shown.map((r) => linkRow(`#/office/${def.key}/${r.id}`, { 'data-id': r.id },
        def.columns.map((c) => h('td', { class: numericClass(def, c), 'data-col': c }, cellText(def, ctx.lookups, c, r)))))
      : emptyRow(def.columns.length, 'Nothing here yet.'));
  };
  renderRows();
  replace(ctx.content,
    sectionHead(def.title,
      h('input', { type: 'search', placeholder: 'Filter', testid: 'bo-filter', 'aria-label': 'Filter', oninput: (e) => { filter = e.target.value; renderRows(); } }),
      h('a', { class: 'btn btn-primary', href: `#/office/${def.key}/new`, testid: 'bo-new' }, `+ New ${def.item.toLowerCase()}`)),
    listTable(def.columns.map((c) => [columnLabel(def, c), numericClass(def, c)]), tbody));
}

function resourceForm(ctx, def, existing) {
  const inputs = {};
  const error = errorLine();
  const save = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'bo-save' }, existing ? 'Save' : 'Create');

  /** The request body: every field on create, only the changed ones on edit. */
  function body() {
    const out = {};
    for (const f of def.fields) {
      if (existing && f.fixedOnEdit) continue;
      if (!existing && f.editOnly) continue;
      const v = readField(f, inputs[f.name]);
      if (f.type === 'password' || f.type === 'pin') {
        if (v) out[f.name] = v;
        else if (!existing && f.requiredOnCreate) throw new Error(`${f.label} is required`);
        continue;
      }
      if (!existing || !sameValue(v, normalizeForCompare(f, existing[f.name]))) out[f.name] = v;
    }
    return out;
  }

  const form = h('form', {
    class: 'office-form', testid: 'bo-form', 'data-resource': def.key,
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      let changes;
      try {
        changes = body();
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      if (existing && !Object.keys(changes).length) {
        location.hash = `#/office/${def.key}`;
        return;
      }
      save.disabled = true;
      try {
        if (existing) await ctx.api.update(def.key, existing.id, changes);
        else await ctx.api.create(def.key, changes);
        toast(`${def.item} saved`, 'info');
        location.hash = `#/office/${def.key}`;
      } catch (err) {
        if (err.status === 401) {
          ctx.app.account.handleUserError(err);
          return;
        }
        error.textContent = err.message;
        save.disabled = false;
      }
    },
  },
  def.fields.filter((f) => existing || !f.editOnly).map((f) => {
    const input = fieldInput(ctx.lookups, f, existing ? existing[f.name] : f.type === 'choice' ? f.choices[0] : undefined);
    if (existing && f.fixedOnEdit) {
      input.readOnly = true;
      input.title = `${f.label} cannot be changed`;
    }
    inputs[f.name] = input;
    return f.type === 'checkbox'
      ? h('div', { class: 'field field-check' }, input, h('label', { for: `f-${f.name}` }, f.label))
      : h('div', { class: 'field' }, h('label', { for: `f-${f.name}` }, f.label), input);
  }),
  error,
  h('div', { class: 'form-actions' },
    h('a', { class: 'btn', href: `#/office/${def.key}`, testid: 'bo-cancel' }, 'Cancel'),
    save));
  // Wired once every input exists: a field that means nothing unless its box is ticked.
  for (const f of def.fields.filter((field) => field.onlyWhen && inputs[field.onlyWhen])) {
    const box = inputs[f.onlyWhen];
    const follow = () => { inputs[f.name].disabled = !box.checked; };
    box.addEventListener('change', follow);
    follow();
  }
  return form;
}
