// numpad.js: what the till's numpad (and the keyboard standing in for it) does to
// the value being typed. The first key after choosing a line or a mode replaces the
// value, later keys append, as on every till. The result is parsed for the mode:
// quantity (thousandths), price or amount (minor units), discount (basis points).
// Pure: the view keeps the state and turns the value into an op.

import { parseQty } from './quantity.js';
import { parseMoney, discountToBp } from './money.js';

export const NUMPAD_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '.', 'backspace', '+/-', 'clear'];
export const MODES = ['qty', 'price', 'discount', 'amount'];
const BUFFER_CHARS_MAX = 12;
const FRACTION_DIGITS_MAX = { qty: 3, price: 2, discount: 2, amount: 2 };

/** A fresh numpad: the next key replaces the value. */
export function numpadStart(mode = 'qty') {
  return { mode, buffer: '', fresh: true };
}

/** Parse `text` for `mode`; undefined when it is not a value of that mode. */
export function parseForMode(mode, text) {
  const t = text === '' || text === '-' ? '0' : text;
  let v = null;
  if (mode === 'qty') v = parseQty(t);
  else if (mode === 'price' || mode === 'amount') v = parseMoney(t);
  else if (mode === 'discount') v = discountToBp(t);
  return v === null ? undefined : v;
}

/**
 * Press `key` with `current` (the text of the value shown now, e.g. "2" or "12.50").
 * @returns {{state:object, value:number|undefined}} value is the parsed new value,
 *   undefined when the key changes nothing or would make an invalid value.
 */
export function numpadPress(state, key, current = '') {
  let buffer = state.buffer;
  if (/^[0-9]$/.test(key)) {
    buffer = state.fresh ? key : buffer === '0' ? key : buffer === '-0' ? '-' + key : buffer + key;
  } else if (key === '.' || key === ',') {
    if (state.fresh) buffer = '0.';
    else if (buffer.includes('.')) return { state, value: undefined };
    else buffer = (buffer === '' || buffer === '-' ? buffer + '0' : buffer) + '.';
  } else if (key === 'backspace') {
    buffer = state.fresh ? '' : buffer.slice(0, -1);
  } else if (key === 'clear') {
    buffer = '';
  } else if (key === '+/-') {
    const base = state.fresh ? current : buffer;
    buffer = base.startsWith('-') ? base.slice(1) : '-' + (base || '0');
    if (state.mode === 'discount') return { state, value: undefined };
  } else {
    return { state, value: undefined };
  }

  const fraction = buffer.includes('.') ? buffer.split('.')[1].length : 0;
  if (buffer.replace('-', '').length > BUFFER_CHARS_MAX || fraction > FRACTION_DIGITS_MAX[state.mode]) {
    return { state, value: undefined };
  }
  const value = parseForMode(state.mode, buffer);
  if (value === undefined) return { state, value: undefined };
  return { state: { ...state, buffer, fresh: false }, value };
}

/** Map a keyboard event key to a numpad key, or null. */
export function numpadKeyFor(eventKey) {
  if (/^[0-9]$/.test(eventKey)) return eventKey;
  if (eventKey === '.' || eventKey === ',') return '.';
  if (eventKey === 'Backspace') return 'backspace';
  if (eventKey === '-' || eventKey === '+' || eventKey === '_') return '+/-';
  if (eventKey === 'Escape') return null;
  return null;
}
