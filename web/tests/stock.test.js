// stock.test.js: the back office's stock helpers: which products are low, the
// adjustment body each reason sends (in the shop's words: a damage of 2 is a move
// of -2), and how a move's quantity reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLow, adjustmentBody, signedQty, ADJUSTMENTS, REASON_LABELS } from '../js/views/backoffice/stock.js';

test('a product is low when it tracks stock and is at or below its threshold', () => {
  assert.equal(isLow({ tracks_stock: true, on_hand: '5', low_stock: '5' }), true);
  assert.equal(isLow({ tracks_stock: true, on_hand: '-1', low_stock: '0' }), true);
  assert.equal(isLow({ tracks_stock: true, on_hand: '5.001', low_stock: '5' }), false);
  assert.equal(isLow({ tracks_stock: true, on_hand: '0', low_stock: null }), false);
  assert.equal(isLow({ tracks_stock: false, on_hand: '0', low_stock: '5' }), false);
});

test('each reason sends the quantity the way the server reads it', () => {
  assert.deepEqual(adjustmentBody('delivery', '24', ' Supplier note 118 '), { reason: 'delivery', qty: '24', note: 'Supplier note 118' });
  assert.deepEqual(adjustmentBody('count', '12,5', ''), { reason: 'count', counted: '12.5' });
  assert.deepEqual(adjustmentBody('count', '0', ''), { reason: 'count', counted: '0' });
  assert.deepEqual(adjustmentBody('damage', '2', 'dropped'), { reason: 'damage', qty: '-2', note: 'dropped' });
  assert.deepEqual(adjustmentBody('loss', '0.250', ''), { reason: 'loss', qty: '-0.25' });
  assert.deepEqual(adjustmentBody('correction', '-3', 'booked twice'), { reason: 'correction', qty: '-3', note: 'booked twice' });
});

test('a quantity that does not fit the reason is refused with a sentence', () => {
  assert.throws(() => adjustmentBody('count', '-1', ''), /cannot be negative/);
  assert.throws(() => adjustmentBody('delivery', '0', ''), /more than zero/);
  assert.throws(() => adjustmentBody('damage', '-2', ''), /more than zero/);
  assert.throws(() => adjustmentBody('delivery', 'ten', ''), /Not a valid quantity/);
  assert.throws(() => adjustmentBody('delivery', '1.0001', ''), /Not a valid quantity/);
  assert.throws(() => adjustmentBody('correction', '2', ''), /note/);
  assert.throws(() => adjustmentBody('correction', '0', 'x'), /add or remove/);
  assert.throws(() => adjustmentBody('theft', '1', ''), /reason/);
});

test('moves read signed, and every reason has a label', () => {
  assert.equal(signedQty('24'), '+24');
  assert.equal(signedQty('-3'), '-3');
  assert.equal(signedQty('0'), '0');
  for (const reason of ['sale', 'refund', ...ADJUSTMENTS.map((a) => a.reason)]) assert.ok(REASON_LABELS[reason], reason);
});
