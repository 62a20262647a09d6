// money.js: money is an integer count of the currency's minor unit (1250 = 12.50).
// This module formats minor units for people and parses what they type back into
// minor units, without ever going through floating point. It also converts the
// contract's percent strings ("12.5") to and from basis points (1250).

/** Number of fractional digits of the minor unit. The contract fixes no currency,
 * so the till assumes cents; every function takes `decimals` to allow others. */
export const DEFAULT_DECIMALS = 2;

/** Format minor units as a plain decimal: 1250 -> "12.50", -5 -> "-0.05". */
export function formatMoney(minor, decimals = DEFAULT_DECIMALS) {
  if (typeof minor !== 'number' || !Number.isInteger(minor)) {
    if (typeof minor === 'bigint') minor = Number(minor);
    else return '';
  }
  const negative = minor < 0;
  const digits = String(Math.abs(minor)).padStart(decimals + 1, '0');
  const whole = decimals > 0 ? digits.slice(0, digits.length - decimals) : digits;
  const fraction = decimals > 0 ? '.' + digits.slice(digits.length - decimals) : '';
  return (negative ? '-' : '') + whole + fraction;
}

/** Parse a typed amount ("12", "12.5", "12,50", "-3") into minor units.
 * Answers null for anything that is not a plain decimal with at most
 * `decimals` fractional digits, or that is too large to hold exactly. */
export function parseMoney(text, decimals = DEFAULT_DECIMALS) {
  if (typeof text === 'number') text = String(text);
  if (typeof text !== 'string') return null;
  const s = text.trim().replace(',', '.');
  const m = /^(-)?(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m) return null;
  const [, sign, whole, fraction = ''] = m;
  if (whole === '' && fraction === '') return null;
  if (fraction.length > decimals) return null;
  const digits = (whole || '0') + fraction.padEnd(decimals, '0');
  const value = Number(digits);
  if (!Number.isSafeInteger(value)) return null;
  return sign && value !== 0 ? -value : value;
}

/** Parse a percent decimal string ("21", "12.5", "0.01") into basis points.
 * At most two fractional digits; answers null otherwise. Range is the caller's. */
export function percentToBp(text) {
  if (typeof text === 'number') text = String(text);
  if (typeof text !== 'string') return null;
  const m = /^(-)?(\d+)(?:\.(\d{0,2}))?$/.exec(text.trim());
  if (!m) return null;
  const [, sign, whole, fraction = ''] = m;
  const value = Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
  if (!Number.isSafeInteger(value)) return null;
  return sign && value !== 0 ? -value : value;
}

/** Basis points back to the shortest percent string: 1250 -> "12.5", 2100 -> "21". */
export function bpToPercent(bp) {
  const negative = bp < 0;
  const abs = Math.abs(bp);
  const whole = Math.trunc(abs / 100);
  const fraction = String(abs % 100).padStart(2, '0').replace(/0+$/, '');
  return (negative ? '-' : '') + whole + (fraction ? '.' + fraction : '');
}

/** Parse a discount as the contract sends it (percent 0..100, two decimals) into
 * basis points 0..10000, or null when it is out of range or malformed. */
export function discountToBp(text) {
  if (text === undefined || text === null || text === '') return 0;
  const bp = percentToBp(text);
  if (bp === null || bp < 0 || bp > 10000) return null;
  return bp;
}
