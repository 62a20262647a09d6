// limits.js: the bounds the server holds every value to (possync-core's limits.rs),
// so the till refuses a value while it is typed, in words, instead of sending it
// and hearing the server refuse it. tests/golden/limits.json holds the same
// numbers and is checked against both this module and the Rust constants.

/** Largest absolute quantity, in thousandths (one million units). */
export const QUANTITY_ABS_MAX_MILLI = 1_000_000_000;
/** Largest absolute unit price, line subtotal, tax or total, in minor units. */
export const LINE_AMOUNT_ABS_MAX_MINOR = 1_000_000_000_000;
/** Largest absolute money amount anywhere (a payment), in minor units. */
export const MONEY_ABS_MAX_MINOR = 1_000_000_000_000_000;
/** Characters in a note (order note, line note, cancel reason). */
export const NOTE_CHARS_MAX = 1_000;
/** Characters in a name (a customer's, a product's...). */
export const NAME_CHARS_MAX = 120;
/** Live lines in one order. */
export const LINES_PER_ORDER_MAX = 500;
/** Payments in one `pay` op. */
export const PAYMENTS_PER_ORDER_MAX = 20;
/** A discount, in basis points (100%). */
export const DISCOUNT_MAX_BP = 10_000;

/** Characters as the server counts them (Unicode scalar values, not UTF-16 units). */
export function charCount(text) {
  let n = 0;
  for (const _ of String(text)) n += 1;
  return n;
}

/** 1234567 -> "1,234,567" (whole numbers, for messages). */
export function groupThousands(whole) {
  const negative = whole < 0;
  const digits = String(Math.abs(Math.trunc(whole)));
  return (negative ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** How a text fits a bound: {count, max, over} (over > 0: that many too many). */
export function textFit(text, max) {
  const count = charCount(text);
  return { count, max, over: Math.max(0, count - max) };
}

/** Control characters a note may not hold (line breaks and tabs it may). */
const NOTE_FORBIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g; // eslint-disable-line no-control-regex

/** A note as the server will take it: forbidden control characters dropped. */
export function cleanNote(text) {
  return String(text).replace(/\r\n?/g, '\n').replace(NOTE_FORBIDDEN, '');
}
