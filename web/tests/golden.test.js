// golden.test.js: the till's own copy of the order rules (totals.js, apply.js,
// limits.js) against the golden cases in golden/ at the repository root, which
// possync-core's tests/golden_shared.rs checks the server's rules against too. A
// difference here means the till would show one number and the server charge
// another: fix the till (the core is the authority; see golden/README.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wireLineAmounts, AmountOutOfRange } from '../js/totals.js';
import { applyOp } from '../js/apply.js';
import * as limits from '../js/limits.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'golden');
const read = (file) => JSON.parse(readFileSync(join(goldenDir, file), 'utf8'));

test('line amounts agree with the core on every golden case', () => {
  const { cases } = read('totals.json');
  assert.ok(cases.length >= 20);
  const differ = [];
  for (const c of cases) {
    let got;
    try {
      got = wireLineAmounts({ unit_price: c.unit_price, qty: c.qty, discount: c.discount, taxes: c.taxes });
    } catch (err) {
      if (!(err instanceof AmountOutOfRange)) throw err;
      got = 'out_of_range';
    }
    if (JSON.stringify(got) !== JSON.stringify(c.expect)) differ.push(`${c.name}: expected ${JSON.stringify(c.expect)}, got ${JSON.stringify(got)}`);
  }
  assert.deepEqual(differ, []);
});

/** What both implementations must agree on about an order after a step (as in golden_shared.rs). */
function projection(order) {
  const pick = (o, keys) => Object.fromEntries(keys.map((k) => [k, o[k]]));
  return {
    state: order.state,
    shared: order.shared,
    customer_id: order.customer_id,
    note: order.note,
    lines: order.lines.map((l) => pick(l, ['id', 'product_id', 'name', 'qty', 'unit_price', 'discount', 'note', 'taxes', 'subtotal', 'tax', 'total'])),
    totals: order.totals,
    lock: order.lock ? { terminal: order.lock.terminal, config_name: order.lock.config_name, until_ms: Date.parse(order.lock.until) } : null,
    payments: order.payments,
    change: order.change,
    invoice: order.invoice,
  };
}

/** Objects compared with their keys in any order. */
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k])]));
  return value;
}

test('op sequences agree with the core on every golden case', () => {
  const doc = read('apply.json');
  const products = new Map(doc.catalog.products.map((p) => [p.id, p]));
  const taxes = new Map(doc.catalog.taxes.map((t) => [t.id, t]));
  const payment_methods = new Map(doc.catalog.payment_methods.map((m) => [m.id, m]));
  const start = Date.parse(doc.start);
  const differ = [];
  let steps = 0;
  let skipped = 0;
  for (const c of doc.cases) {
    if (c.core_only) {
      skipped += 1;
      continue;
    }
    let order = null;
    let now = start;
    c.steps.forEach((step, i) => {
      now += step.after_ms ?? 1000;
      const by = doc.actors[step.by];
      const op = { ...step.op };
      if (op.expected_total === 'current') op.expected_total = order ? order.totals.total : 0;
      const ctx = { now, by, config: { id: by.config_id, auto_share: false }, products, taxes, payment_methods, lease_ms: doc.lease_ms };
      const r = applyOp(order, c.order_id, op, ctx);
      let got;
      if (r.ok) {
        order = r.order;
        got = projection(order);
      } else {
        got = { reject: r.code };
      }
      steps += 1;
      if (JSON.stringify(canonical(got)) !== JSON.stringify(canonical(step.expect))) {
        differ.push(`${c.name}, step ${i + 1} (${op.kind}):\n  expected ${JSON.stringify(canonical(step.expect))}\n  got      ${JSON.stringify(canonical(got))}`);
      }
    });
  }
  assert.ok(steps >= 60, `${steps} steps checked`);
  assert.ok(skipped <= 2, `${skipped} core-only cases skipped`);
  assert.deepEqual(differ, []);
});

test('the till holds the same limits as the core', () => {
  const golden = read('limits.json');
  for (const name of ['QUANTITY_ABS_MAX_MILLI', 'LINE_AMOUNT_ABS_MAX_MINOR', 'MONEY_ABS_MAX_MINOR', 'NOTE_CHARS_MAX', 'NAME_CHARS_MAX', 'LINES_PER_ORDER_MAX', 'PAYMENTS_PER_ORDER_MAX']) {
    assert.equal(limits[name], golden[name], name);
  }
});
