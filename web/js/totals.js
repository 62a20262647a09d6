// totals.js: the server's totals rule, reproduced exactly so that the optimistic
// local copy of an order shows the same numbers the server will confirm.
// Everything is integer arithmetic (BigInt where a product may pass 2^53);
// rounding is half away from zero to a whole minor unit.
//
// Per line:
//  1. gross_milli = unit_price * qty_milli
//  2. priced = round(gross_milli * (10000 - discount_bp) / (1000 * 10000))
//  3. with price-included taxes of summed rate R_in:
//       subtotal = round(priced * 10000 / (10000 + R_in)), included = priced - subtotal
//     otherwise subtotal = priced, included = 0
//  4. each price-excluded tax: round(subtotal * rate_bp / 10000)
//     tax = included + sum of those; total = subtotal + tax
// Order totals are the sums of the line subtotal, tax and total.

import { parseQty } from './quantity.js';
import { discountToBp, percentToBp } from './money.js';
import { LINE_AMOUNT_ABS_MAX_MINOR } from './limits.js';

/** A line whose subtotal, tax or total would pass the server's bound (it refuses such a line). */
export class AmountOutOfRange extends RangeError {
  constructor() {
    super(`line amount out of range (at most ${LINE_AMOUNT_ABS_MAX_MINOR} minor units)`);
    this.name = 'AmountOutOfRange';
  }
}

const LINE_AMOUNT_MAX = BigInt(LINE_AMOUNT_ABS_MAX_MINOR);

function bounded(minor) {
  if (minor > LINE_AMOUNT_MAX || -minor > LINE_AMOUNT_MAX) throw new AmountOutOfRange();
  return Number(minor);
}

/** n / d rounded half away from zero; d must be positive. BigInt in and out. */
export function roundDiv(n, d) {
  if (d <= 0n) throw new RangeError('roundDiv needs a positive divisor');
  const q = n / d; // BigInt division truncates toward zero
  const r = n % d; // has the sign of n
  const twice = (r < 0n ? -r : r) * 2n;
  if (twice >= d) return n < 0n ? q - 1n : q + 1n;
  return q;
}

/**
 * Amounts of one line from already parsed numbers.
 * @param {{unit_price:number, qty_milli:number, discount_bp:number,
 *          taxes:{rate_bp:number, price_included:boolean}[]}} input
 * @returns {{subtotal:number, tax:number, total:number}}
 */
export function lineAmounts({ unit_price, qty_milli, discount_bp = 0, taxes = [] }) {
  const gross_milli = BigInt(unit_price) * BigInt(qty_milli);
  const priced = roundDiv(gross_milli * BigInt(10000 - discount_bp), 10_000_000n);
  let included_rate_bp = 0n;
  for (const t of taxes) if (t.price_included) included_rate_bp += BigInt(t.rate_bp);
  let subtotal = priced;
  let included_tax = 0n;
  if (included_rate_bp !== 0n) {
    subtotal = roundDiv(priced * 10000n, 10000n + included_rate_bp);
    included_tax = priced - subtotal;
  }
  let tax = included_tax;
  for (const t of taxes) {
    if (!t.price_included) tax += roundDiv(subtotal * BigInt(t.rate_bp), 10000n);
  }
  return {
    subtotal: bounded(subtotal),
    tax: bounded(tax),
    total: bounded(subtotal + tax),
  };
}

/** Parse a line's tax snapshot (`taxes: [{tax_id, rate:"21", price_included}]`). */
export function parseLineTaxes(taxes) {
  return (taxes || []).map((t) => {
    const rate_bp = percentToBp(t.rate);
    if (rate_bp === null) throw new RangeError(`bad tax rate ${JSON.stringify(t.rate)}`);
    return { rate_bp, price_included: !!t.price_included };
  });
}

/** Amounts of a wire line object (qty string, discount string, taxes snapshot). */
export function wireLineAmounts(line) {
  const qty_milli = parseQty(line.qty);
  const discount_bp = discountToBp(line.discount);
  if (qty_milli === null) throw new RangeError(`bad quantity ${JSON.stringify(line.qty)}`);
  if (discount_bp === null) throw new RangeError(`bad discount ${JSON.stringify(line.discount)}`);
  return lineAmounts({
    unit_price: line.unit_price,
    qty_milli,
    discount_bp,
    taxes: parseLineTaxes(line.taxes),
  });
}

/** Sums of the lines' subtotal, tax and total. */
export function orderTotals(lines) {
  let subtotal = 0;
  let tax = 0;
  let total = 0;
  for (const l of lines) {
    subtotal += l.subtotal;
    tax += l.tax;
    total += l.total;
  }
  return { subtotal, tax, total };
}
