// wording.test.js: the sentences cashiers read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rejectMessage, rejectWorthTelling, removedMessage, describeOp, timeAgo, syncStateLabel, orderLabel, printerStateLabel } from '../js/wording.js';
import { serverDraft, coffeeLine, BY_2 } from './fixtures.js';

test('a line removed elsewhere names the counter and the line', () => {
  const before = serverDraft('o', { lines: [coffeeLine('A')] });
  const entry = { op: { kind: 'set_qty', line_id: 'A', qty: '2' } };
  assert.equal(rejectMessage({ code: 'line_removed', entry, before, removedBy: BY_2 }), 'Counter 2 removed “Coffee”');
  assert.equal(rejectMessage({ code: 'line_removed', entry, before: null }), 'another counter removed this line');
});

test('a lock names who is paying', () => {
  const lock = { terminal: 't', session_id: 1, config_id: 1, config_name: 'Counter 1', until: 'x' };
  const after = { ...serverDraft('o'), lock };
  assert.equal(rejectMessage({ code: 'locked', entry: { op: { kind: 'set_note' } }, after }), 'Being paid at Counter 1');
  assert.equal(rejectMessage({ code: 'locked', message: 'locked by Bar until 12:00', after: serverDraft('o') }), 'Being paid at Bar');
});

test('other codes read as sentences', () => {
  assert.match(rejectMessage({ code: 'stale' }), /total changed/);
  assert.match(rejectMessage({ code: 'forbidden' }), /no longer shared/);
  assert.match(rejectMessage({ code: 'forbidden', entry: { op: { kind: 'set_note', note: 'x' } } }), /no longer shared/);
  for (const op of [
    { kind: 'set_price', line_id: 'A', unit_price: 1 },
    { kind: 'set_discount', line_id: 'A', discount: '10' },
    { kind: 'set_qty', line_id: 'A', qty: '-1' },
    { kind: 'add_qty', line_id: 'A', delta: '-2' },
    { kind: 'add_line', line_id: 'B', product_id: 1, qty: '1', unit_price: 100 },
  ]) {
    assert.equal(rejectMessage({ code: 'forbidden', entry: { op } }), 'Only a manager may change prices, discounts or returns at this counter', op.kind);
  }
  assert.match(rejectMessage({ code: 'forbidden', entry: { op: { kind: 'set_qty', line_id: 'A', qty: '2' } } }), /no longer shared/);
  assert.equal(rejectMessage({ code: 'mystery', message: 'm' }), 'm');
});

test('a losing remove of a removed line is not worth telling', () => {
  assert.equal(rejectWorthTelling({ code: 'line_removed', entry: { op: { kind: 'remove_line' } } }), false);
  assert.equal(rejectWorthTelling({ code: 'line_removed', entry: { op: { kind: 'set_qty' } } }), true);
  assert.equal(rejectWorthTelling({ code: 'paid', entry: null }), false);
});

test('removed orders', () => {
  const order = { ...serverDraft('o'), reference: 'C1-0007' };
  assert.equal(removedMessage({ reason: 'paid', by: BY_2, order }), 'C1-0007 was paid at Counter 2');
  assert.equal(removedMessage({ reason: 'unshared', by: null, order }), 'C1-0007 is no longer shared by its counter');
  assert.equal(orderLabel({ id: '0190a0b0-0000-7000-8000-00000000abcd', reference: '' }), 'Order 00ABCD');
});

test('history entries in words', () => {
  const names = { productName: (id) => (id === 10 ? 'Coffee' : null), lineNames: new Map([['A', 'Coffee']]), methodName: () => 'Cash' };
  assert.equal(describeOp({ kind: 'add_line', line_id: 'A', product_id: 10, qty: '2.000' }, names), 'Added 2 × Coffee');
  assert.equal(describeOp({ kind: 'add_qty', line_id: 'A', delta: '-1' }, names), 'Took 1 from Coffee');
  assert.equal(describeOp({ kind: 'set_price', line_id: 'A', unit_price: 275 }, names), 'Set price of Coffee to 2.75');
  assert.equal(describeOp({ kind: 'pay', payments: [{ method_id: 1, amount: 500 }], expected_total: 303 }, names), 'Paid 3.03 (Cash 5.00)');
  assert.equal(describeOp({ kind: 'remove_line', line_id: 'Z' }, names), 'Removed a line');
});

test('time ago and sync labels', () => {
  const now = Date.parse('2025-01-01T12:00:00Z');
  assert.equal(timeAgo('2025-01-01T11:59:50Z', now), 'just now');
  assert.equal(timeAgo('2025-01-01T11:55:00Z', now), '5 min ago');
  assert.equal(timeAgo('2025-01-01T09:00:00Z', now), '3 h ago');
  assert.deepEqual(syncStateLabel('offline', 3), { label: 'Offline · 3 pending', tone: 'bad' });
  assert.deepEqual(syncStateLabel('reconnecting', 12), { label: 'Reconnecting · 12 pending', tone: 'warn' });
  assert.deepEqual(syncStateLabel('live', 0), { label: 'Live', tone: 'ok' });
});

test('the printer is mentioned only when it is off or has a queue', () => {
  assert.equal(printerStateLabel(null), null);
  assert.equal(printerStateLabel({ state: 'none', queued: 0 }), null);
  assert.equal(printerStateLabel({ state: 'online', queued: 0 }), null);
  assert.equal(printerStateLabel({ state: 'unknown', queued: 0 }), null);
  assert.deepEqual(printerStateLabel({ state: 'offline', queued: 2 }), { label: 'Printer offline, 2 queued', tone: 'warn' });
  assert.deepEqual(printerStateLabel({ state: 'offline', queued: 0 }), { label: 'Printer offline', tone: 'warn' });
  assert.deepEqual(printerStateLabel({ state: 'online', queued: 1 }), { label: 'Printing, 1 queued', tone: 'busy' });
});
