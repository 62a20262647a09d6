// totals.test.js: the server's totals rule against hand-computed cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roundDiv, lineAmounts, wireLineAmounts, orderTotals, AmountOutOfRange } from '../js/totals.js';

const EX21 = { rate_bp: 2100, price_included: false };

function check(input, expected) {
  assert.deepEqual(lineAmounts(input), expected, JSON.stringify(input));
}

test('roundDiv rounds half away from zero', () => {
  assert.equal(roundDiv(5n, 2n), 3n);
  assert.equal(roundDiv(-5n, 2n), -3n);
  assert.equal(roundDiv(7n, 3n), 2n);
  assert.equal(roundDiv(-7n, 3n), -2n);
  assert.equal(roundDiv(8n, 3n), 3n);
  assert.equal(roundDiv(-8n, 3n), -3n);
  assert.equal(roundDiv(0n, 3n), 0n);
  assert.throws(() => roundDiv(1n, 0n));
});

test('plain line with an excluded tax', () => {
  // 2 x 10.00 at 21%: 20.00 + 4.20
  check({ unit_price: 1000, qty_milli: 2000, discount_bp: 0, taxes: [EX21] }, { subtotal: 2000, tax: 420, total: 2420 });
});

test('line without taxes and fractional quantity', () => {
  // 0.350 kg at 12.99: 4.5465 -> 4.55
  check({ unit_price: 1299, qty_milli: 350, taxes: [] }, { subtotal: 455, tax: 0, total: 455 });
});

test('price-included tax is taken out of the price', () => {
  // 12.10 incl. 21%: 10.00 + 2.10
  check({ unit_price: 1210, qty_milli: 1000, taxes: [{ rate_bp: 2100, price_included: true }] }, { subtotal: 1000, tax: 210, total: 1210 });
});

test('priced amount rounds halves away from zero, both signs', () => {
  // 0.005 x 0.5 = 0.0025 minor... : 5 * 500 milli = 2500 / 1000 = 2.5 -> 3
  check({ unit_price: 5, qty_milli: 500, taxes: [] }, { subtotal: 3, tax: 0, total: 3 });
  check({ unit_price: 5, qty_milli: -500, taxes: [] }, { subtotal: -3, tax: 0, total: -3 });
  // 2.4 stays 2 and -2.4 stays -2
  check({ unit_price: 4, qty_milli: 600, taxes: [] }, { subtotal: 2, tax: 0, total: 2 });
  check({ unit_price: 4, qty_milli: -600, taxes: [] }, { subtotal: -2, tax: 0, total: -2 });
});

test('discount in basis points', () => {
  // 9.99 less 12.5% = 8.74125 -> 8.74, then 21% of 874 = 183.54 -> 184
  check({ unit_price: 999, qty_milli: 1000, discount_bp: 1250, taxes: [EX21] }, { subtotal: 874, tax: 184, total: 1058 });
  // 100% discount is free
  check({ unit_price: 999, qty_milli: 3000, discount_bp: 10000, taxes: [EX21] }, { subtotal: 0, tax: 0, total: 0 });
});

test('included-tax split rounds halves away from zero', () => {
  // priced 4 with 60% included: 4 / 1.6 = 2.5 -> 3, included tax 1
  const incl60 = [{ rate_bp: 6000, price_included: true }];
  check({ unit_price: 4, qty_milli: 1000, taxes: incl60 }, { subtotal: 3, tax: 1, total: 4 });
  check({ unit_price: 4, qty_milli: -1000, taxes: incl60 }, { subtotal: -3, tax: -1, total: -4 });
});

test('excluded tax rounds halves away from zero', () => {
  // 1% of 0.50 = 0.005 -> 0.01; of -0.50 -> -0.01
  const ex1 = [{ rate_bp: 100, price_included: false }];
  check({ unit_price: 50, qty_milli: 1000, taxes: ex1 }, { subtotal: 50, tax: 1, total: 51 });
  check({ unit_price: 50, qty_milli: -1000, taxes: ex1 }, { subtotal: -50, tax: -1, total: -51 });
});

test('included and excluded taxes together; each excluded tax rounds alone', () => {
  // 11.00 incl. 10% -> 10.00 + 1.00; excl. 5% of 10.00 = 0.50
  check(
    { unit_price: 1100, qty_milli: 1000, taxes: [{ rate_bp: 1000, price_included: true }, { rate_bp: 500, price_included: false }] },
    { subtotal: 1000, tax: 150, total: 1150 },
  );
  // two excluded taxes of 0.5 each on 0.50 (1% each): each rounds to 1, not 0.5+0.5
  check(
    { unit_price: 50, qty_milli: 1000, taxes: [{ rate_bp: 100, price_included: false }, { rate_bp: 100, price_included: false }] },
    { subtotal: 50, tax: 2, total: 52 },
  );
});

test('negative quantity (a return) mirrors the sale', () => {
  check({ unit_price: 1000, qty_milli: -2000, taxes: [EX21] }, { subtotal: -2000, tax: -420, total: -2420 });
});

test('large amounts stay exact beyond 2^53 intermediate products', () => {
  // computed with exact rational arithmetic: 9999999.99 x 999.999 less 15%, incl. 21%
  // (the intermediate product passes 2^53; the amounts stay inside the line bound)
  check(
    { unit_price: 999999999, qty_milli: 999999, discount_bp: 1500, taxes: [{ rate_bp: 2100, price_included: true }] },
    { subtotal: 702478635661, tax: 147520513489, total: 849999149150 },
  );
});

test('a line past the server bound (10^12 minor units) is refused, as the server refuses it', () => {
  assert.throws(() => lineAmounts({ unit_price: 123456789012, qty_milli: 1234567, discount_bp: 0, taxes: [] }), AmountOutOfRange);
  assert.deepEqual(lineAmounts({ unit_price: 1_000_000_000_000, qty_milli: 1000, discount_bp: 0, taxes: [] }).total, 1_000_000_000_000);
  assert.throws(() => lineAmounts({ unit_price: 1_000_000_000_000, qty_milli: 1000, discount_bp: 0, taxes: [{ rate_bp: 100, price_included: false }] }), AmountOutOfRange);
});

test('wire line amounts parse qty, discount and the tax snapshot', () => {
  const line = { qty: '0.350', unit_price: 1299, discount: '10', taxes: [{ tax_id: 1, rate: '21', price_included: false }] };
  // 454.65 less 10% = 409.185 -> 409 ; 21% = 85.89 -> 86
  assert.deepEqual(wireLineAmounts(line), { subtotal: 409, tax: 86, total: 495 });
  assert.throws(() => wireLineAmounts({ ...line, qty: 'x' }));
});

test('order totals are sums of the lines', () => {
  assert.deepEqual(
    orderTotals([{ subtotal: 100, tax: 21, total: 121 }, { subtotal: -50, tax: -1, total: -51 }]),
    { subtotal: 50, tax: 20, total: 70 },
  );
  assert.deepEqual(orderTotals([]), { subtotal: 0, tax: 0, total: 0 });
});
