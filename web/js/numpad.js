// numpad.js: what the till's numpad (and the keyboard standing in for it) does to
// the value being typed. The first key after choosing a line or a mode replaces the
// value, later keys append, as on every till. The result is parsed for the mode:
// quantity (thousandths), price or amount (minor units), discount (basis points).
// A key that would make a value the server refuses (a quantity over a million, a
// discount over 100%) changes nothing and says why, in words (`refused`).
// Pure: the view keeps the state and turns the value into an op.

import { parseMoney, formatMoney, percentToBp } from './money.js';
import { QUANTITY_ABS_MAX_MILLI, LINE_AMOUNT_ABS_MAX_MINOR, MONEY_ABS_MAX_MINOR, DISCOUNT_MAX_BP, groupThousands } from './limits.js';

export const NUMPAD_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '.', 'backspace', '+/-', 'clear'];
export const MODES = ['qty', 'price', 'discount', 'amount'];
const BUFFER_CHARS_MAX = 12;
const FRACTION_DIGITS_MAX = { qty: 3, price: 2, discount: 2, amount: 2 };

/** A fresh numpad: the next key replaces the value. */
export function numpadStart(mode = 'qty') {
  return { mode, buffer: '', fresh: true };
}

/** Parse `text` for `mode`, bounds aside; undefined when it is not a value of that
 * mode (too many decimals, malformed). */
export function parseForMode(mode, text) {
  const t = text === '' || text === '-' ? '0' : text;
  let v = null;
  if (mode === 'qty') v = parseMoney(t, 3); // thousandths, unbounded: numpadBound says why
  else if (mode === 'price' || mode === 'amount') v = parseMoney(t);
  else if (mode === 'discount') v = percentToBp(t);
  return v === null ? undefined : v;
}

/** Money with thousands grouped, for messages: 1000000000000 -> "10,000,000,000.00". */
function groupedMoney(minor) {
  const text = formatMoney(minor);
  const [whole, fraction] = text.split('.');
  return `${groupThousands(Number(whole))}${fraction ? `.${fraction}` : ''}`;
}

/** Why the server would refuse `value` for `mode`, in the cashier's words, or null. */
export function numpadBound(mode, value) {
  switch (mode) {
    case 'qty':
      return Math.abs(value) > QUANTITY_ABS_MAX_MILLI ? `A quantity is at most ${groupThousands(QUANTITY_ABS_MAX_MILLI / 1000)}` : null;
    case 'price':
      return Math.abs(value) > LINE_AMOUNT_ABS_MAX_MINOR ? `A price is at most ${groupedMoney(LINE_AMOUNT_ABS_MAX_MINOR)}` : null;
    case 'discount':
      if (value > DISCOUNT_MAX_BP) return 'A discount is at most 100%';
      return value < 0 ? 'A discount cannot be negative' : null;
    case 'amount':
      return Math.abs(value) > MONEY_ABS_MAX_MINOR ? `An amount is at most ${groupedMoney(MONEY_ABS_MAX_MINOR)}` : null;
    default:
      return null;
  }
}

/**
 * Press `key` with `current` (the text of the value shown now, e.g. "2" or "12.50").
 * @returns {{state:object, value:number|undefined, refused?:string}} value is the
 *   parsed new value, undefined when the key changes nothing or would make an invalid
 *   value; `refused` says why when the value is out of the server's bounds.
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
    if (state.mode === 'discount') return { state, value: undefined, refused: 'A discount cannot be negative' };
  } else {
    return { state, value: undefined };
  }

  const fraction = buffer.includes('.') ? buffer.split('.')[1].length : 0;
  if (fraction > FRACTION_DIGITS_MAX[state.mode]) {
    const digits = FRACTION_DIGITS_MAX[state.mode];
    return { state, value: undefined, refused: `At most ${digits} decimal${digits === 1 ? '' : 's'}` };
  }
  if (buffer.replace('-', '').length > BUFFER_CHARS_MAX) {
    return { state, value: undefined, refused: 'That is too many digits' };
  }
  const value = parseForMode(state.mode, buffer);
  if (value === undefined) return { state, value: undefined };
  const refused = numpadBound(state.mode, value);
  if (refused) return { state, value: undefined, refused };
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
