// fields.js: form fields of the generic resource forms, by kind (text, money, qty,
// percent, select, multi, checkbox, password, pin, choice): the input for a value, and
// the value read back in the API's shape, with a message when it is not valid.

import { h } from '../../dom.js';
import { formatMoney, parseMoney, percentToBp, bpToPercent } from '../../money.js';
import { parseQty, formatQty } from '../../quantity.js';

/** The input of field `f` showing `value`; option lists come from `lookups`. */
export function fieldInput(lookups, f, value) {
  const testid = `bo-field-${f.name}`;
  const idAttr = `f-${f.name}`;
  switch (f.type) {
    case 'checkbox':
      return h('input', { type: 'checkbox', id: idAttr, testid, checked: !!value });
    case 'money':
      return h('input', { type: 'text', inputmode: 'decimal', id: idAttr, testid, value: value == null ? '' : formatMoney(value) });
    case 'qty':
      return h('input', { type: 'text', inputmode: 'decimal', id: idAttr, testid, value: value == null ? (f.nullable ? '' : '0') : formatQty(parseQty(value) ?? 0) });
    case 'percent':
      return h('input', { type: 'text', inputmode: 'decimal', id: idAttr, testid, value: value == null ? '' : String(value) });
    case 'password':
      return h('input', { type: 'password', id: idAttr, testid, autocomplete: 'new-password', placeholder: value === undefined ? '' : 'unchanged' });
    case 'pin':
      // Write-only like a password: the server answers only whether there is one.
      return h('input', { type: 'password', id: idAttr, testid, inputmode: 'numeric', autocomplete: 'new-password', maxlength: '8', placeholder: value === undefined ? '4 to 8 digits' : 'unchanged' });
    case 'select': {
      const opts = lookups.get(f.options);
      return h('select', { id: idAttr, testid },
        f.nullable ? h('option', { value: '' }, '—') : null,
        opts.map((o) => h('option', { value: String(o.id), selected: o.id === value }, o.name)));
    }
    case 'choice':
      return h('select', { id: idAttr, testid }, f.choices.map((c) => h('option', { value: c, selected: c === value }, c)));
    case 'multi': {
      const opts = lookups.get(f.options);
      const set = new Set(value || []);
      return h('fieldset', { class: 'checks', id: idAttr, testid },
        h('legend', { class: 'sr-only' }, f.label),
        opts.length ? opts.map((o) => h('label', { class: 'check' },
          h('input', { type: 'checkbox', value: String(o.id), 'data-value': o.id, checked: set.has(o.id) }), ` ${o.name}`)) : h('span', { class: 'muted' }, 'none defined'));
    }
    default:
      return h('input', { type: f.input || 'text', id: idAttr, testid, value: value == null ? '' : String(value), required: !!f.required });
  }
}

/** Read a field back into the API's shape; throws Error with a message for the user. */
export function readField(f, input) {
  switch (f.type) {
    case 'checkbox': return input.checked;
    case 'money': {
      const v = parseMoney(input.value);
      if (v === null) throw new Error(`${f.label}: not a valid amount`);
      return v;
    }
    case 'qty': {
      if (f.nullable && input.value.trim() === '') return null;
      const v = parseQty(input.value || '0');
      if (v === null) throw new Error(`${f.label}: not a valid quantity`);
      return formatQty(v);
    }
    case 'percent': {
      const bp = percentToBp(input.value);
      if (bp === null || bp < 0 || bp > 10000) throw new Error(`${f.label}: a percentage from 0 to 100, two decimals at most`);
      return bpToPercent(bp);
    }
    case 'select': return input.value === '' ? null : Number(input.value);
    case 'choice': return input.value;
    case 'multi': return [...input.querySelectorAll('input:checked')].map((c) => Number(c.value));
    case 'password': return input.value;
    case 'pin': {
      const v = input.value.trim();
      if (v && !/^[0-9]{4,8}$/.test(v)) throw new Error(`${f.label}: 4 to 8 digits`);
      return v;
    }
    default: {
      const v = input.value.trim();
      if (f.required && !v) throw new Error(`${f.label} is required`);
      return f.nullable && v === '' ? null : v;
    }
  }
}

/** A stored value in the shape `readField` answers, to send only what changed. */
export function normalizeForCompare(f, value) {
  if (f.type === 'qty') return f.nullable && value == null ? null : formatQty(parseQty(value ?? '0') ?? 0);
  if (f.type === 'percent') return value == null ? value : bpToPercent(percentToBp(value));
  if (f.type === 'multi') return value || [];
  if (f.type === 'checkbox') return !!value;
  return value ?? (f.nullable ? null : value);
}

export function sameValue(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}
