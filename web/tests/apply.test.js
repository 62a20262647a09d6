// apply.test.js: the optimistic local apply of every op kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyOp, lockedByOther, OP_KINDS } from '../js/apply.js';
import { ctxFor, serverDraft, coffeeLine, BY_1, BY_2, NOW } from './fixtures.js';

const ID = '00000000-0000-7000-8000-000000000001';

function ok(order, op, ctx = ctxFor()) {
  const r = applyOp(order, ID, op, ctx);
  assert.equal(r.ok, true, `${op.kind} should apply: ${r.code} ${r.message}`);
  return r.order;
}

function refused(order, op, code, ctx = ctxFor()) {
  const r = applyOp(order, ID, op, ctx);
  assert.equal(r.ok, false, `${op.kind} should be refused`);
  assert.equal(r.code, code);
  return r;
}

function withCoffee(qty = '1') {
  return serverDraft(ID, { lines: [coffeeLine('L1', qty)] });
}

test('create makes an empty draft owned by the caller', () => {
  const o = ok(null, { kind: 'create', note: 'table 4', customer_id: 7 });
  assert.equal(o.id, ID);
  assert.equal(o.state, 'draft');
  assert.equal(o.version, 0);
  assert.deepEqual(o.origin, { config_id: 1, session_id: 1 });
  assert.equal(o.shared, false);
  assert.equal(o.note, 'table 4');
  assert.equal(o.customer_id, 7);
  assert.deepEqual(o.totals, { subtotal: 0, tax: 0, total: 0 });
  assert.equal(o.updated_at, new Date(NOW).toISOString());
});

test('create shares at once with share:true or the config auto_share', () => {
  assert.equal(ok(null, { kind: 'create', share: true }).shared, true);
  const ctx = ctxFor(BY_1, { config: { id: 1, auto_share: true } });
  assert.equal(ok(null, { kind: 'create' }, ctx).shared, true);
});

test('create of an existing order changes nothing', () => {
  const o = withCoffee();
  assert.equal(ok(o, { kind: 'create' }), o);
});

test('every other op needs the order', () => {
  for (const kind of OP_KINDS.filter((k) => k !== 'create')) {
    refused(null, { kind, line_id: 'L1' }, 'not_found');
  }
});

test('share and unshare; only the origin unshares', () => {
  const o = ok(serverDraft(ID), { kind: 'share' });
  assert.equal(o.shared, true);
  assert.equal(ok(o, { kind: 'unshare' }).shared, false);
  refused(o, { kind: 'unshare' }, 'forbidden', ctxFor(BY_2));
});

test('add_line snapshots name, catalog price and taxes, and computes amounts', () => {
  const o = ok(serverDraft(ID), { kind: 'add_line', line_id: 'L9', product_id: 11, qty: '2' });
  assert.equal(o.lines.length, 1);
  const l = o.lines[0];
  assert.equal(l.name, 'Croissant');
  assert.equal(l.unit_price, 1100);
  assert.equal(l.qty, '2');
  assert.deepEqual(l.taxes, [
    { tax_id: 2, rate: '10', price_included: true },
    { tax_id: 3, rate: '5', price_included: false },
  ]);
  // 22.00 incl. 10% -> 20.00 + 2.00; excl. 5% of 20.00 = 1.00
  assert.deepEqual([l.subtotal, l.tax, l.total], [2000, 300, 2300]);
  assert.deepEqual(o.totals, { subtotal: 2000, tax: 300, total: 2300 });
  assert.deepEqual(o.updated_by, BY_1);
});

test('add_line with price and discount, appended after existing lines', () => {
  const o = ok(withCoffee(), { kind: 'add_line', line_id: 'L2', product_id: 12, qty: '-1', unit_price: 90, discount: '50' });
  assert.deepEqual(o.lines.map((l) => l.id), ['L1', 'L2']);
  assert.deepEqual([o.lines[1].subtotal, o.lines[1].total], [-45, -45]);
  assert.equal(o.totals.total, 303 - 45);
});

test('add_line refuses unknown products, bad quantities and removed line ids (invalid, as the core)', () => {
  refused(serverDraft(ID), { kind: 'add_line', line_id: 'X', product_id: 999, qty: '1' }, 'invalid');
  refused(serverDraft(ID), { kind: 'add_line', line_id: 'X', product_id: 10 }, 'invalid');
  refused(serverDraft(ID), { kind: 'add_line', line_id: 'X', product_id: 10, qty: '1.0001' }, 'invalid');
  refused(serverDraft(ID), { kind: 'add_line', line_id: 'X', product_id: 10, qty: '1', discount: '101' }, 'invalid');
  const o = { ...serverDraft(ID), removed_line_ids: ['X'] };
  refused(o, { kind: 'add_line', line_id: 'X', product_id: 10, qty: '1' }, 'invalid');
});

test('add_line of a line already there is a no-op (resent op seen in a newer copy)', () => {
  const o = withCoffee();
  assert.equal(ok(o, { kind: 'add_line', line_id: 'L1', product_id: 10, qty: '1' }).lines.length, 1);
});

test('add_qty adds, including negative and fractional deltas', () => {
  let o = ok(withCoffee('1'), { kind: 'add_qty', line_id: 'L1', delta: '2' });
  assert.equal(o.lines[0].qty, '3');
  assert.deepEqual(o.totals, { subtotal: 750, tax: 158, total: 908 });
  o = ok(o, { kind: 'add_qty', line_id: 'L1', delta: '-3.5' });
  assert.equal(o.lines[0].qty, '-0.5');
  refused(o, { kind: 'add_qty', line_id: 'L1', delta: 'many' }, 'invalid');
});

test('line ops tell a removed line from an unknown one', () => {
  const o = ok(withCoffee(), { kind: 'remove_line', line_id: 'L1' });
  for (const op of [
    { kind: 'add_qty', line_id: 'L1', delta: '1' },
    { kind: 'set_qty', line_id: 'L1', qty: '1' },
    { kind: 'set_price', line_id: 'L1', unit_price: 1 },
    { kind: 'set_discount', line_id: 'L1', discount: '1' },
    { kind: 'set_line_note', line_id: 'L1', note: 'x' },
    { kind: 'remove_line', line_id: 'L1' },
  ]) {
    refused(o, op, 'line_removed');
    refused(o, { ...op, line_id: 'nope' }, 'unknown_line');
  }
});

test('set_qty replaces; qty 0 keeps the line', () => {
  const o = ok(withCoffee('5'), { kind: 'set_qty', line_id: 'L1', qty: '0' });
  assert.equal(o.lines.length, 1);
  assert.equal(o.lines[0].qty, '0');
  assert.deepEqual(o.totals, { subtotal: 0, tax: 0, total: 0 });
});

test('set_price, set_discount and set_line_note', () => {
  let o = ok(withCoffee('2'), { kind: 'set_price', line_id: 'L1', unit_price: 300 });
  assert.deepEqual([o.lines[0].subtotal, o.lines[0].tax], [600, 126]);
  o = ok(o, { kind: 'set_discount', line_id: 'L1', discount: '12.5' });
  assert.equal(o.lines[0].discount, '12.5');
  assert.equal(o.lines[0].subtotal, 525);
  refused(o, { kind: 'set_discount', line_id: 'L1', discount: '150' }, 'invalid');
  refused(o, { kind: 'set_price', line_id: 'L1', unit_price: 1.5 }, 'invalid');
  o = ok(o, { kind: 'set_line_note', line_id: 'L1', note: 'no sugar' });
  assert.equal(o.lines[0].note, 'no sugar');
});

test('remove_line drops the line and remembers its id', () => {
  const o = ok(withCoffee(), { kind: 'remove_line', line_id: 'L1' });
  assert.deepEqual(o.lines, []);
  assert.deepEqual(o.removed_line_ids, ['L1']);
  assert.deepEqual(o.totals, { subtotal: 0, tax: 0, total: 0 });
});

test('set_customer and set_note', () => {
  let o = ok(withCoffee(), { kind: 'set_customer', customer_id: 3 });
  assert.equal(o.customer_id, 3);
  o = ok(o, { kind: 'set_customer', customer_id: null });
  assert.equal(o.customer_id, null);
  o = ok(o, { kind: 'set_note', note: 'pick up 5pm' });
  assert.equal(o.note, 'pick up 5pm');
});

test('begin_payment locks for the lease; others are refused; cancel_payment releases', () => {
  const o = ok(withCoffee(), { kind: 'begin_payment' });
  assert.equal(o.lock.terminal, 't-1');
  assert.equal(o.lock.config_name, 'Counter 1');
  assert.equal(o.lock.until, new Date(NOW + 60_000).toISOString());
  const other = ctxFor(BY_2);
  assert.equal(lockedByOther(o, other), true);
  const r = refused(o, { kind: 'add_qty', line_id: 'L1', delta: '1' }, 'locked', other);
  assert.match(r.message, /Counter 1/);
  refused(o, { kind: 'cancel_payment' }, 'locked', other);
  // the holder still edits, renews and releases
  assert.equal(ok(o, { kind: 'add_qty', line_id: 'L1', delta: '1' }).lines[0].qty, '2');
  assert.equal(ok(o, { kind: 'cancel_payment' }).lock, null);
  // an expired lease no longer blocks anyone
  const later = ctxFor(BY_2, { now: NOW + 60_001 });
  assert.equal(lockedByOther(o, later), false);
  ok(o, { kind: 'add_qty', line_id: 'L1', delta: '1' }, later);
});

test('pay finalizes with change from cash', () => {
  const o = withCoffee('4'); // 4 x 2.50 = 10.00, 21% of it = 2.10: 12.10
  assert.equal(o.totals.total, 1210);
  const paid = ok(o, { kind: 'pay', payments: [{ method_id: 1, amount: 2000 }], expected_total: 1210 });
  assert.equal(paid.state, 'paid');
  assert.equal(paid.change, 790);
  assert.deepEqual(paid.paid_by, BY_1);
  assert.equal(paid.lock, null);
  refused(paid, { kind: 'add_qty', line_id: 'L1', delta: '1' }, 'paid');
  refused(paid, { kind: 'pay', payments: [{ method_id: 1, amount: 2000 }], expected_total: 1210 }, 'paid');
});

test('pay refuses stale totals, underpayment, card overpayment and invoices without customer', () => {
  const o = withCoffee('4');
  refused(o, { kind: 'pay', payments: [{ method_id: 1, amount: 2000 }], expected_total: 1000 }, 'stale');
  refused(o, { kind: 'pay', payments: [{ method_id: 2, amount: 1000 }], expected_total: 1210 }, 'underpaid');
  refused(o, { kind: 'pay', payments: [{ method_id: 2, amount: 1300 }], expected_total: 1210 }, 'invalid');
  refused(o, { kind: 'pay', payments: [], expected_total: 1210 }, 'underpaid');
  refused(o, { kind: 'pay', payments: [{ method_id: 1, amount: 0 }, { method_id: 1, amount: 1210 }], expected_total: 1210 }, 'invalid');
  refused(o, { kind: 'pay', payments: [{ method_id: 9, amount: 1210 }], expected_total: 1210 }, 'invalid');
  refused(serverDraft(ID), { kind: 'pay', payments: [], expected_total: 0 }, 'invalid');
  refused(o, { kind: 'pay', payments: [{ method_id: 2, amount: 1210 }], expected_total: 1210, invoice: true }, 'invalid');
  const split = ok({ ...o, customer_id: 4 }, {
    kind: 'pay', payments: [{ method_id: 2, amount: 1000 }, { method_id: 1, amount: 500 }], expected_total: 1210, invoice: true,
  });
  assert.equal(split.change, 290);
  assert.equal(split.invoice, true);
});

test('a refund pays out exactly; an expired lock is dropped by the next op', () => {
  const ret = withCoffee('-2'); // -5.00 - 1.05
  assert.equal(ret.totals.total, -605);
  refused(ret, { kind: 'pay', payments: [{ method_id: 1, amount: -600 }], expected_total: -605 }, 'underpaid');
  assert.equal(ok(ret, { kind: 'pay', payments: [{ method_id: 1, amount: -605 }], expected_total: -605 }).change, 0);
  const stale = { ...withCoffee(), lock: { terminal: 't-2', session_id: 2, config_id: 2, config_name: 'Counter 2', until: new Date(NOW - 1).toISOString() } };
  assert.equal(ok(stale, { kind: 'set_note', note: 'x' }).lock, null);
});

test('a refund draft keeps its lines; its note, customer, payment and cancel stay open', () => {
  const refund = { ...withCoffee('-2'), refund_of: 'O-PAID' };
  for (const op of [
    { kind: 'add_line', line_id: 'L2', product_id: 10, qty: '1' },
    { kind: 'add_qty', line_id: 'L1', delta: '-1' },
    { kind: 'set_qty', line_id: 'L1', qty: '-1' },
    { kind: 'set_price', line_id: 'L1', unit_price: 1 },
    { kind: 'set_discount', line_id: 'L1', discount: '50' },
    { kind: 'remove_line', line_id: 'L1' },
  ]) {
    const answer = refused(refund, op, 'invalid');
    assert.match(answer.message, /fixed/);
  }
  assert.equal(ok(refund, { kind: 'set_note', note: 'wrong size' }).note, 'wrong size');
  assert.equal(ok(refund, { kind: 'set_customer', customer_id: 4 }).customer_id, 4);
  assert.equal(ok(refund, { kind: 'set_line_note', line_id: 'L1', note: 'broken' }).lines[0].note, 'broken');
  assert.equal(ok(refund, { kind: 'pay', payments: [{ method_id: 1, amount: -605 }], expected_total: -605 }).state, 'paid');
  assert.equal(ok(refund, { kind: 'cancel' }).state, 'cancelled');
  // The same ops on an ordinary draft with the same lines are fine.
  ok(withCoffee('-2'), { kind: 'add_qty', line_id: 'L1', delta: '-1' });
});

test('cancel drops the draft; later ops answer cancelled', () => {
  const o = ok(withCoffee(), { kind: 'cancel', reason: 'walked out' });
  assert.equal(o.state, 'cancelled');
  refused(o, { kind: 'set_note', note: 'x' }, 'cancelled');
});

test('apply never mutates its input', () => {
  const o = withCoffee();
  const frozen = JSON.stringify(o);
  for (const op of [
    { kind: 'add_line', line_id: 'L2', product_id: 10, qty: '1' },
    { kind: 'add_qty', line_id: 'L1', delta: '1' },
    { kind: 'remove_line', line_id: 'L1' },
    { kind: 'begin_payment' },
    { kind: 'pay', payments: [{ method_id: 1, amount: 999 }], expected_total: 303 },
  ]) ok(o, op);
  assert.equal(JSON.stringify(o), frozen);
});

test('unknown op kinds are invalid', () => {
  refused(withCoffee(), { kind: 'explode' }, 'invalid');
  refused(withCoffee(), {}, 'invalid');
});
