// quantity.js: quantities are decimals with at most three fractional digits. On the
// wire they are strings ("2", "0.350", "-1"); inside the till they are integers in
// thousandths ("milli"), so that adding and comparing them never uses floats.

import { QUANTITY_ABS_MAX_MILLI } from './limits.js';

/** Largest absolute quantity the till will send, in milli: the contract's bound
 * (one million units), as possync-core holds it (limits.js). */
export const QTY_ABS_MAX_MILLI = QUANTITY_ABS_MAX_MILLI;

/** Parse a wire or typed quantity ("2", "0.350", "-1", "1,5", 2) into milli.
 * Answers null when malformed, with more than 3 fractional digits, or too large. */
export function parseQty(value) {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    value = String(value);
    if (/e/i.test(value)) return null;
  }
  if (typeof value !== 'string') return null;
  const s = value.trim().replace(',', '.');
  const m = /^(-)?(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m) return null;
  const [, sign, whole, fraction = ''] = m;
  if (whole === '' && fraction === '') return null;
  if (fraction.length > 3) return null;
  const milli = Number(whole || '0') * 1000 + Number(fraction.padEnd(3, '0'));
  if (!Number.isSafeInteger(milli) || milli > QTY_ABS_MAX_MILLI) return null;
  return sign && milli !== 0 ? -milli : milli;
}

/** Milli back to the shortest decimal string: 2000 -> "2", 350 -> "0.35", -1000 -> "-1".
 * This is what the till sends; the server may answer "0.350", which parses the same. */
export function formatQty(milli) {
  const negative = milli < 0;
  const abs = Math.abs(milli);
  const whole = Math.trunc(abs / 1000);
  const fraction = String(abs % 1000).padStart(3, '0').replace(/0+$/, '');
  return (negative ? '-' : '') + whole + (fraction ? '.' + fraction : '');
}

/** Add two wire quantities and answer a wire quantity, or null if either is bad. */
export function addQty(a, b) {
  const x = parseQty(a);
  const y = parseQty(b);
  if (x === null || y === null) return null;
  const sum = x + y;
  if (Math.abs(sum) > QTY_ABS_MAX_MILLI) return null;
  return formatQty(sum);
}
